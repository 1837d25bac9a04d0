"""The VIHF assertion: establishment mode, enveloped signature, exclusive c14n, RSA-SHA256, verifiable against the CA."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import InvalidSignature

from kiosk.dmp.vihf import SAML, build_vihf
from kiosk.sim.pki import generate_pki
from kiosk.tlsclient import load_identity
from tests.support.pki import PROFILE

DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    return generate_pki(tmp_path_factory.mktemp("pki"))


def test_assertion_is_signed_as_the_dmp_requires(pki) -> None:
    signer = load_identity(str(pki.signing.pkcs12), str(pki.signing.password_file), "", "signature")
    assertion = build_vihf(PROFILE, signer, "297022A02077878", "1.2.250.1.213.1.4.8")
    children = [etree.QName(c).localname for c in assertion]
    assert children[:3] == ["Issuer", "Signature", "Subject"]  # SAML: the signature right after Issuer
    signature = assertion.find(f"{{{DS}}}Signature")
    assert signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}CanonicalizationMethod").get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#"
    assert signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod").get("Algorithm").endswith("rsa-sha256")
    transforms = [t.get("Algorithm") for t in signature.iterfind(f".//{{{DS}}}Transform")]
    assert "http://www.w3.org/2000/09/xmldsig#enveloped-signature" in transforms
    assert signature.find(f".//{{{DS}}}Reference").get("URI") == "#" + assertion.get("ID")
    assert assertion.find(f"{{{SAML}}}Issuer").text == signer.subject_dn
    assert assertion.find(f".//{{{SAML}}}AuthnContextClassRef").text.endswith(":TLSClient")
    values = {a.get("Name"): a for a in assertion.iterfind(f".//{{{SAML}}}Attribute")}
    assert "".join(values["VIHF_Version"].itertext()) == "3.0"
    assert "".join(values["urn:oasis:names:tc:xacml:2.0:resource:resource-id"].itertext()) == "297022A02077878^^^&1.2.250.1.213.1.4.8&ISO^NH"
    role = values["urn:oasis:names:tc:xacml:2.0:subject:role"].find(f"{{{SAML}}}AttributeValue")[0]
    assert (role.get("code"), role.get("codeSystem")) == ("10", "1.2.250.1.71.1.2.7")
    for name in ("LPS_Nom", "LPS_Version", "LPS_ID", "LPS_ID_HOMOLOGATION_DMP", "Identifiant_Structure", "Secteur_Activite"):
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
    assertion = build_vihf(PROFILE, signer, "297022A02077878", "1.2.250.1.213.1.4.8")
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(assertion, ca_pem_file=str(Path(pki.ca_bundle)), id_attribute="ID")
