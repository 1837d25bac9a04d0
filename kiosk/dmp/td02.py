"""TD0.2, the DMP existence test: the `PRPA_IN201307UV02` request and the `PRPA_IN201308UV02` answer.

Built and read with lxml (the HL7 v3 schemas are large and not shipped): the request carries exactly the
elements teleservices.md lists; the answer is read by name, anywhere it sits, and mapped to the states the
desk shows. Status codes the kiosk does not know are reported as such (`DmpState.UNKNOWN` with the code),
never guessed.

Authorisation codes read from `attentionLine[keyWordText/@code='AUTORISATION']/value/@code`: `VALIDE`
(authorised), `INTERDITE`/`INTERDIT` (blocked by the patient), `NON_EXISTANTE`/`EXPIREE` (not yet
authorised: first access or more than 6 months). Emergency access refused is read from the
`ACCES_URGENCE` line (`INTERDIT`). Only `VALIDE` and `INTERDIT` are in public sources; the others are the
kiosk's reading of the Web PS tutorial's states, kept in one table below.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from lxml import etree

from kiosk.errors import TeleserviceError
from kiosk.privacy import scrub
from kiosk.soapxml import SoapFault, read_answer, text_of
from kiosk.states import DmpState

__all__ = ["ACTION", "HL7", "STATE_LABELS", "DmpFaultError", "DmpState", "DmpStatus", "build_query", "parse_td02_reply"]

HL7 = "urn:hl7-org:v3"
ACTION = "urn:hl7-org:v3:PRPA_IN201307UV02"
DMP_DEVICE_OID = "1.2.250.1.213.4.1.1.1"
_N = {"h": HL7}
SERVICE = "DMP"

AUTHORISED = frozenset({"VALIDE"})
BLOCKED = frozenset({"INTERDITE", "INTERDIT"})
NOT_YET = frozenset({"NON_EXISTANTE", "EXPIREE"})
EMERGENCY_REFUSED = frozenset({"INTERDIT", "INTERDITE"})
CLOSED_STATUSES = frozenset({"completed", "obsolete", "aborted", "nullified"})


# French labels for the CLI and the journal, keyed by member (a test checks every member is covered).
STATE_LABELS: dict[DmpState, str] = {
    DmpState.NOT_CREATED: "DMP non créé (création uniquement via Mon espace santé)",
    DmpState.CLOSED: "DMP fermé (réactivation uniquement via Mon espace santé)",
    DmpState.AUTHORISED: "DMP ouvert, accès autorisé",
    DmpState.NOT_AUTHORISED: "DMP ouvert, accès pas encore autorisé (premier accès ou plus de 6 mois)",
    DmpState.BLOCKED: "DMP ouvert, accès bloqué par le patient",
    DmpState.EMERGENCY_REFUSED: "DMP ouvert, accès en urgence refusé par le patient",
    DmpState.NO_INS: "DMP non interrogé (pas d'INS utilisable)",
    DmpState.UNKNOWN: "état du DMP non reconnu",
}


@dataclass(frozen=True)
class DmpStatus:
    state: DmpState
    closed_on: str = ""  # effectiveTime of a closed DMP (HL7 TS, e.g. 20230512)
    closed_reason: str = ""  # detectedIssueEvent code (and its displayName)
    authorisation: str = ""  # the AUTORISATION code as received
    attending_doctor: str = ""  # the STATUT_MT code as received
    unknown_code: str = ""  # what could not be mapped, for UNKNOWN
    detail: str = ""  # acknowledgementDetail text

    @property
    def label(self) -> str:
        if self.state is DmpState.UNKNOWN:
            return f"{STATE_LABELS[self.state]} (code reçu : {self.unknown_code or 'aucun'})"
        if self.state is DmpState.CLOSED:
            return f"{STATE_LABELS[self.state]}, le {_date_fr(self.closed_on) or '?'} ({self.closed_reason or 'motif non précisé'})"
        return STATE_LABELS[self.state]

    def as_dict(self) -> dict[str, str]:
        return {
            "state": self.state.value, "label": self.label, "closed_on": self.closed_on, "closed_reason": self.closed_reason,
            "authorisation": self.authorisation, "attending_doctor": self.attending_doctor, "unknown_code": self.unknown_code,
        }


def _date_fr(ts: str) -> str:
    return f"{ts[6:8]}/{ts[4:6]}/{ts[:4]}" if len(ts) >= 8 and ts[:8].isdigit() else ts


class DmpFaultError(TeleserviceError):
    """The DMP refused the request (SOAP fault or a negative acknowledgement)."""

    def __init__(self, code: str, text: str) -> None:
        self.code, self.text = code, text
        super().__init__(f"DMP : requête refusée ({code or 'sans code'}) — {text or 'sans détail'}")


def _sub(parent: etree._Element, name: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{HL7}}}{name}", attrs)


def _device(parent: etree._Element, role: str, oid: str, extension: str, software: str) -> None:
    device = _sub(_sub(parent, role, typeCode="RCV" if role == "receiver" else "SND"), "device", classCode="DEV", determinerCode="INSTANCE")
    _sub(device, "id", root=oid, **({"extension": extension} if extension else {}))
    _sub(device, "softwareName").text = software


def build_query(ins: str, oid: str, lps_oid: str, lps_name: str, now: dt.datetime | None = None) -> etree._Element:
    """The `PRPA_IN201307UV02` body for the TD0.2 existence test of one INS."""
    now = now or dt.datetime.now(dt.UTC)
    root = etree.Element(f"{{{HL7}}}PRPA_IN201307UV02", {"ITSVersion": "XML_1.0"}, nsmap={None: HL7})
    _sub(root, "id", root=lps_oid, extension=str(uuid.uuid4()))
    _sub(root, "creationTime", value=now.strftime("%Y%m%d%H%M%S"))
    _sub(root, "interactionId", root="2.16.840.1.113883.1.6", extension="PRPA_IN201307UV02")
    _sub(root, "processingCode", code="P")
    _sub(root, "processingModeCode", code="T")
    _sub(root, "acceptAckCode", code="AL")
    _device(root, "receiver", DMP_DEVICE_OID, "", "DMP")
    _device(root, "sender", lps_oid, "", lps_name)
    act = _sub(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _sub(act, "reasonCode", code="TEST_EXST", codeSystem="1.2.250.1.213.1.1.4.11")
    query = _sub(act, "queryByParameter")
    _sub(query, "queryId", root=lps_oid, extension=str(uuid.uuid4()))
    _sub(query, "statusCode", code="new")
    patient = _sub(_sub(query, "parameterList"), "patientIdentifier")
    _sub(patient, "value", root=oid, extension=ins)
    _sub(patient, "semanticsText").text = "Patient.id"
    return root


def _attention(root: etree._Element, keyword: str) -> str:
    for line in root.iterfind(".//h:attentionLine", _N):
        key = line.find("h:keyWordText", _N)
        if key is not None and (key.get("code") == keyword or text_of(key) == keyword):
            value = line.find("h:value", _N)
            return (value.get("code", "") or text_of(value)).strip() if value is not None else ""
    return ""


def _fault(fault: SoapFault) -> DmpFaultError:
    code = next((s for s in reversed(fault.subcodes) if s), fault.code)
    return DmpFaultError(code, scrub(fault.reason))


def parse_td02_reply(status: int, content: bytes) -> DmpStatus:
    """Map one HTTP answer to a `DmpStatus`; raise `DmpFaultError` / `TeleserviceError` otherwise."""
    element = read_answer(status, content, SERVICE, _fault)
    if element.tag != f"{{{HL7}}}PRPA_IN201308UV02":
        raise TeleserviceError(f"DMP : réponse PRPA_IN201308UV02 attendue, reçu {etree.QName(element).localname}")
    ack = element.find("h:acknowledgement", _N)
    ack_type = ack.get("typeCode", "") if ack is not None else ""
    detail_code = detail_text = ""
    if ack is not None:
        detail = ack.find("h:acknowledgementDetail", _N)
        if detail is not None:
            code_el = detail.find("h:code", _N)
            detail_code = code_el.get("code", "") if code_el is not None else ""
            detail_text = scrub(text_of(detail, "h:text", _N))
    if ack_type != "AA" and detail_code != "DMPClosed":
        raise DmpFaultError(detail_code or ack_type or "sans accusé", detail_text)
    act = element.find("h:controlActProcess", _N)
    response_code = ""
    if act is not None:
        qrc = act.find("h:queryAck/h:queryResponseCode", _N)
        response_code = qrc.get("code", "") if qrc is not None else ""
    if response_code == "NF":
        return DmpStatus(DmpState.NOT_CREATED, detail=detail_text)
    if response_code != "OK":
        return DmpStatus(DmpState.UNKNOWN, unknown_code=f"queryResponseCode={response_code or 'absent'}", detail=detail_text)
    event = act.find("h:subject/h:registrationEvent", _N) if act is not None else None
    status_el = event.find("h:statusCode", _N) if event is not None else None
    event_status = status_el.get("code", "") if status_el is not None else ""
    authorisation, attending = _attention(element, "AUTORISATION"), _attention(element, "STATUT_MT")
    common = {"authorisation": authorisation, "attending_doctor": attending, "detail": detail_text}
    if detail_code == "DMPClosed" or event_status in CLOSED_STATUSES:
        time_el = event.find("h:effectiveTime", _N) if event is not None else None
        reason_el = event.find("h:reasonOf/h:detectedIssueEvent/h:code", _N) if event is not None else None
        reason = ""
        if reason_el is not None:
            reason = " ".join(p for p in (reason_el.get("code", ""), reason_el.get("displayName", "")) if p)
        closed_on = time_el.get("value", "") if time_el is not None else ""
        return DmpStatus(DmpState.CLOSED, closed_on=closed_on, closed_reason=reason, **common)
    if event_status != "active":
        return DmpStatus(DmpState.UNKNOWN, unknown_code=f"statusCode={event_status or 'absent'}", **common)
    if authorisation in AUTHORISED:
        return DmpStatus(DmpState.AUTHORISED, **common)
    if authorisation in BLOCKED:
        return DmpStatus(DmpState.BLOCKED, **common)
    if _attention(element, "ACCES_URGENCE") in EMERGENCY_REFUSED:
        return DmpStatus(DmpState.EMERGENCY_REFUSED, **common)
    if authorisation in NOT_YET:
        return DmpStatus(DmpState.NOT_AUTHORISED, **common)
    return DmpStatus(DmpState.UNKNOWN, unknown_code=f"AUTORISATION={authorisation or 'absent'}", **common)
