"""The local API for the hospital's own software: JSON over a Unix socket (mode 0660, group-restricted).

API version 2. One JSON request per line, one JSON answer per line:
  {"op": "status"}                                   desk state (no patient data), "api_version"
  {"op": "identities"}                               the current card's beneficiaries: traits, INS, OID, statuses,
                                                     DMP states (in clear: only while a desk session is open),
                                                     and "card", the card's insertion counter
  {"op": "page", "page": "DossierPatient", "index": 0, "card": 7}   the Web PS page's auto-submitting XHTML
  {"op": "pin", "pin": "1234"}                       the staff PIN, for a desk without a keyboard
  {"op": "qualify", "index": 0, "document": "CNI", "card": 7}       record the ID document checked
`page` and `qualify` name the patient the client saw: "card" (from `identities`) and/or "ins" (that
beneficiary's INS) are required (version 2); after a card swap they are refused with "card_changed".
Answers carry "ok": true, or "ok": false with "error" (a code) and "message" (French).

Bounded and fair (a local user in the API group must not be able to take the desk down): at most
`max_clients` connections are served at once (more are told "busy" and closed), a connection silent for
`idle_timeout_s` is closed, a request line must arrive whole within `request_timeout_s` and its answer be taken
within as long. When accept() fails for want of descriptors or threads, the loop logs, backs off and resumes;
after `unhealthy_after_s` of failures `healthy` turns False and the service stops pinging systemd's watchdog.
PIN attempts through the API are rate-limited and never use the card's last try; reads of patient data and
PIN attempts are journaled with the client's uid.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.appliance.service.controller import DeskController
from kiosk.appliance.service.eventlog import summary
from kiosk.config.schema_api import ApiLimits
from kiosk.desk import CardChangedError, DeskStateError, IdDocument, PatientRow, UntraceableError
from kiosk.desk.texts import dmp_words, insi_words
from kiosk.errors import ConfigError, KioskError

__all__ = ["API_VERSION", "ApiLimits", "ApiServer", "default_socket_path"]

log = logging.getLogger(__name__)
API_VERSION = 2
MAX_REQUEST = 64 * 1024  # bytes per request line
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def default_socket_path() -> Path:
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0] or "/run/kiosk"
    return Path(runtime) / "api.sock"


def identity(row: PatientRow) -> dict[str, Any]:
    b, insi = row.beneficiary, row.insi
    out: dict[str, Any] = {
        "index": row.index,
        "nom_usuel": b.nom_usuel,
        "nom_naissance": b.birth_name,
        "prenom": b.prenom,
        "date_naissance": b.date_naissance,
        "sexe": row.sex,
        "qualite": b.qualite,
        "rang_naissance": b.rang_naissance,
        "insi": {"step": row.insi_step.value, "words": insi_words(row.insi_step, insi.code if insi else None,
                                                                   insi.key_ok if insi and insi.ins else True)},
        "ins_status": row.ins_status.value,
        "id_document": row.document.name if row.document else None,
        "dmp": {"step": row.dmp_step.value, "state": row.dmp.state.value if row.dmp else None,
                "words": dmp_words(row.dmp_step, row.dmp.state if row.dmp else None)},
        "differences": [{"trait": d.trait, "card": d.card, "insi": d.insi} for d in row.differences],
    }
    if insi is not None:
        out["insi"].update(code=insi.code.value, label=insi.label)
        if insi.ins is not None:
            out["insi"].update(ins=insi.ins.value, oid=insi.oid, key_ok=insi.key_ok,
                               former=[{"ins": f.matricule.value, "oid": f.oid} for f in insi.former])
        if insi.traits is not None:
            t = insi.traits
            out["insi"]["traits"] = {"nom_naissance": t.nom_naissance, "prenoms": list(t.prenoms), "sexe": t.sexe,
                                     "date_naissance": t.date_naissance, "lieu_naissance": t.lieu_naissance}
    return out


def peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's uid (SO_PEERCRED): who asked, for the journal."""
    try:
        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        return uid
    except OSError:
        return None


def _fail(error: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": error, "message": message, **extra}


class _Client:
    """One connection's line reader: idle timeout between requests, a deadline for each request line."""

    def __init__(self, conn: socket.socket, limits: ApiLimits) -> None:
        self.conn, self.limits = conn, limits
        self.buffer = bytearray()

    def next_line(self) -> bytes | None:
        """The next request line (with its newline); None when the client left, idled or dripped too slowly.
        A line longer than MAX_REQUEST comes back as is, cut at MAX_REQUEST + 1 bytes."""
        deadline = None
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0 and end <= MAX_REQUEST:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > MAX_REQUEST:
                return bytes(self.buffer[: MAX_REQUEST + 1])
            if self.buffer and deadline is None:
                deadline = time.monotonic() + self.limits.request_timeout_s
            wait = self.limits.idle_timeout_s if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                return None
            self.conn.settimeout(wait)
            try:
                data = self.conn.recv(65536)
            except OSError:  # timeout or reset
                return None
            if not data:
                return None
            self.buffer += data

    def send(self, answer: dict[str, Any]) -> bool:
        self.conn.settimeout(self.limits.request_timeout_s)  # a client that does not read its answers is dropped
        try:
            self.conn.sendall((json.dumps(answer, ensure_ascii=False, default=str) + "\n").encode())
            return True
        except OSError:
            return False


class ApiServer:
    def __init__(self, controller: DeskController, path: Path, mode: int = 0o660, *,
                 limits: ApiLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.controller = controller
        self.path = Path(path)
        self.mode = mode
        self.limits = limits or ApiLimits()
        self._clock = clock
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(self.limits.max_clients)
        self._failing_since: float | None = None
        self._pin_lock = threading.Lock()
        self._next_pin = 0.0
        self.clients = 0  # being served now (benchmarks, tests)
        self._count_lock = threading.Lock()

    # ---- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clear_stale_socket()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o777 & ~self.mode)  # the socket is born with the right mode: no window at 0777
        try:
            sock.bind(str(self.path))
        except OSError as e:
            sock.close()
            raise ConfigError(f"socket de l'API locale impossible à créer : {self.path} ({e.strerror})") from e
        finally:
            os.umask(old)
        os.chmod(self.path, self.mode)
        sock.listen(128)
        self._sock = sock
        self._stopping.clear()
        self._thread = threading.Thread(target=self._accept, name="kiosk-api", daemon=True)
        self._thread.start()

    def _clear_stale_socket(self) -> None:
        """Unlink a socket left by a killed run; never a live one (another `kiosk run`), nor anything else."""
        try:
            st = self.path.lstat()
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise ConfigError(
                f"{self.path} existe et n'est pas une socket : l'API locale ne démarre pas (--api-socket)"
            )
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        probe.settimeout(2.0)
        try:
            probe.connect(str(self.path))
        except (ConnectionRefusedError, FileNotFoundError):
            self.path.unlink(missing_ok=True)  # nobody listens: left by a previous run that was killed
            return
        except OSError:
            pass  # busy or timing out: somebody is there
        finally:
            probe.close()
        raise ConfigError(f"une autre instance écoute déjà sur {self.path} : arrêtez-la d'abord (systemctl stop kiosk)")

    @property
    def accept_failing(self) -> bool:
        """accept() is failing now (e.g. no descriptor left); `healthy` turns False if it lasts."""
        return self._failing_since is not None

    @property
    def healthy(self) -> bool:
        """False once accept() has failed for `unhealthy_after_s`, or the accept thread died."""
        if self._thread is None or self._stopping.is_set():
            return True
        if not self._thread.is_alive():
            return False
        since = self._failing_since
        return since is None or self._clock() - since < self.limits.unhealthy_after_s

    def stop(self) -> None:
        self._stopping.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept() at once
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    # ---- connections ------------------------------------------------------------------------------------------
    def _accept(self) -> None:
        """Blocks in accept(): no polling interval, so an idle desk never wakes this thread."""
        sock = self._sock  # stop() clears the attribute: keep our own reference
        assert sock is not None
        backoff = 0.0
        last_log = -1e9
        while not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except OSError as e:
                if self._stopping.is_set():
                    return
                if e.errno in (errno.EINTR, errno.ECONNABORTED):
                    continue
                if e.errno not in _OUT_OF_RESOURCES:
                    log.error("API locale : accept() a échoué (%s) ; l'API s'arrête", e)
                    return  # `healthy` turns False: the watchdog is no longer pinged
                backoff, last_log = self._starved(str(e), backoff, last_log)
                continue
            if not self._slots.acquire(blocking=False):
                self._refuse_busy(conn)
                continue
            try:
                threading.Thread(target=self._serve, args=(conn,), name="kiosk-api-client", daemon=True).start()
            except RuntimeError as e:  # can't start new thread
                self._slots.release()
                conn.close()
                backoff, last_log = self._starved(str(e), backoff, last_log)
                continue
            if self._failing_since is not None:
                log.warning("API locale : de nouveau disponible")
            self._failing_since, backoff = None, 0.0

    def _starved(self, reason: str, backoff: float, last_log: float) -> tuple[float, float]:
        """Out of descriptors or threads: log (at most every 10 s), wait a little, try again."""
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
        if now - last_log >= 10.0:
            log.error("API locale : ressources épuisées (%s) ; nouvelle tentative", reason)
            last_log = now
        backoff = min(1.0, backoff * 2 or 0.01)
        self._stopping.wait(backoff)
        return backoff, last_log

    @staticmethod
    def _refuse_busy(conn: socket.socket) -> None:
        with conn:
            conn.setblocking(False)  # never wait on a client we are turning away
            try:
                conn.send(
                    b'{"ok": false, "error": "busy", "message": "trop de clients connect\\u00e9s : r\\u00e9essayez"}\n'
                )
            except OSError:
                pass

    def _serve(self, conn: socket.socket) -> None:
        with self._count_lock:
            self.clients += 1
        try:
            with conn:
                client = _Client(conn, self.limits)
                uid = peer_uid(conn)
                while not self._stopping.is_set():
                    line = client.next_line()
                    if line is None:
                        return
                    try:
                        answer = self.answer(line, uid=uid)
                    except Exception:  # never let one bad request take the service down
                        log.exception("API locale : erreur interne")
                        answer = _fail("internal", "erreur interne")
                    if not client.send(answer) or answer.get("error") == "too_large":
                        return  # the rest of an oversized line is not a request: drop the connection
        finally:
            with self._count_lock:
                self.clients -= 1
            self._slots.release()

    # ---- requests ---------------------------------------------------------------------------------------------
    def answer(self, raw: bytes, *, uid: int | None = None) -> dict[str, Any]:
        if len(raw) > MAX_REQUEST:
            return _fail("too_large", "requête trop longue")
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return _fail("bad_request", "JSON attendu : un objet par ligne")
        op = request.get("op")
        origin = f"api:{uid if uid is not None else '?'}"
        try:
            if op == "status":
                return {"ok": True, "api_version": API_VERSION, **summary(self.controller.view())}
            if op == "identities":
                return self._identities(origin)
            if op == "page":
                return self._page(request, origin)
            if op == "pin":
                return self._pin(request, origin)
            if op == "qualify":
                card, ins = _patient_named(request)
                document = IdDocument[str(request.get("document", ""))]
                index = request.get("index")
                if not isinstance(index, int) or isinstance(index, bool):
                    return _fail("bad_request", "« index » entier attendu")
                status = self.controller.qualify(index, document, card=card, ins=ins)
                return {"ok": True, "ins_status": status.value}
        except _BadRequest as e:
            return _fail("bad_request", str(e))
        except KeyError:
            return _fail("bad_request", f"pièce inconnue (attendu : {', '.join(d.name for d in IdDocument)})")
        except CardChangedError as e:
            return _fail("card_changed", self.controller.texts.problem(e.problem), reason=e.reason.value)
        except UntraceableError as e:
            return _fail("untraceable", self.controller.texts.problem(e.problem), reason=e.reason.value)
        except DeskStateError as e:
            return _fail("state", self.controller.texts.problem(e.problem), reason=e.reason.value)
        except KioskError as e:
            return _fail(type(e).__name__, str(e))
        return _fail("unknown_op", "opérations : status, identities, page, pin, qualify")

    def _identities(self, origin: str) -> dict[str, Any]:
        view = self.controller.view()
        if not view.is_open:
            return _fail("locked", "poste verrouillé : aucune donnée patient")
        staff = view.holder.id_nat if view.holder else ""
        if not self.controller.journal("api_read", "identities", staff, origin=origin, beneficiaries=len(view.rows)):
            raise UntraceableError()
        return {"ok": True, "api_version": API_VERSION, "patient": view.patient_phase.value,
                "card": view.card_counter, "beneficiaries": [identity(r) for r in view.rows]}

    def _page(self, request: dict[str, Any], origin: str) -> dict[str, Any]:
        index = request.get("index")
        page = str(request.get("page", ""))
        card, ins = (None, None) if index is None else _patient_named(request)
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise _BadRequest("« index » entier attendu")
        target_ins, oid = self.controller.page_target(index, page, card=card, ins=ins)
        view = self.controller.view()
        staff = view.holder.id_nat if view.holder else ""
        if not self.controller.journal("api_read", "page", staff, target_ins, origin=origin, page=page):
            raise UntraceableError()
        return {"ok": True, "page": page, "xhtml": self.controller.ports.webps_page(page, target_ins, oid)}

    def _pin(self, request: dict[str, Any], origin: str) -> dict[str, Any]:
        with self._pin_lock:
            now = self._clock()
            if now < self._next_pin:
                return _fail("rate_limited", "trop de codes proposés par l'API : patientez",
                             retry_after_s=round(self._next_pin - now, 1))
            self.controller.submit_pin(str(request.get("pin", "")), origin=origin, spare_last_try=True)
            self._next_pin = now + self.limits.pin_interval_s
        return {"ok": True}


class _BadRequest(Exception):
    pass


def _patient_named(request: dict[str, Any]) -> tuple[int | None, str | None]:
    """The patient the client saw: "card" (insertion counter from `identities`) and/or "ins"; one is required."""
    card, ins = request.get("card"), request.get("ins")
    if card is not None and (not isinstance(card, int) or isinstance(card, bool)):
        raise _BadRequest("« card » : le compteur d'insertion entier rendu par « identities » attendu")
    if ins is not None and (not isinstance(ins, str) or not ins.strip()):
        raise _BadRequest("« ins » : l'INS rendu par « identities » attendu")
    if card is None and ins is None:
        raise _BadRequest("« card » (rendu par « identities ») ou « ins » obligatoire depuis la version 2 de l'API")
    return card, ins
