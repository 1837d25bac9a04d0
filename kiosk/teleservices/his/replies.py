"""Reading the hospital system's answers (ACK, RSP^K22) with python-hl7: tolerant, like the field is.

Answers come from systems the kiosk does not control: a missing optional field is not an error, an unknown
one is ignored, and only what the kiosk needs is read (MSA, ERR, QAK, PID). Errors name the problem, never
a value from the message.
"""

from __future__ import annotations

from dataclasses import dataclass

import hl7
from hl7.exceptions import HL7Exception

from kiosk.domain.ins import MatriculeError, parse_matricule
from kiosk.errors import TeleserviceError
from kiosk.teleservices.his.model import AckCode, Candidate, PatientId

__all__ = ["Ack", "HisReplyError", "PdqAnswer", "parse_ack", "parse_pdq", "unescape"]


class HisReplyError(TeleserviceError):
    """The hospital system answered something the kiosk cannot read."""


@dataclass(frozen=True)
class Ack:
    code: AckCode
    control_id: str  # MSA-2: which message this acknowledges
    text: str = ""  # ERR-8 / ERR-7 / ERR-3 text / MSA-3: what the receptionist is shown on AE / AR


@dataclass(frozen=True)
class PdqAnswer:
    ack: Ack
    status: str  # QAK-2: OK (data found), NF (no data found), AE, AR
    candidates: tuple[Candidate, ...] = ()


_UNESCAPE = {"F": "|", "S": "^", "R": "~", "T": "&", "E": "\\"}


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            end = text.find("\\", i + 1)
            if end > i and text[i + 1:end] in _UNESCAPE:
                out.append(_UNESCAPE[text[i + 1:end]])
                i = end + 1
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _parse(text: str) -> hl7.Message:
    try:
        return hl7.parse(text)
    except (HL7Exception, IndexError, KeyError, ValueError) as e:  # python-hl7's kinds of "garbage"
        raise HisReplyError(f"réponse HL7 illisible ({type(e).__name__})") from e


def _get(msg: hl7.Message, path: str) -> str:
    try:
        return unescape(str(msg.extract_field(*_split(path))))
    except (KeyError, IndexError):
        return ""


def _split(path: str) -> tuple[str, int, int, int, int, int]:
    """'ERR.8' / 'MSA.2' / 'ERR.3.2' -> python-hl7's (segment, seg rep, field, rep, component, subcomponent)."""
    parts = path.split(".")
    field = int(parts[1])
    component = int(parts[2]) if len(parts) > 2 else 1
    return parts[0], 1, field, 1, component, 1


def _ack_of(msg: hl7.Message, kind: str) -> Ack:
    code = AckCode.read(_get(msg, "MSA.1"))
    if code is None:
        raise HisReplyError(f"{kind} sans code d'acquittement MSA-1 reconnu")
    text = ""
    if code is not AckCode.AA:
        for path in ("ERR.8", "ERR.7", "ERR.3.2", "MSA.3"):
            text = _get(msg, path)
            if text:
                break
    return Ack(code, _get(msg, "MSA.2"), text[:300])


def parse_ack(text: str) -> Ack:
    return _ack_of(_parse(text), "ACK")


def parse_pdq(text: str) -> PdqAnswer:
    msg = _parse(text)
    ack = _ack_of(msg, "RSP^K22")
    status = _get(msg, "QAK.2") or ("OK" if ack.code is AckCode.AA else ack.code.value)
    if ack.code is not AckCode.AA:
        return PdqAnswer(ack, status)
    try:
        pids = msg.segments("PID")
    except KeyError:
        pids = []
    return PdqAnswer(ack, status, tuple(c for c in (_candidate(p) for p in pids) if c is not None))


Reps = list[list[list[str]]]  # repetitions -> components -> subcomponents


def _reps(seg: hl7.Segment, index: int) -> Reps:
    """A python-hl7 field as plain nested lists, whatever shape python-hl7 gave it."""
    field = seg[index] if len(seg) > index else ""
    if isinstance(field, str):
        return [[[field]]] if field else []
    out: Reps = []
    for rep in field:
        if isinstance(rep, str):
            out.append([[rep]])
        else:
            out.append([[comp] if isinstance(comp, str) else [str(s) for s in comp] for comp in rep])
    return out


def _at(reps: Reps, rep: int, comp: int, sub: int = 0) -> str:
    try:
        return unescape(reps[rep][comp][sub])
    except IndexError:
        return ""


def _cx(reps: Reps, i: int) -> PatientId | None:
    value = _at(reps, i, 0)
    if not value:
        return None
    return PatientId(value, _at(reps, i, 3, 0), _at(reps, i, 3, 1), _at(reps, i, 4) or "PI")


def _candidate(seg: hl7.Segment) -> Candidate | None:
    id_reps = _reps(seg, 3)
    ids = [cx for cx in (_cx(id_reps, i) for i in range(len(id_reps))) if cx is not None]
    ipp = next((cx for cx in ids if cx.type_code == "PI"), None)
    if ipp is None:
        return None  # a candidate the kiosk could not point at again: useless for an A31
    ins = None
    for cx in ids:
        if cx.type_code in ("INS", "NH", "INS-NIR", "INS-NIA") and cx.oid.startswith("1.2.250.1.213.1.4."):
            try:
                ins = parse_matricule(cx.value, strict=False)
            except MatriculeError:
                ins = None
    names = _reps(seg, 5)
    legal_i = next((i for i in range(len(names)) if _at(names, i, 6) == "L"), 0)
    used_i = next((i for i in range(len(names)) if _at(names, i, 6) == "D"), -1)
    first = _at(names, legal_i, 1)
    listed = _at(names, legal_i, 2).split()
    first_names = tuple(listed if listed and listed[0] == first else [p for p in [first, *listed] if p])
    places = _reps(seg, 11)
    birthplace = next((_at(places, i, 8) for i in range(len(places)) if _at(places, i, 6) == "BDL"), "")
    return Candidate(
        ipp=ipp,
        birth_name=_at(names, legal_i, 0),
        first_names=first_names,
        birth_date=_at(_reps(seg, 7), 0, 0)[:8],
        sex=_at(_reps(seg, 8), 0, 0),
        used_name=_at(names, used_i, 0) if used_i >= 0 else "",
        birthplace=birthplace,
        reliability=_at(_reps(seg, 32), 0, 0),
        ins=ins,
    )
