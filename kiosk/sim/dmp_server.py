"""The DMP simulator: TD0.2 on `/patients`, checking the request like the DMP would.

Refused (SOAP fault): not SOAP 1.2, `wsa:Action` missing / wrong / not mustUnderstand, no MessageID or To,
no VIHF, a VIHF whose enveloped signature (exclusive c14n, RSA-SHA256) does not verify against the
organisation CA, missing VIHF attributes, a VIHF naming another patient than the query, a query without
`TEST_EXST`, and a VIHF that breaks a rule of the ANS guide (`VIHF_RULES`): the fault names the rule.
States come from `kiosk.sim.identities.DMP_STATES`.

Answers come in two shapes: `production` (the default; where hospital software in production reads the
status: `registrationEvent/subject1/patient/statusCode`, the closure reason under
`controlActProcess/reasonOf`) and `registration` (status and reason on `registrationEvent`). Both give the
same desk states. AUTORISATION values are only those of `kiosk.teleservices.dmp.td02.AUTORISATION`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from xml.sax.saxutils import escape, quoteattr

from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature

from kiosk.domain.states import DmpState
from kiosk.sim.identities import DMP_STATES
from kiosk.sim.soapserver import SimReply, SimRequest, soap12_fault
from kiosk.teleservices.dmp.td02 import AUTORISATION, EMERGENCY_REFUSED
from kiosk.teleservices.soapxml import SOAP12, UntrustedXmlError, parse_untrusted, text_of

__all__ = ["SHAPES", "VIHF_RULES", "DmpSimulator", "answer_bytes"]

HL7 = "urn:hl7-org:v3"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
ACTION = "urn:hl7-org:v3:PRPA_IN201307UV02"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
REQUIRED_ATTRIBUTES = (
    "VIHF_Version", "Identifiant_Structure", "Secteur_Activite", "urn:oasis:names:tc:xspa:1.0:subject:subject-id",
    "urn:oasis:names:tc:xacml:2.0:subject:role", "urn:oasis:names:tc:xacml:2.0:resource:resource-id", "Ressource_URN",
    "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse", "Authentification_Mode", "LPS_Nom", "LPS_Version", "LPS_ID",
)


SHAPES = ("production", "registration")
AUTHN_CLASSES = frozenset(
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient"}
)
PROFESSIONS_OID = "1.2.250.1.71.1.2.7"
NON_PS_OIDS = frozenset(
    {"1.2.250.1.213.1.1.4.6", "1.2.250.1.213.1.6.1.109", "1.2.250.1.213.1.6.1.140", "1.2.250.1.213.1.6.1.108"}
)
SAVOIR_FAIRE_OIDS = {"10": "1.2.250.1.71.4.2.5", "21": "1.2.250.1.71.4.2.6"}  # doctors, pharmacists
_STRUCTURE_ID = re.compile(r"^(?:1(?:\d{2}|2A|2B)\d{7}|3\d{14})$")  # 1 + FINESS, or 3 + SIRET
_FINESS = re.compile(r"^(?:\d{2}|2A|2B)\d{7}$")
# The rules the fault names (ANS guide "Mapping VIHF", the ANS example kit, DRIMbox; teleservices.md).
VIHF_RULES = {
    "R1": "VIHF_Version 3.0 ou 4.0",
    "R2": "Identifiant_Structure = identifiant national de la structure (1 + FINESS), pas le FINESS seul",
    "R3": "NameID et subject-id nomment l'utilisateur (ou la personne responsable), jamais la structure",
    "R4": "Role : codeSystem et codeSystemName ; profession (professions) ou code non-PS (TRE_A00, R94, R95, R291)",
    "R5": "Role : second Role savoir-faire obligatoire pour un médecin (1.2.250.1.71.4.2.5) ou un pharmacien "
          "(1.2.250.1.71.4.2.6)",
    "R6": "PurposeOfUse : code normal, codeSystem 1.2.250.1.213.1.1.4.248, codeSystemName « mode acces VIHF 1.0 »",
    "R7": "AuthnContextClassRef : mode d'authentification locale de l'utilisateur (SmartcardPKI, TLSClient)",
}


class _Refusal(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class DmpSimulator:
    """The request handler of the DMP simulator (a `SoapServer` app)."""

    def __init__(
        self,
        ca_bundle: str,
        *,
        base_path: str = "/si-dmp-server/v2/services",
        slow_s: float = 3.0,
        shape: str = "production",
    ) -> None:
        if shape not in SHAPES:
            raise ValueError(f"forme de réponse inconnue : {shape!r} ({', '.join(SHAPES)})")
        self.ca_bundle = ca_bundle
        self.shape = shape
        self.patients_path = base_path.rstrip("/") + "/patients"
        self.slow_s = slow_s

    def __call__(self, request: SimRequest) -> SimReply:
        try:
            if request.path.rstrip("/") != self.patients_path:
                raise _Refusal("NotFound", "service inconnu (TD0.2 : /patients)")
            if not request.content_type.lower().startswith("application/soap+xml"):
                raise _Refusal("InvalidContentType", "Content-Type SOAP 1.2 attendu")
            try:
                envelope = parse_untrusted(request.body, "requête")
            except UntrustedXmlError as e:
                raise _Refusal("InvalidXml", str(e)) from None
            ins, oid = self._check(envelope)
            return self._answer(ins, oid)
        except _Refusal as refusal:
            return SimReply(500, soap12_fault("Sender", refusal.code, escape(refusal.text), subcode_ns="urn:dmp"))

    def _check(self, envelope: etree._Element) -> tuple[str, str]:
        if envelope.tag != f"{{{SOAP12}}}Envelope":
            raise _Refusal("VersionMismatch", "enveloppe SOAP 1.2 attendue")
        header, body = envelope.find(f"{{{SOAP12}}}Header"), envelope.find(f"{{{SOAP12}}}Body")
        if header is None or body is None:
            raise _Refusal("InvalidRequest", "en-tête ou corps SOAP manquant")
        action = header.find(f"{{{WSA}}}Action")
        if (
            action is None
            or text_of(action) != ACTION
            or action.get(f"{{{SOAP12}}}mustUnderstand") not in ("true", "1")
        ):
            raise _Refusal("ActionNotSupported", f"wsa:Action {ACTION} (mustUnderstand) attendu")
        if not text_of(header, f"{{{WSA}}}MessageID") or not text_of(header, f"{{{WSA}}}To"):
            raise _Refusal("MessageAddressingHeaderRequired", "wsa:MessageID et wsa:To attendus")
        assertion = header.find(f"{{{WSSE}}}Security/{{{SAML}}}Assertion")
        if assertion is None:
            raise _Refusal("VIHF_ABSENT", "assertion VIHF absente de wsse:Security")
        attributes = self._verify_vihf(assertion)
        query = body.find(f"{{{HL7}}}PRPA_IN201307UV02")
        if query is None:
            raise _Refusal("InvalidRequest", "PRPA_IN201307UV02 attendu")
        n = {"h": HL7}
        interaction = query.find("h:interactionId", n)
        reason = query.find("h:controlActProcess/h:reasonCode", n)
        value = query.find("h:controlActProcess/h:queryByParameter/h:parameterList/h:patientIdentifier/h:value", n)
        if interaction is None or interaction.get("extension") != "PRPA_IN201307UV02":
            raise _Refusal("InvalidRequest", "interactionId PRPA_IN201307UV02 attendu")
        if reason is None or reason.get("code") != "TEST_EXST":
            raise _Refusal("InvalidRequest", "reasonCode TEST_EXST attendu")
        if value is None or not value.get("root") or len(value.get("extension", "")) != 15:
            raise _Refusal("InvalidRequest", "identifiant patient (INS de 15 caractères et OID) attendu")
        ins, oid = value.get("extension"), value.get("root")
        if attributes["urn:oasis:names:tc:xacml:2.0:resource:resource-id"] != f"{ins}^^^&{oid}&ISO^NH":
            raise _Refusal("VIHF_INVALIDE", "le VIHF ne désigne pas le patient de la requête")
        return ins, oid

    def _verify_vihf(self, assertion: etree._Element) -> dict[str, str]:
        signature = assertion.find(f"{{{DSIG}}}Signature")
        if signature is None:
            raise _Refusal("VIHF_NON_SIGNE", "assertion VIHF non signée")
        c14n = signature.find(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}CanonicalizationMethod")
        if c14n is None or c14n.get("Algorithm") != EXC_C14N:
            raise _Refusal("VIHF_INVALIDE", "canonicalisation exclusive attendue")
        expect = SignatureConfiguration(
            signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
            digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        )
        try:
            result = XMLVerifier().verify(
                assertion, ca_pem_file=self.ca_bundle, id_attribute="ID", expect_config=expect
            )
        except (InvalidSignature, InvalidInput, ValueError) as e:
            raise _Refusal("VIHF_SIGNATURE_INVALIDE", f"signature du VIHF invalide ({e.__class__.__name__})") from None
        signed = result.signed_xml if not isinstance(result, list) else None
        if signed is None or signed.tag != f"{{{SAML}}}Assertion" or signed.get("ID") != assertion.get("ID"):
            raise _Refusal("VIHF_SIGNATURE_INVALIDE", "la signature ne couvre pas l'assertion")
        attributes = {
            a.get("Name", ""): "".join(v.itertext()).strip() or next((c.get("code", "") for c in v), "")
            for a in signed.iterfind(f".//{{{SAML}}}Attribute")
            for v in a.iterfind(f"{{{SAML}}}AttributeValue")
        }
        missing = [name for name in REQUIRED_ATTRIBUTES if not attributes.get(name)]
        if missing:
            raise _Refusal("VIHF_INCOMPLET", f"attributs VIHF manquants : {', '.join(missing)}")
        self._rules(signed, attributes)
        return attributes

    @staticmethod
    def _coded(signed: etree._Element, name: str) -> list[etree._Element]:
        return [c for a in signed.iterfind(f".//{{{SAML}}}Attribute[@Name='{name}']")
                for v in a.iterfind(f"{{{SAML}}}AttributeValue") for c in v if isinstance(c.tag, str)]

    def _rules(self, signed: etree._Element, attributes: dict[str, str]) -> None:
        def broken(rule: str, detail: str = "") -> _Refusal:
            return _Refusal("VIHF_INVALIDE", f"règle {rule} : {VIHF_RULES[rule]}" + (f" ({detail})" if detail else ""))

        if attributes["VIHF_Version"] not in ("3.0", "4.0"):
            raise broken("R1", attributes["VIHF_Version"])
        structure = attributes["Identifiant_Structure"]
        if not _STRUCTURE_ID.match(structure):
            raise broken("R2", structure)
        name_id = text_of(signed, f"{{{SAML}}}Subject/{{{SAML}}}NameID")
        subject = attributes["urn:oasis:names:tc:xspa:1.0:subject:subject-id"]
        for value in (name_id, subject):
            if not value or value == structure or _FINESS.match(value) or value == structure[1:]:
                raise broken("R3")
        roles = self._coded(signed, "urn:oasis:names:tc:xacml:2.0:subject:role")
        if not roles or any(not r.get("codeSystem") or not r.get("codeSystemName") or not r.get("code") for r in roles):
            raise broken("R4", "codeSystem, codeSystemName et code attendus")
        first = roles[0]
        if first.get("codeSystem") != PROFESSIONS_OID and first.get("codeSystem") not in NON_PS_OIDS:
            raise broken("R4", f"codeSystem {first.get('codeSystem')}")
        if first.get("codeSystem") == PROFESSIONS_OID and first.get("codeSystemName") != "professions":
            raise broken("R4", "codeSystemName professions attendu")
        wanted = SAVOIR_FAIRE_OIDS.get(first.get("code", "")) if first.get("codeSystem") == PROFESSIONS_OID else None
        if wanted and not any(r.get("codeSystem") == wanted for r in roles[1:]):
            raise broken("R5")
        purposes = self._coded(signed, "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse")
        if len(purposes) != 1 or (
            purposes[0].get("code"),
            purposes[0].get("codeSystem"),
            purposes[0].get("codeSystemName"),
        ) != ("normal", "1.2.250.1.213.1.1.4.248", "mode acces VIHF 1.0"):
            raise broken("R6")
        if text_of(signed, f".//{{{SAML}}}AuthnContextClassRef") not in AUTHN_CLASSES:
            raise broken("R7")

    def _answer(self, ins: str, oid: str) -> SimReply:
        state = DMP_STATES.get(ins, DmpState.NOT_CREATED.value)
        if state == "fault":
            return SimReply(
                500,
                soap12_fault(
                    "Receiver", "DMP_INDISPONIBLE", "Service DMP momentanément indisponible", subcode_ns="urn:dmp"
                ),
            )
        if state == "hang":
            return SimReply(200, b"", hang=True)
        if state == "broken":
            return SimReply(200, self.response(ins, oid, DmpState.AUTHORISED)[:-60])
        if state == "entities":
            return SimReply(200, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
        if state == "slow":
            return SimReply(200, self.response(ins, oid, DmpState.NOT_CREATED), delay_s=self.slow_s)
        return SimReply(200, self.response(ins, oid, DmpState(state)))

    def response(self, ins: str, oid: str, state: DmpState) -> bytes:
        """The PRPA_IN201308UV02 answer for `state`, in this simulator's shape."""
        return answer_bytes(ins, oid, state, self.shape)


# What the simulator says per state: (AUTORISATION, ACCES_URGENCE), values from the kiosk's table only.
_ATTENTION: dict[DmpState, tuple[str, str]] = {
    DmpState.AUTHORISED: ("VALIDE", ""),
    DmpState.NOT_AUTHORISED: ("NON_EXISTANTE", ""),
    DmpState.BLOCKED: ("INTERDIT", ""),
    DmpState.EMERGENCY_REFUSED: ("NON_EXISTANTE", EMERGENCY_REFUSED),
    DmpState.CLOSED: ("VALIDE", ""),
    DmpState.UNKNOWN: ("VALIDE", ""),  # UNKNOWN: a DMP status code the kiosk does not know ("held")
}
assert all(a in AUTORISATION for a, _ in _ATTENTION.values())


def _line(keyword: str, value: str) -> str:
    return f'<attentionLine><keyWordText code="{keyword}">{keyword}</keyWordText>{value}</attentionLine>'


def answer_bytes(ins: str, oid: str, state: DmpState, shape: str = "production") -> bytes:
    """A PRPA_IN201308UV02 answer. `production`: status on subject1/patient, reason under controlActProcess;
    `registration`: both on registrationEvent."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    lines = ""
    if state in _ATTENTION:
        authorisation, emergency = _ATTENTION[state]
        lines = _line("AUTORISATION", f'<value xsi:type="CV" code="{authorisation}"/>') + _line(
            "STATUT_MT", '<value xsi:type="BL" value="false"/>'
        )
        if emergency:
            lines += _line("ACCES_URGENCE", f'<value xsi:type="CV" code="{emergency}"/>')
    found = state is not DmpState.NOT_CREATED
    detail = "DMPFound" if found else "DMPNotFound"
    status = {DmpState.CLOSED: "completed", DmpState.UNKNOWN: "held"}.get(state, "active")
    closed = state is DmpState.CLOSED
    reason = (
        '<reasonOf><detectedIssueEvent classCode="ALRT" moodCode="EVN"><code code="FERMETURE_PATIENT" '
        'displayName="Fermeture à la demande du patient"/><text>Fermeture à la demande du '
        'patient</text></detectedIssueEvent></reasonOf>'
        if closed
        else ""
    )
    production = shape == "production"
    event = ""
    if found:
        event = (
            '<subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN">'
            + ("" if production else f'<statusCode code="{status}"/>')
            + ('<effectiveTime value="20230512"/>' if closed else "")
            + f'<subject1 typeCode="SBJ"><patient classCode="PAT"><id root={quoteattr(oid)} '
              f'extension={quoteattr(ins)}/>'
            + (f'<statusCode code="{status}"/>' if production else "")
            + "</patient></subject1>"
            '<custodian typeCode="CST"><assignedEntity classCode="ASSIGNED"><id '
            'root="1.2.250.1.213.4.1.1.1"/></assignedEntity></custodian>'
            + ("" if production else reason)
            + "</registrationEvent></subject>"
        )
    message = (
        f'<PRPA_IN201308UV02 xmlns="{HL7}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ITSVersion="XML_1.0">'
        f'<id root="1.2.250.1.213.4.1.1.1" extension="{uuid.uuid4()}"/><creationTime value="{now}"/>'
        '<interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201308UV02"/>'
        '<processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="NE"/>'
        f"{lines}"
        '<receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="0"/></device></receiver>'
        '<sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.250.1.213.4.1.1.1"/>'
        "<softwareName>DMP</softwareName></device></sender>"
        f'<acknowledgement typeCode="AA"><acknowledgementDetail typeCode="I"><code code="{detail}"/>'
        f"<text>{detail}</text></acknowledgementDetail></acknowledgement>"
        f'<controlActProcess classCode="CACT" moodCode="EVN">{event}'
        + (reason if production else "")
        + f'<queryAck><queryId root="0" extension="{uuid.uuid4()}"/><queryResponseCode '
          f'code="{"OK" if found else "NF"}"/></queryAck>'
        "</controlActProcess></PRPA_IN201308UV02>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP12}" xmlns:wsa="{WSA}">'
        f"<soap:Header><wsa:Action>urn:hl7-org:v3:PRPA_IN201308UV02</wsa:Action></soap:Header>"
        f"<soap:Body>{message}</soap:Body></soap:Envelope>"
    ).encode()
