"""The DMP TD0.2 client against the DMP simulator (HTTPS, mutual TLS, VIHF signature checked server-side)."""

from __future__ import annotations

import pytest
from lxml import etree

from drivers.errors import CardSwappedError
from kiosk.dmp import DmpFaultError, DmpState
from kiosk.errors import TeleserviceError
from kiosk.guards import GuardError
from kiosk.ins import parse_matricule
from kiosk.sim.identities import DMP_STATES
from tests.support import pki as teleservice_fixtures

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
    assert header.find(f"{{{WSA}}}MessageID").text.startswith("uuid:")


def test_test_oid_accepted_outside_production(make_dmp) -> None:
    assert make_dmp().exists(parse_matricule("297022A02077878"), "1.2.250.1.213.1.4.10").state is DmpState.AUTHORISED


def test_vihf_signed_by_a_foreign_ca_is_refused_like_the_dmp_would(make_dmp, sims) -> None:
    with pytest.raises(DmpFaultError) as info:
        make_dmp(signer=sims.pki.extra["rogue"]).exists(parse_matricule("297022A02077878"), NIR)
    assert info.value.code == "VIHF_SIGNATURE_INVALIDE"


def test_vihf_for_another_patient_is_refused(make_dmp, sims, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_dmp()
    real = client.envelope
    monkeypatch.setattr(client, "envelope", lambda ins, oid: real(ins, oid).replace(b'extension="297022A02077878"', b'extension="180032B02040123"'))
    with pytest.raises(DmpFaultError, match="VIHF_INVALIDE"):
        client.exists(parse_matricule("297022A02077878"), NIR)


def test_tampered_vihf_is_refused(make_dmp, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_dmp()
    real = client.envelope
    monkeypatch.setattr(client, "envelope", lambda ins, oid: real(ins, oid).replace(b">KIOSK-TEST<", b">AUTRE-LOGICIEL<", 1))
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


@pytest.mark.parametrize(("scenario", "message"), [("fault", "DMP_INDISPONIBLE"), ("broken", "mal formée"), ("entities", "DOCTYPE")])
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
        (lambda b: b.replace(b' soap:mustUnderstand="true">urn:hl7-org:v3:PRPA_IN201307UV02', b">urn:hl7-org:v3:PRPA_IN201307UV02", 1), "ActionNotSupported"),
        (lambda b: b.replace(b"<wsa:MessageID>", b"<wsa:Other>").replace(b"</wsa:MessageID>", b"</wsa:Other>"), "MessageAddressingHeaderRequired"),
        (lambda b: b.replace(b"saml2:Assertion", b"saml2:Autre"), "VIHF_ABSENT"),
        (lambda b: b.replace(b'code="TEST_EXST"', b'code="AUTRE"'), "InvalidRequest"),
        (lambda b: b.replace(b"xml-exc-c14n#", b"xml-c14n11#"), "VIHF_INVALIDE"),
        (lambda b: b.replace(b"http://www.w3.org/2003/05/soap-envelope", b"http://schemas.xmlsoap.org/soap/envelope/"), "VersionMismatch"),
    ],
)
def test_simulator_refuses_what_the_dmp_refuses(make_dmp, sims, mutate, code: str) -> None:
    from kiosk import tlsclient
    from kiosk.dmp.td02 import parse_td02_reply
    from tests.support.pki import identity

    client = make_dmp()
    body = mutate(client.envelope("297022A02077878", "1.2.250.1.213.1.4.8"))
    context = tlsclient.client_ssl_context(identity(sims.pki.auth), str(sims.ca_bundle))
    with tlsclient.make_session(context, str(sims.ca_bundle)) as session:
        reply = tlsclient.post(session, client.url, body, {"Content-Type": "application/soap+xml"}, tlsclient.HttpLimits(), "test")
    with pytest.raises(DmpFaultError) as info:
        parse_td02_reply(reply.status_code, reply.content)
    assert info.value.code == code
