"""CPx reading on the virtual cards: serial, holder from the certificate, card type, PIN counter, bad data."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.cards.cpx import parse_certificate, pin_tries, read_cpx, verify_pin
from drivers.errors import CardDataError
from drivers.sim import cards
from tests.unit.cardchan import CardOnChannel


def test_cps_doctor() -> None:
    data = read_cpx(CardOnChannel(cards.test_cps()))
    assert (data.serial, data.idnat, data.surname, data.given_name) == ("0000000042", "810101234567", "MEDECIN", "PAUL")
    assert data.profession == "Médecin" and data.card_type == "CPS" and data.idnat_kind == "RPPS"
    assert data.test_pki and "TEST AC IGC-SANTE FORT PERSONNES" in data.issuer
    assert data.not_before < dt.datetime(2026, 6, 1, tzinfo=dt.UTC) < data.not_after


def test_cpe_receptionist_and_cpf() -> None:
    cpe = read_cpx(CardOnChannel(cards.demo_cpe()))
    assert cpe.card_type == "CPE" and cpe.idnat == "3760021832/000000018"
    assert (cpe.organisation, cpe.organisation_id) == ("CH DE DEMONSTRATION", "1760021832")
    assert read_cpx(CardOnChannel(cards.test_cpf())).card_type == "CPF"


def test_pin_tries_verify_and_block(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ch = CardOnChannel(cards.test_cps())
    assert pin_tries(ch) == (3, 3)
    wrong = verify_pin(ch, "0000")
    assert (wrong.ok, wrong.tries_left, wrong.blocked) == (False, 2, False)
    assert "2 essai(s)" in wrong.message()
    assert verify_pin(ch, "1234").ok and pin_tries(ch) == (3, 3)
    results = [verify_pin(ch, "9999") for _ in range(4)]
    assert [r.tries_left for r in results] == [2, 1, 0, 0] and results[-1].blocked
    assert not verify_pin(ch, "1234").ok  # blocked for good
    assert "1234" not in caplog.text and "9999" not in caplog.text
    with pytest.raises(ValueError):
        verify_pin(ch, "12a4")


def _mangle_at(instruction: int, answer: bytes):
    def mangle(n: int, apdu: bytes, response: bytes) -> bytes:
        return answer if apdu[1] == instruction and apdu[2:4] == b"\x00\x00" else response
    return mangle


@pytest.mark.parametrize("answer,message", [
    (bytes.fromhex("5A0A80250000016A82"), "6A82"),
    (bytes.fromhex("5B0A802500000100000000429000"), "5A 0A"),
    (bytes.fromhex("5A0A999900000100000000429000"), "émetteur"),
    (bytes.fromhex("5A0A80259000"), "tronqué"),
])
def test_bad_serial(answer: bytes, message: str) -> None:
    with pytest.raises(CardDataError, match=message):
        read_cpx(CardOnChannel(cards.test_cps(), _mangle_at(0xB0, answer)))


def test_bad_certificate() -> None:
    with pytest.raises(CardDataError, match="X.509"):
        parse_certificate(b"\x30\x03\x02\x01\x00")
    with pytest.raises(CardDataError, match="pas un certificat"):
        read_cpx(CardOnChannel(cards.test_cps(), lambda n, a, r: b"\x04\x04ABCD\x90\x00" if n == 8 else r))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.integers(1, 16), st.binary(max_size=260), st.booleans())
def test_fuzzed_responses_only_raise_card_data_error(step: int, junk: bytes, keep_sw: bool) -> None:
    def mangle(n: int, apdu: bytes, response: bytes) -> bytes:
        return (junk + response[-2:] if keep_sw else junk or b"\x6f") if n == step else response  # empty = transport loss
    try:
        read_cpx(CardOnChannel(cards.test_cps(), mangle))
    except CardDataError:
        pass
