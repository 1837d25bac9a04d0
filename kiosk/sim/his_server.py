"""A hospital patient administration system on 127.0.0.1, over MLLP (python-hl7's asyncio server).

It plays the GAM behind the interface engine for the tests, the demo and technicians' bench checks:
- PDQ [ITI-21]: answers QBP^Q22 from a small patient table (by INS, or by birth name / first name / birth
  date / sex), RSP^K22 with QAK OK or NF; two homonyms make a traits query return two candidates.
- PAM [ITI-30]: checks every ADT^A28 / A31 it receives with an HL7 implementation other than the kiosk's
  builder (python-hl7 reads it here, hl7apy built it) plus the IHE and French rules, and answers AR for a
  structure it cannot take, AE for a rule broken (with the reason in ERR-8), AA otherwise.
- Scenarios, for the next messages in turn (`script`), or for all of them (`always`): AE, AR, drop the
  connection after reading the message, cut the answer in the middle, answer slowly, never answer, answer
  twice (duplicate ACK).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

import hl7
from hl7.exceptions import HL7Exception
from hl7.mllp import start_hl7_server

__all__ = ["DEFAULT_PATIENTS", "HisSimulator", "Scenario", "SimPatient", "check_adt", "server_tls_context"]

INS_OIDS = {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"}
RELIABILITY = {"PROV", "VALI", "RECUP", "QUAL"}
HOSPITAL = ("GAM-SIM", "CH-DEMO", "2.999.17.2")  # namespace, facility, IPP domain OID (simulated)


class Scenario(str, enum.Enum):
    NORMAL = "normal"
    AE = "ae"  # application error, ERR text
    AR = "ar"  # rejected
    DROP = "drop"  # connection closed after reading the message, nothing answered
    CUT = "cut"  # half an answer, then the connection closed
    SLOW = "slow"  # the answer after `slow_s`
    SILENT = "silent"  # never answers (the connection stays open)
    DUPLICATE = "duplicate"  # the answer sent twice


@dataclass(frozen=True)
class SimPatient:
    ipp: str
    birth_name: str
    first_names: tuple[str, ...]
    birth_date: str  # YYYYMMDD
    sex: str
    birthplace: str = ""
    ins: str = ""  # 15 characters, when the hospital holds a qualified identity
    ins_oid: str = "1.2.250.1.213.1.4.8"
    used_name: str = ""

    @property
    def reliability(self) -> str:
        return "QUAL" if self.ins else "PROV"


# Known to the hospital: CNDA test identities (teleservices.md) the demo cards carry, and two homonyms.
DEFAULT_PATIENTS: tuple[SimPatient, ...] = (
    SimPatient("100001", "ADRTROIS", ("DOMINIQUE",), "19970226", "F", "2A020", "297022A02077878"),
    SimPatient("100002", "TCHITCHI", ("CATARINA",), "19360621", "F", "63220"),
    SimPatient("100003", "HOMONYME", ("CAMILLE",), "19900101", "F", "75056"),
    SimPatient("100004", "HOMONYME", ("CAMILLE", "ROSE"), "19900101", "F", "69123"),
)


def _f(msg: hl7.Message, seg: str, field_: int, comp: int = 1, rep: int = 1, sub: int = 1) -> str:
    try:
        return str(msg.extract_field(seg, 1, field_, rep, comp, sub))
    except (KeyError, IndexError):
        return ""


def _reps(segment: hl7.Segment, index: int) -> list[list[list[str]]]:
    """A field as repetitions -> components -> subcomponents (python-hl7 nests only when it must)."""
    value = segment[index] if len(segment) > index else ""
    if isinstance(value, str):
        return [[[value]]] if value else []
    out = []
    for rep in value:
        out.append(
            [[rep]] if isinstance(rep, str) else [[c] if isinstance(c, str) else [str(s) for s in c] for c in rep]
        )
    return out


def _at(reps: list[list[list[str]]], r: int, c: int, s: int = 0) -> str:
    try:
        return reps[r][c][s]
    except IndexError:
        return ""


def check_adt(text: str, known_ipps: set[str] | None = None) -> tuple[str, list[str]]:
    """("AA" | "AE" | "AR", problems): what a strict PAM FR receiver makes of an ADT."""
    try:
        msg = hl7.parse(text)
    except (HL7Exception, IndexError, KeyError, ValueError):
        return "AR", ["message illisible"]
    structure: list[str] = []
    if _f(msg, "MSH", 9, 1) != "ADT" or _f(msg, "MSH", 9, 2) not in ("A28", "A31") or _f(msg, "MSH", 9, 3) != "ADT_A05":
        structure.append("MSH-9 : ADT^A28^ADT_A05 ou ADT^A31^ADT_A05 attendu")
    if _f(msg, "MSH", 12, 1) != "2.5":
        structure.append("MSH-12 : version 2.5 attendue")
    if not _f(msg, "MSH", 10):
        structure.append("MSH-10 : identifiant du message absent")
    if _f(msg, "MSH", 11) not in ("P", "T", "D"):
        structure.append("MSH-11 : P, T ou D attendu")
    names = [str(s[0]) for s in msg]
    for required in ("EVN", "PID", "PV1"):
        if required not in names:
            structure.append(f"segment {required} absent")
    if structure:
        return "AR", structure
    pid = msg.segment("PID")
    problems: list[str] = []
    ids = _reps(pid, 3)
    authorities = [(_at(ids, i, 0), _at(ids, i, 3, 1), _at(ids, i, 4)) for i in range(len(ids))]
    if not any(value and oid and kind == "PI" for value, oid, kind in authorities):
        problems.append("PID-3 : identifiant de la source (CX.4 avec OID, CX.5 PI) absent")
    ins = [(v, oid) for v, oid, kind in authorities if oid in INS_OIDS]
    reliability = _f(msg, "PID", 32)
    if reliability not in RELIABILITY:
        problems.append("PID-32 : PROV, VALI, RECUP ou QUAL attendu")
    if ins and reliability != "QUAL":
        problems.append("PID-3 : INS transmis pour une identité non qualifiée")
    if reliability == "QUAL" and not ins:
        problems.append("PID-32 : identité qualifiée sans INS en PID-3")
    for value, _oid in ins:
        if len(value) != 15:
            problems.append("PID-3 : matricule INS de 15 caractères attendu")
    if any(kind == "INS" and oid not in INS_OIDS for _v, oid, kind in authorities):
        problems.append("PID-3 : INS avec un OID d'autorité inconnu")
    names5 = _reps(pid, 5)
    if not any(_at(names5, i, 6) == "L" and _at(names5, i, 0) for i in range(len(names5))):
        problems.append("PID-5 : nom de naissance (type L) absent")
    if not _f(msg, "PID", 7):
        problems.append("PID-7 : date de naissance absente")
    if _f(msg, "PID", 8) not in ("M", "F", "U"):
        problems.append("PID-8 : sexe M, F ou U attendu")
    if _f(msg, "MSH", 9, 2) == "A31" and known_ipps is not None:
        ipps = {v for v, oid, kind in authorities if oid == HOSPITAL[2]}
        if not ipps & known_ipps:
            problems.append("PID-3 : IPP inconnu pour une mise à jour (A31)")
    return ("AE" if problems else "AA"), problems


@dataclass
class HisSimulator:
    patients: tuple[SimPatient, ...] = DEFAULT_PATIENTS
    slow_s: float = 3.0
    latency_s: float = 0.0  # added to every answer (benchmarks: the network and the GAM's own time)
    tls: ssl.SSLContext | None = None
    port_wanted: int = 0
    always: Scenario = Scenario.NORMAL
    received: list[str] = field(default_factory=list)  # ADT texts accepted (AA), in arrival order
    answers: list[tuple[str, str]] = field(default_factory=list)  # (control id, code) of every ADT answered
    queries: int = 0
    _script: deque[Scenario] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: Any = None
    _thread: threading.Thread | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _seen: set[str] = field(default_factory=set)
    _writers: set[Any] = field(default_factory=set)

    # ---- control -----------------------------------------------------------------------------------------------
    def script(self, *scenarios: Scenario | str) -> None:
        """The next messages (ADT or QBP, in arrival order) get these scenarios, then `always` again."""
        with self._lock:
            self._script.extend(Scenario(s) for s in scenarios)

    def _next_scenario(self) -> Scenario:
        with self._lock:
            return self._script.popleft() if self._script else self.always

    @property
    def port(self) -> int:
        assert self._server is not None, "simulator not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                start_hl7_server(self._handle, "127.0.0.1", self.port_wanted, ssl=self.tls, encoding="utf-8")
            )
            ready.set()
            self._loop.run_forever()
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            # a connection handler still waiting for a block ends here, while its loop runs: destroyed with the
            # closed loop it raised "Event loop is closed" from the garbage collector, in whatever thread ran it
            handlers = asyncio.all_tasks(self._loop)
            for task in handlers:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*handlers, return_exceptions=True))
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="sim-his", daemon=True)
        self._thread.start()
        ready.wait(30)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the hospital ------------------------------------------------------------------------------------------
    async def _handle(self, reader: Any, writer: Any) -> None:
        self._writers.add(writer)
        try:
            while True:
                block = await reader.readblock()
                text = block.decode("utf-8", "replace")
                scenario = self._next_scenario()
                if scenario is Scenario.DROP:
                    return
                answer = self._answer(text, scenario).encode("utf-8")
                if scenario is Scenario.SILENT:
                    continue
                if self.latency_s > 0:
                    await asyncio.sleep(self.latency_s)
                if scenario is Scenario.SLOW:
                    await asyncio.sleep(self.slow_s)
                if scenario is Scenario.CUT:
                    writer.write(b"\x0b" + answer[: len(answer) // 2])
                    await writer.drain()
                    return
                writer.writeblock(answer)
                if scenario is Scenario.DUPLICATE:
                    writer.writeblock(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    def _answer(self, text: str, scenario: Scenario) -> str:
        try:
            msg = hl7.parse(text)
        except (HL7Exception, IndexError, KeyError, ValueError):
            return self._ack("", "AR", "ACK", "message illisible")
        control_id = _f(msg, "MSH", 10)
        if _f(msg, "MSH", 9, 1) == "QBP":
            return self._pdq(msg, control_id, scenario)
        trigger = _f(msg, "MSH", 9, 2)
        if scenario is Scenario.AE:
            code, problems = "AE", ["refus simulé (scénario AE)"]
        elif scenario is Scenario.AR:
            code, problems = "AR", ["rejet simulé (scénario AR)"]
        else:
            code, problems = check_adt(text, {p.ipp for p in self.patients})
        with self._lock:
            self.answers.append((control_id, code))
            if code == "AA" and control_id not in self._seen:  # a message sent again after a lost ACK counts once
                self._seen.add(control_id)
                self.received.append(text)
        return self._ack(control_id, code, f"ACK^{trigger}^ACK", "; ".join(problems))

    def _msh(self, kind: str) -> str:
        return (f"MSH|^~\\&|{HOSPITAL[0]}|{HOSPITAL[1]}|||{_now()}||{kind}|SIM{next(self._ids):06d}|P|2.5^FRA^2.11"
                f"|||||FRA|UNICODE UTF-8")

    def _ack(self, control_id: str, code: str, kind: str, error: str) -> str:
        lines = [self._msh(kind), f"MSA|{code}|{control_id}"]
        if code != "AA":
            severity_code = (
                "207^Application internal error^HL70357" if code == "AE" else "200^Unsupported message type^HL70357"
            )
            lines.append(f"ERR||PID^1|{severity_code}|E||||{_escape(error)}")
        return "\r".join(lines)

    def _pdq(self, msg: hl7.Message, control_id: str, scenario: Scenario) -> str:
        with self._lock:
            self.queries += 1
        qpd = msg.segment("QPD")
        if scenario in (Scenario.AE, Scenario.AR):
            code = scenario.value.upper()
            return "\r".join([self._msh("RSP^K22^RSP_K21"), f"MSA|{code}|{control_id}",
                              "ERR||QPD^1^3|207^Application internal error^HL70357|E||||recherche refusée (scénario)",
                              f"QAK|{_f(msg, 'QPD', 2)}|{code}", str(qpd)])
        params: dict[str, str] = {}
        for rep in _reps(qpd, 3):
            if len(rep) >= 2:
                params[rep[0][0]] = rep[1][0]
        found = [p for p in self.patients if _matches(p, params)]
        lines = [
            self._msh("RSP^K22^RSP_K21"),
            f"MSA|AA|{control_id}",
            f"QAK|{_f(msg, 'QPD', 2)}|{'OK' if found else 'NF'}",
            str(qpd),
        ]
        lines += [_pid(i, p) for i, p in enumerate(found, start=1)]
        return "\r".join(lines)


def _matches(p: SimPatient, params: dict[str, str]) -> bool:
    if "@PID.3.1" in params:
        return bool(p.ins) and p.ins == params["@PID.3.1"] and params.get("@PID.3.4.2", p.ins_oid) == p.ins_oid
    name = params.get("@PID.5.1.1", "").upper()
    if not name or name != p.birth_name:
        return False
    first = params.get("@PID.5.2", "").upper()
    if first and first not in p.first_names and first != " ".join(p.first_names):
        return False
    date = params.get("@PID.7.1", "")
    if date and not p.birth_date.startswith(date):
        return False
    sex = params.get("@PID.8", "")
    return not sex or sex == p.sex


def _pid(n: int, p: SimPatient) -> str:
    ids = [f"{p.ipp}^^^{HOSPITAL[0]}&{HOSPITAL[2]}&ISO^PI"]
    if p.ins:
        namespace = "ASIP-SANTE-INS-NIA" if p.ins_oid.endswith(".9") else "ASIP-SANTE-INS-NIR"
        ids.append(f"{p.ins}^^^{namespace}&{p.ins_oid}&ISO^INS")
    names = [f"{p.birth_name}^{p.first_names[0]}^{' '.join(p.first_names)}^^^^L"]
    if p.used_name:
        names.append(f"{p.used_name}^{p.first_names[0]}^^^^^D")
    fields = [""] * 33
    fields[1], fields[3], fields[5], fields[7], fields[8] = str(n), "~".join(ids), "~".join(names), p.birth_date, p.sex
    fields[11] = f"^^^^^^BDL^^{p.birthplace}" if p.birthplace else ""
    fields[32] = p.reliability
    return "PID|" + "|".join(fields[1:])


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("~", "\\R\\")
        .replace("&", "\\T\\")
    )


def _now() -> str:
    import datetime as dt

    return dt.datetime.now().strftime("%Y%m%d%H%M%S")


def server_tls_context(pki: Any, *, require_client_cert: bool = True) -> ssl.SSLContext:
    """TLS for the simulator from a `drivers.sim.pki.TestPki`: its server certificate, clients from its CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(pki.ca_bundle))
    return context
