"""TD0.2, the DMP existence test: the `PRPA_IN201307UV02` request and the `PRPA_IN201308UV02` answer.

Built and read with lxml (the HL7 v3 schemas are large and not shipped): the request carries exactly the
elements teleservices.md lists; the answer is read by name, anywhere it sits, and mapped to the states the
desk shows. Status codes the kiosk does not know are reported as such (`DmpState.UNKNOWN` with the code),
never guessed.

Where the answer says what (teleservices.md, "TD0.2 details from those clients"): the DMP's status is read
from `registrationEvent/statusCode` or `registrationEvent/subject1/patient/statusCode` (hospital software in
production reads the latter: neither place missing ever makes the state "unknown"), the closure reason from
`registrationEvent/reasonOf` or `controlActProcess/reasonOf` (code, displayName, text), `STATUT_MT` from
`value/@value` (a boolean). Authorisation codes come from
`attentionLine[keyWordText/@code='AUTORISATION']/value/@code` and are mapped by the `AUTORISATION` table
below, each value marked confirmed (seen in the public references) or assumed (the kiosk's reading of the
Web PS tutorial's states). Emergency access refused is read from the `ACCES_URGENCE` line (assumed).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

from lxml import etree

from kiosk.domain.privacy import scrub
from kiosk.domain.states import DmpState
from kiosk.errors import TeleserviceError
from kiosk.teleservices.soapxml import SoapFault, read_answer, text_of

__all__ = [
    "ACTION",
    "AUTORISATION",
    "HL7",
    "STATE_LABELS",
    "DmpFaultError",
    "DmpState",
    "DmpStatus",
    "Evidence",
    "build_query",
    "parse_td02_reply",
]

HL7 = "urn:hl7-org:v3"
ACTION = "urn:hl7-org:v3:PRPA_IN201307UV02"
DMP_DEVICE_OID = "1.2.250.1.213.4.1.1.1"
_N = {"h": HL7}
SERVICE = "DMP"

CLOSED_STATUSES = frozenset({"completed", "obsolete", "aborted", "nullified"})
REASON_DISPLAY = "Test d'existence de dossier"  # reasonCode displayName, as the ANS kit and DRIMbox send it


class Evidence(str, enum.Enum):
    CONFIRMED = "confirmed"  # seen in the public references (ANS kit, production clients)
    ASSUMED = "assumed"  # the kiosk's reading of the Web PS tutorial; to confirm on a DMP test platform


# AUTORISATION value -> (desk state, evidence). The simulator sends only these values.
AUTORISATION: dict[str, tuple[DmpState, Evidence]] = {
    "VALIDE": (DmpState.AUTHORISED, Evidence.CONFIRMED),
    "INTERDIT": (DmpState.BLOCKED, Evidence.CONFIRMED),
    "NON_EXISTANTE": (DmpState.NOT_AUTHORISED, Evidence.ASSUMED),
    "EXPIREE": (DmpState.NOT_AUTHORISED, Evidence.ASSUMED),
}
# ACCES_URGENCE value that says the patient refused emergency access (assumed).
EMERGENCY_REFUSED = "INTERDIT"


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
            return (f"{STATE_LABELS[self.state]}, le {_date_fr(self.closed_on) or '?'} "
                    f"({self.closed_reason or 'motif non précisé'})")
        return STATE_LABELS[self.state]

    def as_dict(self) -> dict[str, str]:
        return {
            "state": self.state.value,
            "label": self.label,
            "closed_on": self.closed_on,
            "closed_reason": self.closed_reason,
            "authorisation": self.authorisation,
            "attending_doctor": self.attending_doctor,
            "unknown_code": self.unknown_code,
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
    device = _sub(
        _sub(parent, role, typeCode="RCV" if role == "receiver" else "SND"),
        "device",
        classCode="DEV",
        determinerCode="INSTANCE",
    )
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
    _sub(act, "reasonCode", code="TEST_EXST", codeSystem="1.2.250.1.213.1.1.4.11", displayName=REASON_DISPLAY)
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
            if value is None:
                return ""
            # A coded value (CV) says it in @code, a boolean (BL, STATUT_MT) in @value.
            return (value.get("code", "") or value.get("value", "") or text_of(value)).strip()
    return ""


def _code_of(element: etree._Element | None) -> str:
    return element.get("code", "") if element is not None else ""


def _dmp_status(event: etree._Element | None) -> str:
    """The DMP's status: closed if either place says so, else whichever place says anything."""
    codes = (
        [_code_of(event.find(path, _N)) for path in ("h:statusCode", "h:subject1/h:patient/h:statusCode")]
        if event is not None
        else []
    )
    codes = [c for c in codes if c]
    closed = [c for c in codes if c in CLOSED_STATUSES]
    return (closed or codes or [""])[0]


def _closure_reason(act: etree._Element, event: etree._Element | None) -> str:
    for parent in (event, act):
        issue = parent.find("h:reasonOf/h:detectedIssueEvent", _N) if parent is not None else None
        if issue is None:
            continue
        code = issue.find("h:code", _N)
        parts = [_code_of(code), code.get("displayName", "") if code is not None else "", text_of(issue, "h:text", _N)]
        return " ".join(dict.fromkeys(p for p in parts if p))
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
        return DmpStatus(
            DmpState.UNKNOWN, unknown_code=f"queryResponseCode={response_code or 'absent'}", detail=detail_text
        )
    assert act is not None  # queryResponseCode OK was read from it
    event = act.find("h:subject/h:registrationEvent", _N)
    event_status = _dmp_status(event)
    authorisation, attending = _attention(element, "AUTORISATION"), _attention(element, "STATUT_MT")
    common = {"authorisation": authorisation, "attending_doctor": attending, "detail": detail_text}
    if detail_code == "DMPClosed" or event_status in CLOSED_STATUSES:
        time_el = event.find("h:effectiveTime", _N) if event is not None else None
        closed_on = time_el.get("value", "") if time_el is not None else ""
        return DmpStatus(
            DmpState.CLOSED, closed_on=closed_on, closed_reason=scrub(_closure_reason(act, event)), **common
        )
    if event_status != "active":
        return DmpStatus(DmpState.UNKNOWN, unknown_code=f"statusCode={event_status or 'absent'}", **common)
    mapped = AUTORISATION.get(authorisation)
    if mapped is not None and mapped[0] in (DmpState.AUTHORISED, DmpState.BLOCKED):
        return DmpStatus(mapped[0], **common)  # an emergency-access refusal changes nothing for these
    if _attention(element, "ACCES_URGENCE") == EMERGENCY_REFUSED:
        return DmpStatus(DmpState.EMERGENCY_REFUSED, **common)
    if mapped is not None:
        return DmpStatus(mapped[0], **common)
    return DmpStatus(DmpState.UNKNOWN, unknown_code=f"AUTORISATION={authorisation or 'absent'}", **common)
