"""The DMP simulator: TD0.2 on `/patients`, checking the request like the DMP would.

Refused (SOAP fault): not SOAP 1.2, `wsa:Action` missing / wrong / not mustUnderstand, no MessageID or To,
no VIHF, a VIHF whose enveloped signature (exclusive c14n, RSA-SHA256) does not verify against the
organisation CA, missing VIHF attributes, a VIHF naming another patient than the query, a query without
`TEST_EXST`. States come from `kiosk.sim.identities.DMP_STATES`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from xml.sax.saxutils import escape, quoteattr

from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature

from kiosk.sim.identities import DMP_STATES
from kiosk.sim.soapserver import SimReply, SimRequest, soap12_fault
from kiosk.soapxml import SOAP12, UntrustedXmlError, parse_untrusted, text_of

__all__ = ["DmpSimulator"]

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


class _Refusal(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class DmpSimulator:
    """The request handler of the DMP simulator (a `SoapServer` app)."""

    def __init__(self, ca_bundle: str, *, base_path: str = "/si-dmp-server/v2/services", slow_s: float = 3.0) -> None:
        self.ca_bundle = ca_bundle
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
        if action is None or text_of(action) != ACTION or action.get(f"{{{SOAP12}}}mustUnderstand") not in ("true", "1"):
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
            signature_methods=frozenset({SignatureMethod.RSA_SHA256}), digest_algorithms=frozenset({DigestAlgorithm.SHA256})
        )
        try:
            result = XMLVerifier().verify(assertion, ca_pem_file=self.ca_bundle, id_attribute="ID", expect_config=expect)
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
        if attributes["VIHF_Version"] != "3.0":
            raise _Refusal("VIHF_INVALIDE", "VIHF_Version 3.0 attendue")
        if text_of(signed, f".//{{{SAML}}}AuthnContextClassRef") != "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient":
            raise _Refusal("VIHF_INVALIDE", "mode établissement : AuthnContextClassRef TLSClient attendu")
        return attributes

    def _answer(self, ins: str, oid: str) -> SimReply:
        state = DMP_STATES.get(ins, "not_created")
        if state == "fault":
            return SimReply(500, soap12_fault("Receiver", "DMP_INDISPONIBLE", "Service DMP momentanément indisponible", subcode_ns="urn:dmp"))
        if state == "hang":
            return SimReply(200, b"", hang=True)
        if state == "broken":
            return SimReply(200, self._response(ins, oid, "authorised")[:-60])
        if state == "entities":
            return SimReply(200, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
        delay = self.slow_s if state == "slow" else 0.0
        return SimReply(200, self._response(ins, oid, "not_created" if state == "slow" else state), delay_s=delay)

    @staticmethod
    def _response(ins: str, oid: str, state: str) -> bytes:
        now = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        attention = {
            "authorised": ("VALIDE", ""),
            "not_authorised": ("NON_EXISTANTE", ""),
            "blocked": ("INTERDITE", ""),
            "emergency_refused": ("NON_EXISTANTE", "INTERDIT"),
            "unknown": ("A_CONFIRMER", ""),
        }
        lines = ""
        if state in attention:
            authorisation, emergency = attention[state]
            lines = (
                f'<attentionLine><keyWordText code="AUTORISATION">AUTORISATION</keyWordText><value xsi:type="CV" code="{authorisation}"/></attentionLine>'
                '<attentionLine><keyWordText code="STATUT_MT">STATUT_MT</keyWordText><value xsi:type="CV" code="NON"/></attentionLine>'
            )
            if emergency:
                lines += f'<attentionLine><keyWordText code="ACCES_URGENCE">ACCES_URGENCE</keyWordText><value xsi:type="CV" code="{emergency}"/></attentionLine>'
        found = state != "not_created"
        detail = "DMPFound" if found else "DMPNotFound"
        event = ""
        if found:
            closed = state == "closed"
            event = (
                '<subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN">'
                f'<statusCode code="{"completed" if closed else "active"}"/>'
                + ('<effectiveTime value="20230512"/>' if closed else "")
                + f'<subject1 typeCode="SBJ"><patient classCode="PAT"><id root={quoteattr(oid)} extension={quoteattr(ins)}/>'
                '<statusCode code="active"/></patient></subject1>'
                '<custodian typeCode="CST"><assignedEntity classCode="ASSIGNED"><id root="1.2.250.1.213.4.1.1.1"/></assignedEntity></custodian>'
                + ('<reasonOf><detectedIssueEvent classCode="ALRT" moodCode="EVN"><code code="FERMETURE_PATIENT" '
                   'displayName="Fermeture à la demande du patient"/></detectedIssueEvent></reasonOf>' if closed else "")
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
            f'<queryAck><queryId root="0" extension="{uuid.uuid4()}"/><queryResponseCode code="{"OK" if found else "NF"}"/></queryAck>'
            "</controlActProcess></PRPA_IN201308UV02>"
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP12}" xmlns:wsa="{WSA}">'
            f"<soap:Header><wsa:Action>urn:hl7-org:v3:PRPA_IN201308UV02</wsa:Action></soap:Header>"
            f"<soap:Body>{message}</soap:Body></soap:Envelope>"
        ).encode()
