"""The DMP TD0.2 client against the DMP simulator (HTTPS, mutual TLS, VIHF signature checked server-side)."""

from __future__ import annotations

import pytest
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

from drivers.errors import CardSwappedError
from kiosk.domain.ins import parse_matricule
from kiosk.errors import TeleserviceError
from kiosk.sim.dmp_server import VIHF_RULES, DmpSimulator
from kiosk.sim.identities import DMP_STATES
from kiosk.sim.soapserver import SimRequest
from kiosk.teleservices.dmp import DmpFaultError, DmpState, PatientOid, Requester
from kiosk.teleservices.dmp.td02 import build_query, parse_td02_reply
from kiosk.teleservices.dmp.vihf import VihfProfile, build_vihf
from kiosk.teleservices.guards import GuardError
from tests.support import teleservice_fixtures
from tests.support.teleservice_fixtures import DOCTOR, PROFILE, RESPONSIBLE, SECRETARY, identity

NIR = "1.2.250.1.213.1.4.8"

make_dmp = teleservice_fixtures.make_dmp
sims = teleservice_fixtures.sims
simulators = teleservice_fixtures.simulators

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"


@pytest.mark.parametrize(
    ("ins", "state"),
    [
        ("297022A02077878", DmpState.AUTHORISED),
        ("180032B02040123", DmpState.NOT_CREATED),
        ("236066322083656", DmpState.CLOSED),
        ("109076322083489", DmpState.NOT_AUTHORISED),
        ("264021305512307", DmpState.BLOCKED),
        ("177069912345627", DmpState.EMERGENCY_REFUSED),
        ("179019912340002", DmpState.UNKNOWN),
        ("190017505600001", DmpState.NOT_CREATED),  # not in the table
    ],
)
def test_states(make_dmp, ins: str, state: DmpState) -> None:
    matricule = parse_matricule(ins, strict=False)
    status = make_dmp().exists(matricule, NIR)
    assert status.state is state
    if state is DmpState.CLOSED:
        assert status.closed_on == "20230512" and status.closed_reason


def test_request_is_signed_and_addressed(make_dmp, sims) -> None:
    client = make_dmp()
    client.exists(parse_matricule("297022A02077878"), NIR)
    request = sims.dmp.received[-1]
    assert request.path.endswith("/si-dmp-server/v2/services/patients")
    assert 'action="urn:hl7-org:v3:PRPA_IN201307UV02"' in request.content_type
    header = etree.fromstring(request.body).find(f"{{{SOAP}}}Header")
    assert header.find(f"{{{WSA}}}Action").get(f"{{{SOAP}}}mustUnderstand") == "true"
    assert header.find(f"{{{WSA}}}To").text == client.url
    assert header.find(f"{{{WSA}}}MessageID").text.startswith("urn:uuid:")


def test_test_oid_accepted_outside_production(make_dmp) -> None:
    assert make_dmp().exists(parse_matricule("297022A02077878"), "1.2.250.1.213.1.4.10").state is DmpState.AUTHORISED


def test_vihf_signed_by_a_foreign_ca_is_refused_like_the_dmp_would(make_dmp, sims) -> None:
    with pytest.raises(DmpFaultError) as info:
        make_dmp(signer=sims.pki.extra["rogue"]).exists(parse_matricule("297022A02077878"), NIR)
    assert info.value.code == "VIHF_SIGNATURE_INVALIDE"


def test_vihf_for_another_patient_is_refused(make_dmp, sims, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_dmp()
    real = client.envelope
    monkeypatch.setattr(
        client,
        "envelope",
        lambda ins, oid, who: real(ins, oid, who).replace(
            b'extension="297022A02077878"', b'extension="180032B02040123"'
        ),
    )
    with pytest.raises(DmpFaultError, match="VIHF_INVALIDE"):
        client.exists(parse_matricule("297022A02077878"), NIR)


def test_tampered_vihf_is_refused(make_dmp, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_dmp()
    real = client.envelope
    monkeypatch.setattr(
        client, "envelope", lambda ins, oid, who: real(ins, oid, who).replace(b">KIOSK-TEST<", b">AUTRE-LOGICIEL<", 1)
    )
    with pytest.raises(DmpFaultError, match="VIHF_SIGNATURE_INVALIDE"):
        client.exists(parse_matricule("297022A02077878"), NIR)


def test_production_refuses_test_oids_before_sending(make_dmp, sims) -> None:
    before = sims.dmp.count
    with pytest.raises(GuardError, match="OID INS de test"):
        make_dmp(environment="prod").exists(parse_matricule("297022A02077878"), "1.2.250.1.213.1.4.10")
    assert sims.dmp.count == before


def test_card_swap_before_sending(make_dmp, sims) -> None:
    before = sims.dmp.count

    def swapped() -> None:
        raise CardSwappedError("carte changée")

    with pytest.raises(CardSwappedError):
        make_dmp().exists(parse_matricule("297022A02077878"), NIR, before_send=swapped)
    assert sims.dmp.count == before


def by_state(name: str) -> str:
    return next(ins for ins, state in DMP_STATES.items() if state == name)


@pytest.mark.parametrize(
    ("scenario", "message"), [("fault", "DMP_INDISPONIBLE"), ("broken", "mal formée"), ("entities", "DOCTYPE")]
)
def test_misbehaving_dmp(make_dmp, scenario: str, message: str) -> None:
    with pytest.raises(TeleserviceError, match=message):
        make_dmp().exists(parse_matricule(by_state(scenario)), NIR)


def test_hung_and_slow(make_dmp) -> None:
    with pytest.raises(TeleserviceError, match="pas de réponse en 1 s"):
        make_dmp(timeout_s=1.0).exists(parse_matricule(by_state("hang")), NIR)
    assert make_dmp(timeout_s=5.0).exists(parse_matricule(by_state("slow")), NIR).state is DmpState.NOT_CREATED


def test_unknown_service_path(make_dmp, sims) -> None:
    with pytest.raises(DmpFaultError, match="NotFound"):
        make_dmp(endpoint=sims.dmp.url + "/autre/v2/services").exists(parse_matricule("297022A02077878"), NIR)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (
            lambda b: b.replace(
                b' soap:mustUnderstand="true">urn:hl7-org:v3:PRPA_IN201307UV02', b">urn:hl7-org:v3:PRPA_IN201307UV02", 1
            ),
            "ActionNotSupported",
        ),
        (
            lambda b: b.replace(b"<wsa:MessageID>", b"<wsa:Other>").replace(b"</wsa:MessageID>", b"</wsa:Other>"),
            "MessageAddressingHeaderRequired",
        ),
        (lambda b: b.replace(b"saml2:Assertion", b"saml2:Autre"), "VIHF_ABSENT"),
        (lambda b: b.replace(b'code="TEST_EXST"', b'code="AUTRE"'), "InvalidRequest"),
        (lambda b: b.replace(b"xml-exc-c14n#", b"xml-c14n11#"), "VIHF_INVALIDE"),
        (
            lambda b: b.replace(
                b"http://www.w3.org/2003/05/soap-envelope", b"http://schemas.xmlsoap.org/soap/envelope/"
            ),
            "VersionMismatch",
        ),
    ],
)
def test_simulator_refuses_what_the_dmp_refuses(make_dmp, sims, mutate, code: str) -> None:
    from kiosk.teleservices import tlsclient

    client = make_dmp()
    body = mutate(client.envelope("297022A02077878", "1.2.250.1.213.1.4.8", RESPONSIBLE))
    context = tlsclient.client_ssl_context(identity(sims.pki.auth), str(sims.ca_bundle))
    with tlsclient.make_session(context, str(sims.ca_bundle)) as session:
        reply = tlsclient.post(
            session, client.url, body, {"Content-Type": "application/soap+xml"}, tlsclient.HttpLimits(), "test"
        )
    with pytest.raises(DmpFaultError) as info:
        parse_td02_reply(reply.status_code, reply.content)
    assert info.value.code == code


H = "{urn:hl7-org:v3}"
SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"


def _sent(sims) -> etree._Element:
    return etree.fromstring(sims.dmp.received[-1].body)


def test_the_vihf_names_who_asks(make_dmp, sims) -> None:
    client = make_dmp()
    client.exists(parse_matricule("297022A02077878"), NIR, requester=DOCTOR)
    sent = _sent(sims)
    assert sent.find(f".//{SAML}NameID").text == "810000000001"
    client.exists(parse_matricule("297022A02077878"), NIR)  # no card: the person responsible
    sent = _sent(sims)
    assert sent.find(f".//{SAML}NameID").text == "3750000001/0042"
    assert sent.find(f".//{SAML}AuthnContextClassRef").text.endswith(":TLSClient")


def _valid(make_dmp, sims, profile: VihfProfile, who: Requester) -> None:
    make_dmp(profile=profile).exists(parse_matricule("297022A02077878"), NIR, requester=who)


@pytest.mark.parametrize(("rule", "profile", "who"), [
    ("R1", VihfProfile(**{**PROFILE.__dict__, "vihf_version": "2.0"}), SECRETARY),
    ("R2", VihfProfile(**{**PROFILE.__dict__, "structure_id": "750000001"}), SECRETARY),  # the bare FINESS
    ("R3", PROFILE, Requester("1750000001", "CH DE TEST")),  # the structure, not a person
    ("R3", PROFILE, Requester("750000001", "DURAND Sophie")),
], ids=["version", "structure FINESS", "NameID structure", "NameID FINESS"])
def test_simulator_refuses_a_vihf_that_breaks_a_rule_and_names_it(make_dmp, sims, rule, profile, who) -> None:
    with pytest.raises(DmpFaultError) as info:
        _valid(make_dmp, sims, profile, who)
    assert info.value.code == "VIHF_INVALIDE" and f"règle {rule}" in str(info.value)


@pytest.mark.parametrize(("rule", "mutate"), [
    ("R4", lambda b: b.replace(b' codeSystemName="TRE_A00-ProducteurDocNonPS"', b"", 1)),
    ("R4", lambda b: b.replace(b'codeSystem="1.2.250.1.213.1.1.4.6"', b'codeSystem="1.2.3"', 1)),
    ("R6", lambda b: b.replace(b' codeSystemName="mode acces VIHF 1.0"', b"", 1)),
    ("R7", lambda b: b.replace(b"ac:classes:SmartcardPKI", b"ac:classes:Password", 1)),
], ids=["role without codeSystemName", "role from another system", "purpose without codeSystemName", "authn"])
def test_simulator_checks_the_signed_roles_purpose_and_authn(sims, rule, mutate) -> None:
    # Mutating after signing would only show "signature invalide": build, mutate, then re-sign like a client would.
    signer = identity(sims.pki.signing)
    assertion = build_vihf(PROFILE, SECRETARY, signer, "297022A02077878", NIR)
    assertion.remove(assertion.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    assertion = etree.fromstring(mutate(etree.tostring(assertion)))
    assertion.insert(1, etree.Element("{http://www.w3.org/2000/09/xmldsig#}Signature", Id="placeholder"))
    signed = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    ).sign(assertion, key=signer.key, cert=[signer.cert], reference_uri="#" + assertion.get("ID"), id_attribute="ID")
    reply = DmpSimulator(str(sims.ca_bundle))(
        SimRequest("/si-dmp-server/v2/services/patients", "application/soap+xml", _envelope(signed), "INSI-AUTO")
    )
    with pytest.raises(DmpFaultError) as info:
        parse_td02_reply(reply.status, reply.body)
    assert f"règle {rule}" in str(info.value) and VIHF_RULES[rule] in str(info.value)


def _envelope(assertion: etree._Element) -> bytes:
    """A TD0.2 request around `assertion`, as the kiosk builds it."""
    query = build_query("297022A02077878", NIR, PROFILE.lps_id, PROFILE.lps_name)
    return (
        f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:wsa="{WSA}"><soap:Header>'
        '<wsa:Action soap:mustUnderstand="true">urn:hl7-org:v3:PRPA_IN201307UV02</wsa:Action>'
        '<wsa:MessageID>urn:uuid:1</wsa:MessageID><wsa:To>https://dmp/patients</wsa:To>'
        '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
        f"{etree.tostring(assertion).decode()}</wsse:Security></soap:Header><soap:Body>{etree.tostring(query).decode()}</soap:Body>"
        "</soap:Envelope>"
    ).encode()


def test_a_doctor_with_the_savoir_faire_role_is_accepted(make_dmp, sims) -> None:
    assert make_dmp().exists(parse_matricule("297022A02077878"), NIR, requester=DOCTOR).state is DmpState.AUTHORISED


def test_test_platform_patient_oid_is_a_setting(make_dmp, sims) -> None:
    make_dmp(patient_oid=PatientOid.TEST_NIR).exists(parse_matricule("297022A02077878"), NIR)
    sent = _sent(sims)
    value = sent.find(f".//{H}patientIdentifier/{H}value")
    assert value.get("root") == "1.2.250.1.213.1.4.10"
    resource = sent.find(f".//{SAML}Attribute[@Name='urn:oasis:names:tc:xacml:2.0:resource:resource-id']")
    assert "".join(resource.itertext()) == "297022A02077878^^^&1.2.250.1.213.1.4.10&ISO^NH"
    make_dmp().exists(parse_matricule("109076322088835"), "1.2.250.1.213.1.4.9")  # as received: the NIA's own OID
    assert _sent(sims).find(f".//{H}patientIdentifier/{H}value").get("root") == "1.2.250.1.213.1.4.9"


def test_the_registration_shape_gives_the_same_states(make_dmp, sims) -> None:
    sims.dmp_app.shape = "registration"
    try:
        for ins, state in [
            ("236066322083656", DmpState.CLOSED),
            ("297022A02077878", DmpState.AUTHORISED),
            ("179019912340002", DmpState.UNKNOWN),
        ]:
            assert make_dmp().exists(parse_matricule(ins), NIR).state is state
    finally:
        sims.dmp_app.shape = "production"
