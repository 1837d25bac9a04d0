"""TD0.2: the PRPA_IN201307UV02 query, and PRPA_IN201308UV02 answers mapped to the desk's DMP states."""

from __future__ import annotations

import pytest

from kiosk.errors import TeleserviceError
from kiosk.sim.dmp_server import SHAPES, answer_bytes
from kiosk.teleservices.dmp.td02 import AUTORISATION, DmpFaultError, DmpState, Evidence, build_query, parse_td02_reply
from kiosk.teleservices.soapxml import SOAP12

H = {"h": "urn:hl7-org:v3"}


def test_query_carries_what_the_dmp_expects() -> None:
    q = build_query("297022A02077878", "1.2.250.1.213.1.4.8", "1.2.250.1.999.1.1", "KIOSK")
    assert q.tag == "{urn:hl7-org:v3}PRPA_IN201307UV02" and q.get("ITSVersion") == "XML_1.0"
    assert q.find("h:id", H).get("root") == "1.2.250.1.999.1.1" and q.find("h:id", H).get("extension")
    assert q.find("h:interactionId", H).attrib == {"root": "2.16.840.1.113883.1.6", "extension": "PRPA_IN201307UV02"}
    assert q.find("h:processingModeCode", H).get("code") == "T"
    assert q.find("h:acceptAckCode", H).get("code") == "AL"
    assert q.find("h:receiver/h:device/h:id", H).get("root") == "1.2.250.1.213.4.1.1.1"
    assert q.find("h:receiver/h:device/h:softwareName", H).text == "DMP"
    reason = q.find("h:controlActProcess/h:reasonCode", H)
    assert (reason.get("code"), reason.get("codeSystem")) == ("TEST_EXST", "1.2.250.1.213.1.1.4.11")
    assert reason.get("displayName") == "Test d'existence de dossier"  # as the ANS kit and DRIMbox send it
    query = q.find("h:controlActProcess/h:queryByParameter", H)
    assert query.find("h:statusCode", H).get("code") == "new"
    value = query.find("h:parameterList/h:patientIdentifier/h:value", H)
    assert (value.get("root"), value.get("extension")) == ("1.2.250.1.213.1.4.8", "297022A02077878")
    assert query.find("h:parameterList/h:patientIdentifier/h:semanticsText", H).text == "Patient.id"


def answer(state: str, shape: str = "production") -> bytes:
    return answer_bytes("297022A02077878", "1.2.250.1.213.1.4.8", DmpState(state), shape)


DESK_STATES = [s for s in DmpState if s is not DmpState.NO_INS]  # NO_INS: set by the desk, never answered


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("expected", DESK_STATES, ids=[s.value for s in DESK_STATES])
def test_every_state_the_desk_shows_in_both_answer_shapes(expected: DmpState, shape: str) -> None:
    status = parse_td02_reply(200, answer(expected.value, shape))
    assert status.state is expected
    assert status.label


def test_production_shape_puts_the_status_where_production_software_reads_it() -> None:
    production, registration = answer("closed", "production"), answer("closed", "registration")
    h = "{urn:hl7-org:v3}"
    from lxml import etree

    event = etree.fromstring(production).find(f".//{h}registrationEvent")
    assert (
        event.find(f"{h}statusCode") is None
        and event.find(f"{h}subject1/{h}patient/{h}statusCode").get("code") == "completed"
    )
    assert etree.fromstring(production).find(f".//{h}controlActProcess/{h}reasonOf") is not None
    event = etree.fromstring(registration).find(f".//{h}registrationEvent")
    assert event.find(f"{h}statusCode").get("code") == "completed" and event.find(f"{h}reasonOf") is not None


@pytest.mark.parametrize("shape", SHAPES)
def test_closed_carries_date_and_reason_from_either_place(shape: str) -> None:
    status = parse_td02_reply(200, answer("closed", shape))
    assert status.closed_on == "20230512" and "FERMETURE_PATIENT" in status.closed_reason
    assert "Fermeture à la demande du patient" in status.closed_reason
    assert "12/05/2023" in status.label


def test_statut_mt_is_read_from_its_boolean_value() -> None:
    assert parse_td02_reply(200, answer("authorised")).attending_doctor == "false"


def test_autorisation_table_marks_what_is_confirmed() -> None:
    confirmed = {code for code, (_, evidence) in AUTORISATION.items() if evidence is Evidence.CONFIRMED}
    assert confirmed == {"VALIDE", "INTERDIT"} and "INTERDITE" not in AUTORISATION
    assert AUTORISATION["INTERDIT"][0] is DmpState.BLOCKED


def test_unknown_codes_are_reported_as_such() -> None:
    status = parse_td02_reply(200, answer("unknown"))
    assert status.unknown_code == "statusCode=held" and "held" in status.label
    odd = answer("authorised").replace(b'code="VALIDE"', b'code="A_CONFIRMER"', 1)
    assert parse_td02_reply(200, odd).unknown_code == "AUTORISATION=A_CONFIRMER"
    odd = answer("not_created").replace(b'queryResponseCode code="NF"', b'queryResponseCode code="QE"')
    assert parse_td02_reply(200, odd).unknown_code == "queryResponseCode=QE"
    bare = answer("authorised").replace(b'<statusCode code="active"/>', b"", 1)
    assert parse_td02_reply(200, bare).unknown_code == "statusCode=absent"


def test_negative_acknowledgement_and_faults_are_errors() -> None:
    refused = (
        answer("authorised")
        .replace(b'typeCode="AA"', b'typeCode="AE"')
        .replace(b'code="DMPFound"', b'code="PatientInconnu"')
    )
    with pytest.raises(DmpFaultError, match="PatientInconnu"):
        parse_td02_reply(200, refused)
    fault = (
        f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value>'
        '<soap:Subcode><soap:Value xmlns:d="urn:dmp">d:VIHF_INVALIDE</soap:Value></soap:Subcode></soap:Code>'
        '<soap:Reason><soap:Text xml:lang="fr">VIHF '
        'refusé</soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>'
    ).encode()
    with pytest.raises(DmpFaultError, match="VIHF_INVALIDE"):
        parse_td02_reply(500, fault)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "HTTP 502"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "DOCTYPE"),
        (b"<soap:Envelope", "mal formée"),
        (
            f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><PRPA_IN201308UV02/></soap:Body>'
            "</soap:Envelope>".encode(),
            "PRPA_IN201308UV02",
        ),
    ],
)
def test_bad_answers_are_clear_errors(payload: bytes, message: str) -> None:
    with pytest.raises(TeleserviceError, match=message):
        parse_td02_reply(502 if b"html" in payload else 200, payload)
