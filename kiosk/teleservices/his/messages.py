"""HL7 v2.5 messages the kiosk sends: QBP^Q22 (IHE PDQ [ITI-21]) and ADT^A28 / ADT^A31 (IHE PAM [ITI-30]).

Every message is built with `hl7apy` at STRICT level against the HL7 2.5 structures (each value checked
against its datatype as it is set) and validated (segment cardinalities, required segments) before it
leaves this module; a message that does not validate raises `HisMessageError` and is never sent.

Two things the base 2.5 structures cannot hold are added after validation, each one deliberate:
- QPD-3 repeats in IHE PDQ (one repetition per query parameter, ITI TF-2a 3.21.4.1.2) where the 2.5 base
  defines one field: the first parameter is validated in place, the others are appended to it.
- the French extension's ZFD segment (PAM FR): Z segments are outside the standard by definition.

Field choices (which source each follows) are listed in the README's "Système d'information hospitalier".
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException
from hl7apy.factories import datatype_factory

from kiosk.errors import KioskError
from kiosk.teleservices.his.model import HisIdentity, PatientId, PdqQuery, Reliability, document_code, ins_authority

__all__ = ["Envelope", "HisMessageError", "Outgoing", "build_adt", "build_qbp", "escape", "hl7_date"]

VERSION = "2.5"
PAM_FR_VERSION = "2.11"  # MSH-12.3: the PAM FR version these messages follow
QUERY_NAME = "IHE PDQ Query"


class HisMessageError(KioskError):
    """A message the kiosk refuses to send (does not validate). The text never holds patient data."""


@dataclass(frozen=True)
class Envelope:
    """MSH values that come from the configuration."""

    sending_application: str
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    processing_id: str = "P"  # P production, T training (test environment), D debugging (demo)


@dataclass(frozen=True)
class Outgoing:
    """One message ready for MLLP: its control id, what it is, and the ER7 text (patient data: memory only)."""

    control_id: str
    kind: str  # "QBP^Q22", "ADT^A28", "ADT^A31"
    text: str

    def __repr__(self) -> str:  # never the text
        return f"Outgoing({self.kind}, {self.control_id})"


def escape(value: str) -> str:
    """HL7 escape sequences for the delimiters (a name with `^` or `&` must not shift components)."""
    out = value.replace("\\", "\\E\\")
    for char, seq in (("|", "\\F\\"), ("^", "\\S\\"), ("~", "\\R\\"), ("&", "\\T\\")):
        out = out.replace(char, seq)
    return " ".join(out.replace("\r", " ").replace("\n", " ").split())


def hl7_date(value: str) -> str:
    """Card (YYYYMMDD) or INSi (YYYY-MM-DD) date -> HL7 DTM; a lunar date keeps only its known part."""
    digits = "".join(c for c in value if c.isdigit())[:8]
    if len(digits) != 8:
        return ""
    year, month, day = digits[:4], digits[4:6], digits[6:8]
    if month == "00" or not 1 <= int(month) <= 12:
        return year
    if day == "00":
        return year + month
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return year + month  # e.g. 31/02 on an old card: the month is what is known
    return digits


def _cx(pid: PatientId) -> str:
    authority = "&".join((escape(pid.namespace), pid.oid, "ISO" if pid.oid else ""))
    return f"{escape(pid.value)}^^^{authority.rstrip('&')}^{pid.type_code}"


def _message(structure: str) -> Message:
    return Message(structure, version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)


def _msh(msg: Message, env: Envelope, message_type: str, control_id: str, now: dt.datetime) -> None:
    msh = msg.msh
    msh.msh_3 = escape(env.sending_application)
    if env.sending_facility:
        msh.msh_4 = escape(env.sending_facility)
    if env.receiving_application:
        msh.msh_5 = escape(env.receiving_application)
    if env.receiving_facility:
        msh.msh_6 = escape(env.receiving_facility)
    msh.msh_7 = now.strftime("%Y%m%d%H%M%S")
    msh.msh_9 = message_type
    msh.msh_10 = control_id
    msh.msh_11 = env.processing_id
    msh.msh_12 = f"{VERSION}^FRA^{PAM_FR_VERSION}"
    msh.msh_17 = "FRA"
    msh.msh_18 = "UNICODE UTF-8"


def _validated(msg: Message, kind: str) -> str:
    try:
        msg.validate()
        return str(msg.to_er7())
    except (HL7apyException, ValueError) as e:  # hl7apy's messages name fields, not values
        raise HisMessageError(f"message {kind} non conforme à HL7 {VERSION} : {type(e).__name__}") from e


def build_qbp(env: Envelope, control_id: str, query: PdqQuery, now: dt.datetime, *, limit: int = 10) -> Outgoing:
    """QBP^Q22: by INS (PID-3 with the INS authority's OID) when the identity has one, else by traits.

    Every QBP has the same structure: it is built and validated with hl7apy once per envelope and limit
    (`_qbp_skeleton`); each query then has its changing values validated against their HL7 2.5 datatypes
    (MSH-7 DTM, MSH-10 and QPD-2 ST) with hl7apy's datatype factories. QPD-3 is `varies` in HL7 2.5: the
    standard gives no datatype to check its parameters against, they are escaped. A full build costs tens
    of milliseconds on the kiosk, on the path between the card and the candidates.
    """
    params = _pdq_params(query)
    stamp = now.strftime("%Y%m%d%H%M%S")
    try:
        datatype_factory("DTM", stamp, version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
        datatype_factory("ST", control_id, version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    except (HL7apyException, ValueError) as e:
        raise HisMessageError(f"message QBP^Q22 non conforme à HL7 {VERSION} : {type(e).__name__}") from e
    if not control_id or len(control_id) > 20 or any(c in control_id for c in "|^~\\&"):
        raise HisMessageError("identifiant de message (MSH-10) invalide")
    msh, qpd, rcp = _qbp_skeleton(env, limit)
    msh_fields = msh.split("|")
    msh_fields[6], msh_fields[9] = stamp, control_id
    qpd_fields = qpd.split("|")
    qpd_fields[2], qpd_fields[3] = control_id, "~".join(params)  # IHE's QPD-3 repetitions (module docstring)
    return Outgoing(control_id, "QBP^Q22", "\r".join(("|".join(msh_fields), "|".join(qpd_fields), rcp)))


def _pdq_params(query: PdqQuery) -> list[str]:
    if query.ins is not None:
        authority = ins_authority(query.ins_oid)
        return [f"@PID.3.1^{query.ins.value}", f"@PID.3.4.2^{authority.oid}", "@PID.3.4.3^ISO",
                f"@PID.3.5^{authority.type_code}"]
    if not query.birth_name:
        raise HisMessageError("recherche PDQ sans INS ni nom de naissance")
    params = [f"@PID.5.1.1^{escape(query.birth_name)}"]
    if query.first_name:
        params.append(f"@PID.5.2^{escape(query.first_name)}")
    if hl7_date(query.birth_date):
        params.append(f"@PID.7.1^{hl7_date(query.birth_date)}")
    if query.sex in ("M", "F"):
        params.append(f"@PID.8^{query.sex}")
    return params


@functools.lru_cache(maxsize=16)
def _qbp_skeleton(env: Envelope, limit: int) -> tuple[str, str, str]:
    """MSH, QPD and RCP of a QBP^Q22 for this envelope, built and validated with hl7apy (placeholders
    of the right datatypes where each query puts its own values)."""
    try:
        msg = _message("QBP_Q21")
        _msh(msg, env, "QBP^Q22^QBP_Q21", "CONTROLID", dt.datetime(2000, 1, 1))
        msg.qpd.qpd_1 = QUERY_NAME
        msg.qpd.qpd_2 = "CONTROLID"
        msg.qpd.add_field("qpd_3").value = "@PID.5.1.1^NAME"
        msg.rcp.rcp_1 = "I"
        msg.rcp.rcp_2 = f"{limit}^RD"
    except (HL7apyException, ValueError) as e:
        raise HisMessageError(f"message QBP^Q22 impossible à construire : {type(e).__name__}") from e
    msh, qpd, rcp = _validated(msg, "QBP^Q22").split("\r")
    return msh, qpd, rcp


def _names(identity: HisIdentity) -> list[str]:
    """PID-5: the birth name (type L) with the first birth first name and the whole list; the used name (D)."""
    firsts = [f for f in identity.first_names if f]
    legal = f"{escape(identity.birth_name)}^{escape(firsts[0] if firsts else '')}^{escape(' '.join(firsts))}^^^^L"
    names = [legal]
    used_name = identity.used_name or identity.birth_name
    used_first = identity.used_first_name or (firsts[0] if firsts else "")
    if identity.used_name and (identity.used_name != identity.birth_name or identity.used_first_name):
        names.append(f"{escape(used_name)}^{escape(used_first)}^^^^^D")
    return names


def build_adt(
    env: Envelope, control_id: str, identity: HisIdentity, now: dt.datetime, *, operator: str = ""
) -> Outgoing:
    """ADT^A28 (new person) or ADT^A31 (update of the person picked from PDQ), structure ADT_A05."""
    event = identity.event
    if identity.local_id.oid == "" or identity.local_id.value == "":
        raise HisMessageError("identifiant de la borne sans autorité d'affectation (his.assigning_authority_oid)")
    if not identity.birth_name:
        raise HisMessageError("nom de naissance absent : identité non transmissible")
    ids = [identity.local_id]
    if identity.ipp is not None:
        ids.append(identity.ipp)
    if identity.sends_ins:
        assert identity.ins is not None
        ids.append(ins_authority(identity.ins_oid).with_value(identity.ins.value))
    try:
        msg = _message("ADT_A05")
        _msh(msg, env, f"ADT^{event.value}^ADT_A05", control_id, now)
        msg.evn.evn_1 = event.value
        msg.evn.evn_2 = now.strftime("%Y%m%d%H%M%S")
        if operator:
            msg.evn.evn_5 = escape(operator)
        pid = msg.pid
        pid.pid_1 = "1"
        for cx in ids:
            pid.add_field("pid_3").value = _cx(cx)
        for name in _names(identity):
            pid.add_field("pid_5").value = name
        birth = hl7_date(identity.birth_date)
        if birth:
            pid.pid_7 = birth
        pid.pid_8 = identity.sex if identity.sex in ("M", "F") else "U"
        if identity.birthplace:
            pid.add_field("pid_11").value = f"^^^^^^BDL^^{escape(identity.birthplace)}"
        pid.pid_32 = Reliability.of(identity.status).value
        msg.pv1.pv1_2 = "N"  # no encounter: identity feed only
    except (HL7apyException, ValueError) as e:
        raise HisMessageError(f"message ADT^{event.value} impossible à construire : {type(e).__name__}") from e
    text = _validated(msg, f"ADT^{event.value}")
    return Outgoing(control_id, f"ADT^{event.value}", text + "\r" + _zfd(identity, now))


def _zfd(identity: HisIdentity, now: dt.datetime) -> str:
    """PAM FR's ZFD: 5 how the identity was obtained, 6 the INSi query date, 7 the ID document checked."""
    fields = [""] * 8
    fields[4] = identity.collection.value
    if identity.ins is not None:
        fields[5] = now.strftime("%Y%m%d")
    if identity.document is not None:
        fields[6] = document_code(identity.document)
    return "ZFD|" + "|".join(fields).rstrip("|")

