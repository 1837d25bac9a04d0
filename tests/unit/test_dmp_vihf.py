("""The VIHF assertion: establishment mode, enveloped signature, exclusive c14n, RSA-SHA256, verifiable against the "
 "CA.""")

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import InvalidSignature

from drivers.sim.pki import generate_pki
from kiosk.errors import TeleserviceError
from kiosk.teleservices.dmp.vihf import SAML, AuthnMethod, Requester, build_vihf
from kiosk.teleservices.tlsclient import load_identity
from tests.support.teleservice_fixtures import DOCTOR, PROFILE, RESPONSIBLE, SECRETARY

DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    return generate_pki(tmp_path_factory.mktemp("pki"))


def test_assertion_is_signed_as_the_dmp_requires(pki) -> None:
    signer = load_identity(str(pki.signing.pkcs12), str(pki.signing.password_file), "", "signature")
    assertion = build_vihf(PROFILE, SECRETARY, signer, "297022A02077878", "1.2.250.1.213.1.4.8")
    children = [etree.QName(c).localname for c in assertion]
    assert children[:3] == ["Issuer", "Signature", "Subject"]  # SAML: the signature right after Issuer
    signature = assertion.find(f"{{{DS}}}Signature")
    assert signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}CanonicalizationMethod").get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#"
    assert signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod").get("Algorithm").endswith("rsa-sha256")
    transforms = [t.get("Algorithm") for t in signature.iterfind(f".//{{{DS}}}Transform")]
    assert "http://www.w3.org/2000/09/xmldsig#enveloped-signature" in transforms
    assert signature.find(f".//{{{DS}}}Reference").get("URI") == "#" + assertion.get("ID")
    assert assertion.find(f"{{{SAML}}}Issuer").text == signer.subject_dn
    assert assertion.find(f".//{{{SAML}}}AuthnContextClassRef").text.endswith(":SmartcardPKI")  # CPx card + PIN
    assert (
        assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text == "3750000001/0007"
    )  # the person, not the structure
    values = {a.get("Name"): a for a in assertion.iterfind(f".//{{{SAML}}}Attribute")}
    assert "".join(values["VIHF_Version"].itertext()) == "3.0"
    assert "".join(values["Identifiant_Structure"].itertext()) == "1750000001"
    assert "".join(values["urn:oasis:names:tc:xspa:1.0:subject:subject-id"].itertext()) == "DURAND Sophie"
    assert (
        "".join(values["urn:oasis:names:tc:xacml:2.0:resource:resource-id"].itertext())
        == "297022A02077878^^^&1.2.250.1.213.1.4.8&ISO^NH"
    )
    roles = [v[0] for v in values["urn:oasis:names:tc:xacml:2.0:subject:role"].iterfind(f"{{{SAML}}}AttributeValue")]
    # Staff without a health profession: TRE_A00-ProducteurDocNonPS, never a fixed 10 (Médecin).
    assert [(r.get("code"), r.get("codeSystem"), r.get("codeSystemName")) for r in roles] == [
        ("SECRETARIAT_MEDICAL", "1.2.250.1.213.1.1.4.6", "TRE_A00-ProducteurDocNonPS")
    ]
    purpose = values["urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"].find(f"{{{SAML}}}AttributeValue")[0]
    assert (purpose.get("code"), purpose.get("codeSystemName")) == ("normal", "mode acces VIHF 1.0")
    for name in (
        "LPS_Nom",
        "LPS_Version",
        "LPS_ID",
        "LPS_ID_HOMOLOGATION_DMP",
        "Identifiant_Structure",
        "Secteur_Activite",
    ):
        assert "".join(values[name].itertext())
    # Survives being embedded in an envelope and serialised, then verifies against the organisation CA.
    wrapped = etree.fromstring(b'<e:Envelope xmlns:e="urn:e"><e:Header/></e:Envelope>')
    wrapped[0].append(etree.fromstring(etree.tostring(assertion)))
    reparsed = etree.fromstring(etree.tostring(wrapped))[0][0]
    XMLVerifier().verify(reparsed, ca_pem_file=str(pki.ca_bundle), id_attribute="ID")
    # Any change after signing is detected.
    reparsed.find(f".//{{{SAML}}}NameID").text = "999999999"
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(reparsed, ca_pem_file=str(pki.ca_bundle), id_attribute="ID")


def test_a_signer_from_another_ca_does_not_verify(pki) -> None:
    rogue = pki.extra["rogue"]
    signer = load_identity(str(rogue.pkcs12), str(rogue.password_file), "", "signature")
    assertion = build_vihf(PROFILE, SECRETARY, signer, "297022A02077878", "1.2.250.1.213.1.4.8")
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(assertion, ca_pem_file=str(Path(pki.ca_bundle)), id_attribute="ID")


def _roles(assertion) -> list[tuple[str, str, str]]:
    return [
        (v[0].get("code"), v[0].get("codeSystem"), v[0].get("codeSystemName"))
        for a in assertion.iterfind(f".//{{{SAML}}}Attribute[@Name='urn:oasis:names:tc:xacml:2.0:subject:role']")
        for v in a.iterfind(f"{{{SAML}}}AttributeValue")
    ]


def test_roles_come_from_who_asks(pki) -> None:
    signer = load_identity(str(pki.signing.pkcs12), str(pki.signing.password_file), "", "signature")
    doctor = build_vihf(PROFILE, DOCTOR, signer, "297022A02077878", "1.2.250.1.213.1.4.8")
    assert _roles(doctor) == [
        ("10", "1.2.250.1.71.1.2.7", "professions"),
        ("SM26", "1.2.250.1.71.4.2.5", "specialites RPPS"),
    ]
    nurse = build_vihf(
        PROFILE,
        Requester("810000000002", "PETIT Anne", profession="60"),
        signer,
        "297022A02077878",
        "1.2.250.1.213.1.4.8",
    )
    assert _roles(nurse) == [("60", "1.2.250.1.71.1.2.7", "professions")]
    pharmacist = Requester("810000000003", "ROUX Luc", profession="21", savoir_faire="G15_21/H")
    assert (
        _roles(build_vihf(PROFILE, pharmacist, signer, "297022A02077878", "1.2.250.1.213.1.4.8"))[1][1]
        == "1.2.250.1.71.4.2.6"
    )
    cli = build_vihf(
        replace(PROFILE, vihf_version="4.0"), RESPONSIBLE, signer, "297022A02077878", "1.2.250.1.213.1.4.8"
    )
    assert cli.find(f".//{{{SAML}}}AuthnContextClassRef").text.endswith(":TLSClient")
    assert "".join(cli.find(f".//{{{SAML}}}Attribute[@Name='VIHF_Version']").itertext()) == "4.0"


def test_a_vihf_that_cannot_be_true_is_not_built(pki) -> None:
    signer = load_identity(str(pki.signing.pkcs12), str(pki.signing.password_file), "", "signature")
    for who, reason in [
        (Requester("810000000001", "LEGRAND Paul", profession="10"), "savoir-faire"),
        (Requester("810000000001", "X", profession="99"), "TRE_G15"),
        (Requester("", "", authn=AuthnMethod.ORGANISATION_TLS), "utilisateur inconnu"),
    ]:
        with pytest.raises(TeleserviceError, match=reason):
            build_vihf(PROFILE, who, signer, "297022A02077878", "1.2.250.1.213.1.4.8")
