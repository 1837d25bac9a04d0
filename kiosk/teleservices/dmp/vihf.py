"""The VIHF: the SAML 2.0 assertion that tells the DMP who asks, for which patient, why.

Establishment mode (the kiosk's case): the organisation authenticates by mutual TLS and signs the
assertion with its organisation signing certificate — enveloped XML signature, exclusive c14n, RSA-SHA256,
placed right after `Issuer` as SAML requires. A fresh assertion is built per request (it names the
patient's INS and the person asking).

Who asks (ANS guide, "Mapping VIHF" of ansforge/IG-hl7v2-volet-transmission-document-cda-r2, and the ANS /
DRIMbox clients): `Subject/NameID` and `subject-id` name the human user — the staff member whose CPx card
opened the desk (IdNat and "NOM Prénom", or the pseudonym of a "carte de service"); for a command-line call
without a card, the person responsible set in `[dmp] responsible_idnat` / `responsible_name`. Never the
structure. `Identifiant_Structure` is the structure's national id ("1" + FINESS). The first `Role` is the
user's profession (TRE_G15, `codeSystemName="professions"`); doctors and pharmacists carry a second `Role`,
their savoir-faire; staff without a profession get a code from TRE_A00-ProducteurDocNonPS, as the guide says
for "les autres" (see `STAFF_ROLES`). `AuthnContextClassRef` says how the user authenticated locally.
"""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
import uuid
from dataclasses import dataclass

from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.algorithms import SignatureConstructionMethod as methods
from signxml.signer import XMLSigner

from kiosk.errors import TeleserviceError
from kiosk.teleservices.tlsclient import ClientIdentity

__all__ = [
    "HL7",
    "PROFESSIONS",
    "SAML",
    "STAFF_ROLES",
    "AuthnMethod",
    "CodedRole",
    "Requester",
    "VihfProfile",
    "build_vihf",
    "profession_code",
    "resource_id",
    "roles_for",
]

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
_ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
_RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
_PURPOSE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"

PROFESSIONS_SYSTEM = ("1.2.250.1.71.1.2.7", "professions")  # TRE_G15-ProfessionSante
DOCTOR_SAVOIR_FAIRE_SYSTEM = ("1.2.250.1.71.4.2.5", "specialites RPPS")  # as DRIMbox sends it (TRE_R01 / R38)
PHARMACIST_SAVOIR_FAIRE_SYSTEM = ("1.2.250.1.71.4.2.6", "TRE_G05-SousSectionTableauCNOP")  # the guide, pharmacists
NON_PS_SYSTEM = ("1.2.250.1.213.1.1.4.6", "TRE_A00-ProducteurDocNonPS")
PURPOSE_SYSTEM = ("1.2.250.1.213.1.1.4.248", "mode acces VIHF 1.0")
DOCTOR, PHARMACIST = "10", "21"

# TRE_G15 profession codes the desk may meet on a CPS (display names as published).
PROFESSIONS: dict[str, str] = {
    "10": "Médecin", "21": "Pharmacien", "26": "Audioprothésiste", "28": "Opticien-Lunetier",
    "40": "Chirurgien-Dentiste", "50": "Sage-Femme", "60": "Infirmier", "69": "Infirmier psychiatrique",
    "70": "Masseur-Kinésithérapeute", "80": "Pédicure-Podologue", "91": "Orthophoniste", "92": "Orthoptiste",
    "94": "Ergothérapeute", "95": "Diététicien", "96": "Psychomotricien", "98": "Manipulateur ERM",
}
# TRE_A00-ProducteurDocNonPS codes for someone without a health profession (`[dmp] staff_role` picks one; its
# Literal in kiosk/config/schema_teleservices.py lists the same keys, so that checking the configuration does
# not import the DMP client).
STAFF_ROLES: dict[str, str] = {"SECRETARIAT_MEDICAL": "Secrétariat médical"}


class AuthnMethod(str, enum.Enum):
    """How the user authenticated to the kiosk (`AuthnContextClassRef`, SAML authn context classes)."""

    CARD_PIN = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"  # CPx card + PIN at the desk
    ORGANISATION_TLS = "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient"  # a CLI call: the organisation certificate


@dataclass(frozen=True)
class CodedRole:
    code: str
    system: str
    system_name: str
    label: str


@dataclass(frozen=True)
class Requester:
    """The person the DMP is asked for (NameID, subject-id, Roles, AuthnContextClassRef)."""

    id: str  # IdNat of the CPx holder, the pseudonym of a carte de service, or [dmp] responsible_idnat
    name: str  # "NOM Prénom" (or the pseudonym)
    profession: str = ""  # TRE_G15 code from the CPx card; "" for establishment staff
    savoir_faire: str = ""  # specialty code, required for doctors and pharmacists
    authn: AuthnMethod = AuthnMethod.CARD_PIN

    def __repr__(self) -> str:  # a national identifier is personal data: not in logs
        return f"Requester(profession={self.profession!r}, authn={self.authn.name})"


@dataclass(frozen=True)
class VihfProfile:
    """What the assertion says about the structure and the software; from [site], [lps] and [dmp]."""

    structure_id: str  # Identifiant_Structure: "1" + FINESS (the organisation certificate's OU)
    secteur_activite: str  # e.g. "SA07^1.2.250.1.71.4.2.4"
    lps_name: str
    lps_version: str
    lps_id: str
    lps_homologation: str
    vihf_version: str = "3.0"  # 3.0 in the ANS kit and DRIMbox, 4.0 in the newer guide
    staff_role: str = "SECRETARIAT_MEDICAL"  # STAFF_ROLES key for users without a health profession


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold().replace("-", " ").strip()


_BY_LABEL = {_fold(label): code for code, label in PROFESSIONS.items()} | {"sage femme": "50", "infirmiere": "60"}


def profession_code(title: str) -> str:
    """The TRE_G15 code for what a CPx card says (a code, or its certificate title such as "Médecin").

    "" for anything else (a CPE holder's role label such as "Secrétaire médicale"): such a user is
    establishment staff and gets `[dmp] staff_role`.
    """
    text = title.strip()
    if text in PROFESSIONS:
        return text
    return _BY_LABEL.get(_fold(text), "")


def resource_id(ins: str, oid: str) -> str:
    """`<INS>^^^&<INS OID>&ISO^NH`, the patient the request is about."""
    return f"{ins}^^^&{oid}&ISO^NH"


def roles_for(requester: Requester, profile: VihfProfile) -> list[CodedRole]:
    """The Role occurrences the guide asks for; `TeleserviceError` when one cannot be filled truthfully."""
    if not requester.profession:
        label = STAFF_ROLES.get(profile.staff_role)
        if label is None:
            raise TeleserviceError(
                f"VIHF : rôle {profile.staff_role!r} inconnu (dmp.staff_role : {', '.join(STAFF_ROLES)})"
            )
        return [CodedRole(profile.staff_role, *NON_PS_SYSTEM, label)]
    if requester.profession not in PROFESSIONS:
        raise TeleserviceError(f"VIHF : code profession {requester.profession!r} inconnu de la table TRE_G15")
    roles = [CodedRole(requester.profession, *PROFESSIONS_SYSTEM, PROFESSIONS[requester.profession])]
    if requester.profession in (DOCTOR, PHARMACIST):
        if not requester.savoir_faire:
            raise TeleserviceError(
                "VIHF : savoir-faire absent de la carte (obligatoire pour un médecin ou un pharmacien)"
            )
        system = DOCTOR_SAVOIR_FAIRE_SYSTEM if requester.profession == DOCTOR else PHARMACIST_SAVOIR_FAIRE_SYSTEM
        roles.append(CodedRole(requester.savoir_faire, *system, requester.savoir_faire))
    return roles


def _attribute(parent: etree._Element, name: str, *values: str | etree._Element) -> None:
    attribute = etree.SubElement(parent, f"{{{SAML}}}Attribute", Name=name)
    for value in values:
        holder = etree.SubElement(attribute, f"{{{SAML}}}AttributeValue")
        if isinstance(value, str):
            holder.text = value
        else:
            holder.append(value)


def _coded(tag: str, role: CodedRole) -> etree._Element:
    element = etree.Element(f"{{{HL7}}}{tag}", nsmap={None: HL7, "xsi": XSI})
    element.set(f"{{{XSI}}}type", "CE")
    element.set("code", role.code)
    element.set("codeSystem", role.system)
    element.set("codeSystemName", role.system_name)
    element.set("displayName", role.label)
    return element


def build_vihf(
    profile: VihfProfile,
    requester: Requester,
    signer: ClientIdentity,
    ins: str,
    oid: str,
    now: dt.datetime | None = None,
) -> etree._Element:
    """The signed assertion, ready to go into `wsse:Security`. Do not re-serialise it with pretty printing."""
    if not requester.id or not requester.name:
        raise TeleserviceError("VIHF : utilisateur inconnu (carte CPx ou dmp.responsible_idnat / responsible_name)")
    roles = roles_for(requester, profile)
    now = now or dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assertion_id = f"_{uuid.uuid4()}"
    root = etree.Element(
        f"{{{SAML}}}Assertion", {"ID": assertion_id, "IssueInstant": stamp, "Version": "2.0"}, nsmap={"saml2": SAML}
    )
    issuer = etree.SubElement(
        root, f"{{{SAML}}}Issuer", Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
    )
    issuer.text = signer.subject_dn
    etree.SubElement(root, f"{{{DSIG}}}Signature", Id="placeholder", nsmap={"ds": DSIG})
    subject = etree.SubElement(root, f"{{{SAML}}}Subject")
    name_id = etree.SubElement(
        subject, f"{{{SAML}}}NameID", Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    )
    name_id.text = requester.id
    etree.SubElement(
        root, f"{{{SAML}}}Conditions",
        NotBefore=(now - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        NotOnOrAfter=(now + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    authn = etree.SubElement(root, f"{{{SAML}}}AuthnStatement", AuthnInstant=stamp)
    context = etree.SubElement(etree.SubElement(authn, f"{{{SAML}}}AuthnContext"), f"{{{SAML}}}AuthnContextClassRef")
    context.text = requester.authn.value
    attributes = etree.SubElement(root, f"{{{SAML}}}AttributeStatement")
    _attribute(attributes, "VIHF_Version", profile.vihf_version)
    _attribute(attributes, "Identifiant_Structure", profile.structure_id)
    _attribute(attributes, "Secteur_Activite", profile.secteur_activite)
    _attribute(attributes, _SUBJECT_ID, requester.name)
    _attribute(attributes, _ROLE, *(_coded("Role", r) for r in roles))
    _attribute(attributes, _RESOURCE_ID, resource_id(ins, oid))
    _attribute(attributes, "Ressource_URN", "urn:dmp")
    _attribute(attributes, _PURPOSE, _coded("PurposeOfUse", CodedRole("normal", *PURPOSE_SYSTEM, "Accès normal")))
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
    return xml_signer.sign(
        root, key=signer.key, cert=[signer.cert], reference_uri=f"#{assertion_id}", id_attribute="ID"
    )
