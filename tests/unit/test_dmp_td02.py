"""TD0.2: the PRPA_IN201307UV02 query, and PRPA_IN201308UV02 answers mapped to the desk's DMP states."""

from __future__ import annotations

import pytest

from kiosk.dmp.td02 import DmpFaultError, DmpState, build_query, parse_td02_reply
from kiosk.errors import TeleserviceError
from kiosk.sim.dmp_server import DmpSimulator
from kiosk.soapxml import SOAP12

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
    query = q.find("h:controlActProcess/h:queryByParameter", H)
    assert query.find("h:statusCode", H).get("code") == "new"
    value = query.find("h:parameterList/h:patientIdentifier/h:value", H)
    assert (value.get("root"), value.get("extension")) == ("1.2.250.1.213.1.4.8", "297022A02077878")
    assert query.find("h:parameterList/h:patientIdentifier/h:semanticsText", H).text == "Patient.id"


def answer(state: str) -> bytes:
    return DmpSimulator._response("297022A02077878", "1.2.250.1.213.1.4.8", state)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("not_created", DmpState.NOT_CREATED),
        ("closed", DmpState.CLOSED),
        ("authorised", DmpState.AUTHORISED),
        ("not_authorised", DmpState.NOT_AUTHORISED),
        ("blocked", DmpState.BLOCKED),
        ("emergency_refused", DmpState.EMERGENCY_REFUSED),
        ("unknown", DmpState.UNKNOWN),
    ],
)
def test_every_state_the_desk_shows(state: str, expected: DmpState) -> None:
    status = parse_td02_reply(200, answer(state))
    assert status.state is expected
    assert status.label


def test_closed_carries_date_and_reason() -> None:
    status = parse_td02_reply(200, answer("closed"))
    assert status.closed_on == "20230512" and "FERMETURE_PATIENT" in status.closed_reason
    assert "12/05/2023" in status.label


def test_unknown_codes_are_reported_as_such() -> None:
    status = parse_td02_reply(200, answer("unknown"))
    assert status.unknown_code == "AUTORISATION=A_CONFIRMER" and "A_CONFIRMER" in status.label
    odd = answer("authorised").replace(b'<statusCode code="active"/>', b'<statusCode code="held"/>', 1)
    assert parse_td02_reply(200, odd).unknown_code == "statusCode=held"
    odd = answer("not_created").replace(b'queryResponseCode code="NF"', b'queryResponseCode code="QE"')
    assert parse_td02_reply(200, odd).unknown_code == "queryResponseCode=QE"


def test_negative_acknowledgement_and_faults_are_errors() -> None:
    refused = answer("authorised").replace(b'typeCode="AA"', b'typeCode="AE"').replace(b'code="DMPFound"', b'code="PatientInconnu"')
    with pytest.raises(DmpFaultError, match="PatientInconnu"):
        parse_td02_reply(200, refused)
    fault = (
        f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value>'
        '<soap:Subcode><soap:Value xmlns:d="urn:dmp">d:VIHF_INVALIDE</soap:Value></soap:Subcode></soap:Code>'
        '<soap:Reason><soap:Text xml:lang="fr">VIHF refusé</soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>'
    ).encode()
    with pytest.raises(DmpFaultError, match="VIHF_INVALIDE"):
        parse_td02_reply(500, fault)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "HTTP 502"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "DOCTYPE"),
        (b"<soap:Envelope", "mal formée"),
        (f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><PRPA_IN201308UV02/></soap:Body></soap:Envelope>'.encode(), "PRPA_IN201308UV02"),
    ],
)
def test_bad_answers_are_clear_errors(payload: bytes, message: str) -> None:
    with pytest.raises(TeleserviceError, match=message):
        parse_td02_reply(502 if b"html" in payload else 200, payload)
