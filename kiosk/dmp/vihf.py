"""The VIHF: the SAML 2.0 assertion that tells the DMP who asks, for which patient, why.

Establishment mode (the kiosk's case): the organisation authenticates by mutual TLS and signs the
assertion with its organisation signing certificate — enveloped XML signature, exclusive c14n, RSA-SHA256,
placed right after `Issuer` as SAML requires. A fresh assertion is built per request (it names the
patient's INS).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

from kiosk.tlsclient import ClientIdentity

__all__ = ["HL7", "SAML", "VihfProfile", "build_vihf", "resource_id"]

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
AUTHN_TLS = "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient"
_SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
_ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
_RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
_PURPOSE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
_PROFESSIONS = "1.2.250.1.71.1.2.7"
_PURPOSES = "1.2.250.1.213.1.1.4.248"


@dataclass(frozen=True)
class VihfProfile:
    """What the assertion says about the caller; from [site], [lps] and [dmp] in the configuration."""

    structure_id: str  # Identifiant_Structure: the establishment's FINESS
    structure_name: str  # subject-id in establishment mode
    secteur_activite: str  # e.g. "SA07^1.2.250.1.71.4.2.4"
    role_code: str  # profession code (codeSystem 1.2.250.1.71.1.2.7)
    role_label: str
    lps_name: str
    lps_version: str
    lps_id: str
    lps_homologation: str


def resource_id(ins: str, oid: str) -> str:
    """`<INS>^^^&<INS OID>&ISO^NH`, the patient the request is about."""
    return f"{ins}^^^&{oid}&ISO^NH"


def _attribute(parent: etree._Element, name: str, value: str | etree._Element) -> None:
    attribute = etree.SubElement(parent, f"{{{SAML}}}Attribute", Name=name)
    holder = etree.SubElement(attribute, f"{{{SAML}}}AttributeValue")
    if isinstance(value, str):
        holder.text = value
    else:
        holder.append(value)


def _coded(tag: str, code: str, system: str, label: str) -> etree._Element:
    element = etree.Element(f"{{{HL7}}}{tag}", nsmap={None: HL7, "xsi": XSI})
    element.set(f"{{{XSI}}}type", "CE")
    element.set("code", code)
    element.set("codeSystem", system)
    element.set("displayName", label)
    return element


def build_vihf(profile: VihfProfile, signer: ClientIdentity, ins: str, oid: str, now: dt.datetime | None = None) -> etree._Element:
    """The signed assertion, ready to go into `wsse:Security`. Do not re-serialise it with pretty printing."""
    now = now or dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assertion_id = f"_{uuid.uuid4()}"
    root = etree.Element(
        f"{{{SAML}}}Assertion", {"ID": assertion_id, "IssueInstant": stamp, "Version": "2.0"}, nsmap={"saml2": SAML}
    )
    issuer = etree.SubElement(root, f"{{{SAML}}}Issuer", Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName")
    issuer.text = signer.subject_dn
    etree.SubElement(root, f"{{{DSIG}}}Signature", Id="placeholder", nsmap={"ds": DSIG})
    subject = etree.SubElement(root, f"{{{SAML}}}Subject")
    name_id = etree.SubElement(subject, f"{{{SAML}}}NameID", Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
    name_id.text = profile.structure_id
    etree.SubElement(
        root, f"{{{SAML}}}Conditions",
        NotBefore=(now - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        NotOnOrAfter=(now + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    authn = etree.SubElement(root, f"{{{SAML}}}AuthnStatement", AuthnInstant=stamp)
    etree.SubElement(etree.SubElement(authn, f"{{{SAML}}}AuthnContext"), f"{{{SAML}}}AuthnContextClassRef").text = AUTHN_TLS
    attributes = etree.SubElement(root, f"{{{SAML}}}AttributeStatement")
    _attribute(attributes, "VIHF_Version", "3.0")
    _attribute(attributes, "Identifiant_Structure", profile.structure_id)
    _attribute(attributes, "Secteur_Activite", profile.secteur_activite)
    _attribute(attributes, _SUBJECT_ID, profile.structure_name)
    _attribute(attributes, _ROLE, _coded("Role", profile.role_code, _PROFESSIONS, profile.role_label))
    _attribute(attributes, _RESOURCE_ID, resource_id(ins, oid))
    _attribute(attributes, "Ressource_URN", "urn:dmp")
    _attribute(attributes, _PURPOSE, _coded("PurposeOfUse", "normal", _PURPOSES, "Accès normal"))
    _attribute(attributes, "Authentification_Mode", "INDIRECTE")
    _attribute(attributes, "LPS_Nom", profile.lps_name)
    _attribute(attributes, "LPS_Version", profile.lps_version)
    _attribute(attributes, "LPS_ID", profile.lps_id)
    _attribute(attributes, "LPS_ID_HOMOLOGATION_DMP", profile.lps_homologation)
    xml_signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    return xml_signer.sign(root, key=signer.key, cert=[signer.cert], reference_uri=f"#{assertion_id}", id_attribute="ID")
