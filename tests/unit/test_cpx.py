"""CPx reading on the virtual cards: serial and Luhn digit, holder shapes (CPS, CPE, "carte de service", old
GIP-CPS, unknown), PIN reference from the AODF, usage counter, CPS4 command set, contactless CPS3, bad data."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.cards import cpx_layout as L
from drivers.cards.cpx import (
    CpxCardType,
    parse_certificate,
    parse_sn_icc,
    pin_state,
    pin_tries,
    read_cpx,
    verify_pin,
)
from drivers.errors import CardDataError
from drivers.sim.pki import CARD_VALIDITY, Holder, Usage, card_authority
from drivers.sim.virtual_cards import catalogue as cards
from drivers.sim.virtual_cards.cpx_card import CPS4_ATRS, VirtualCpx
from tests.unit.cardchan import CardOnChannel

PUBLIC_SN_ICC = bytes.fromhex("5A0A80250000019921384 50F".replace(" ", ""))  # OpenSC issue #2275, a real CPS3


def test_sn_icc_of_a_real_cps3() -> None:
    sn = parse_sn_icc(PUBLIC_SN_ICC)
    assert (sn.serial, sn.pan, sn.check_ok) == ("99213845", "8025000001992138450", True)
    assert L.encode_pan("99213845") == PUBLIC_SN_ICC  # the virtual cards write their serials the same way


def test_wrong_luhn_digit_is_said_not_refused(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    card = VirtualCpx(Holder("810101234567", "MEDECIN", "PAUL", "Médecin"), serial="00000042", bad_luhn=True)
    data = read_cpx(CardOnChannel(card))
    assert data.serial == "00000042" and not data.serial_check_ok and data.card_type is CpxCardType.CPS
    assert "Luhn" in caplog.text
    assert not parse_sn_icc(bytes.fromhex("5A0A802500000199213845 1F".replace(" ", ""))).check_ok


def test_cps_doctor() -> None:
    ch = CardOnChannel(cards.test_cps())
    data = read_cpx(ch)
    assert (data.serial, data.idnat, data.surname, data.given_name) == ("00000042", "810101234567", "MEDECIN", "PAUL")
    assert data.profession == "Médecin" and data.profession_code == "10" and data.card_type == "CPS"
    assert data.idnat_kind == "RPPS" and data.serial_check_ok and data.pin_reference == 0x01
    assert data.test_pki and "TEST AC IGC-SANTE FORT PERSONNES" in data.issuer
    assert data.not_before < dt.datetime(2026, 6, 1, tzinfo=dt.UTC) < data.not_after
    assert ch.sent[0] == bytes.fromhex("00A4090404 3F00D003".replace(" ", ""))  # as the official library selects it
    assert data.apdu_count == len(ch.sent)


def test_cpe_receptionist_and_cpf() -> None:
    cpe = read_cpx(CardOnChannel(cards.demo_cpe()))
    assert cpe.card_type is CpxCardType.CPE and cpe.idnat == "3760021832/000000018"
    assert (cpe.organisation, cpe.organisation_id, cpe.display_name) == (
        "CH DE DEMONSTRATION",
        "1760021832",
        "Claire ACCUEIL",
    )
    assert read_cpx(CardOnChannel(cards.test_cpf())).card_type is CpxCardType.CPF


def test_carte_de_service_gives_pseudonym_idnat_and_a_working_pin() -> None:
    ch = CardOnChannel(cards.demo_cpe_service())
    data = read_cpx(ch)
    assert (data.surname, data.given_name, data.pseudonym) == ("", "", "EMPLOYE000000027")
    assert data.display_name == "EMPLOYE000000027" and data.idnat == "3760021832/000000027"
    assert data.card_type is CpxCardType.CPE and data.profession == "Carte de service santé ou social"
    assert not verify_pin(ch, "0000", data.pin_reference).ok and verify_pin(ch, "1234", data.pin_reference).ok


def test_old_gip_cps_subject_gives_its_profession() -> None:
    data = read_cpx(CardOnChannel(cards.test_cps_gip()))
    assert (data.profession, data.profession_code, data.organisation_id) == ("Masseur-Kinésithérapeute", "70", "")
    assert data.card_type is CpxCardType.CPS


def _certificate(*rdns: list[x509.NameAttribute]) -> bytes:
    subject = x509.Name([x509.RelativeDistinguishedName(r) for r in rdns])
    _, cert = card_authority().issue(subject, usage=Usage.CARD, validity=CARD_VALIDITY)
    return cert.public_bytes(serialization.Encoding.DER)


def _attr(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute:
    return x509.NameAttribute(oid, value)


@pytest.mark.parametrize("rdns", [
    # an RPPS holder with a structure: a CPS? a CPE? the certificate does not say
    [[_attr(NameOID.ORGANIZATION_NAME, "CH X")], [_attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "1760021832")],
     [_attr(NameOID.TITLE, "Médecin")], [_attr(NameOID.COMMON_NAME, "810101234567"), _attr(NameOID.SURNAME, "A")]],
    # a structure IdNat without any structure in the subject
    [[_attr(NameOID.TITLE, "Secrétaire")], [_attr(NameOID.COMMON_NAME, "3760021832/1"), _attr(NameOID.SURNAME, "B")]],
    # old GIP-CPS subject with an unknown prefix
    [[_attr(NameOID.ORGANIZATION_NAME, "TEST")], [_attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "Masseur-Kinésithérapeute")],
     [_attr(NameOID.COMMON_NAME, "999"), _attr(NameOID.SURNAME, "C")]],
])
def test_unclassifiable_subject_is_unknown_never_cpe(rdns: list[list[x509.NameAttribute]]) -> None:
    fields = parse_certificate(_certificate(*rdns))
    assert fields["card_type"] is CpxCardType.UNKNOWN
    assert CpxCardType.UNKNOWN.label == "type de carte inconnu"


def test_subject_without_name_nor_pseudonym_is_refused() -> None:
    with pytest.raises(CardDataError, match="pseudonyme"):
        parse_certificate(_certificate([_attr(NameOID.COMMON_NAME, "810101234567")]))


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


def test_pin_reference_comes_from_the_aodf() -> None:
    card = VirtualCpx(Holder("810101234567", "MEDECIN", "PAUL", "Médecin"), serial="00000042", pin_reference=0x05)
    ch = CardOnChannel(card)
    data = read_cpx(ch)
    assert data.pin_reference == 0x05
    assert pin_tries(ch, 0x05) == (3, 3) and verify_pin(ch, "1234", 0x05).ok
    assert verify_pin(ch, "1234").ok  # without a reference: found in the AODF again
    assert all(a[3] == 0x05 for a in ch.sent if a[1] == 0x20)


def test_spent_usage_counter_blocks_before_any_verify() -> None:
    card = VirtualCpx(Holder("810101234567", "MEDECIN", "PAUL", "Médecin"), serial="00000042", usage_left=0)
    ch = CardOnChannel(card)
    state = pin_state(ch, 0x01)
    assert (state.max_tries, state.tries_left, state.usage_left, state.blocked) == (3, 0, 0, True)
    assert "utilisations" in state.message()
    assert not any(a[1] == 0x20 for a in ch.sent)  # nothing was presented to the card
    fresh = pin_state(CardOnChannel(VirtualCpx(Holder("8101", "A", "B", "Médecin"), serial="00000001",
                                               usage_left=500)), 0x01)
    assert (fresh.tries_left, fresh.usage_left) == (3, 500)


@pytest.mark.parametrize("atr_kind", sorted(CPS4_ATRS))
def test_cps4_command_set(atr_kind: str) -> None:
    ch = CardOnChannel(cards.demo_cps4(atr_kind))
    data = read_cpx(ch)
    assert (data.family.name, data.card_type, data.serial, data.display_name) == (
        "CPS4",
        "CPE",
        "00000036",
        "Sophie ACCUEIL",
    )
    assert data.pin_reference == 0x81  # not 01: taken from the AODF
    assert ch.sent[0] == L.CPS4_SELECT_CHIPDOC
    assert ch.sent[1] == bytes.fromhex("01A4080002D003")  # a path without 3F00, FCI asked: the size from tag 80
    assert all(a[0] == 0x01 for a in ch.sent)
    assert pin_state(ch, 0x81).tries_left == 3
    verify_count = sum(1 for a in ch.sent if a[1] == 0x20 and len(a) == 4)
    assert verify_count == 1  # the counter: an empty VERIFY
    assert not verify_pin(ch, "0000", 0x81).ok and pin_state(ch, 0x81).tries_left == 2
    assert verify_pin(ch, "1234", 0x81).ok


def test_cps4_closed_channel_is_reopened() -> None:
    card = cards.demo_cps4()
    closed: list[int] = []

    def close_once(n: int, apdu: bytes, response: bytes) -> bytes:
        if apdu[1] == 0x20 and not closed:  # the channel closed under us (another application, a channel reset)
            closed.append(n)
            card.channel_open = False
            return bytes.fromhex("6881")
        return response

    ch = CardOnChannel(card, close_once)
    assert pin_state(ch, 0x81).tries_left == 3
    assert ch.sent == [L.CPS4_SELECT_CHIPDOC, bytes.fromhex("01200081"), L.CPS4_SELECT_CHIPDOC,
                       bytes.fromhex("01200081")]


def test_cps4_fallback_order_of_the_official_library() -> None:
    def refuse_first_chipdoc(n: int, apdu: bytes, response: bytes) -> bytes:
        return b"\x6a\x82" if n == 1 else response

    ch = CardOnChannel(cards.demo_cps4(), refuse_first_chipdoc)
    assert read_cpx(ch).serial == "00000036"
    assert ch.sent[:4] == [L.CPS4_SELECT_CHIPDOC, *L.CPS4_FALLBACK]


def test_contactless_cps3_reads_the_technical_certificate_and_offers_no_pin() -> None:
    card = cards.test_cps_contactless()
    ch = CardOnChannel(card)
    data = read_cpx(ch)
    assert data.contactless and data.family.name == "CPS3_CONTACTLESS" and data.pin_reference is None
    assert (data.idnat, data.display_name, data.card_type) == ("810101234567", "Paul MEDECIN", "CPS")
    with pytest.raises(CardDataError, match="pas de code porteur"):
        verify_pin(ch, "1234")


def _mangle_at(instruction: int, answer: bytes):
    def mangle(n: int, apdu: bytes, response: bytes) -> bytes:
        return answer if apdu[1] == instruction and apdu[2:4] == b"\x00\x00" else response
    return mangle


@pytest.mark.parametrize("answer,message", [
    (bytes.fromhex("5A0A80250000016A82"), "6A82"),
    (bytes.fromhex("5B0A802500000100000042 0F9000".replace(" ", "")), "5A 0A"),
    (bytes.fromhex("5A0A999900000100000042 0F9000".replace(" ", "")), "émetteur"),
    (bytes.fromhex("5A0A80259000"), "tronqué"),
])
def test_bad_serial(answer: bytes, message: str) -> None:
    with pytest.raises(CardDataError, match=message):
        read_cpx(CardOnChannel(cards.test_cps(), _mangle_at(0xB0, answer)))


def test_bad_certificate() -> None:
    with pytest.raises(CardDataError, match="X.509"):
        parse_certificate(b"\x30\x03\x02\x01\x00")
    ch = CardOnChannel(cards.test_cps())
    read_cpx(ch)
    cert_read = next(i for i, a in enumerate(ch.sent) if a[1] == 0xB0 and a[4] == 4) + 1
    with pytest.raises(CardDataError, match="pas un certificat"):
        read_cpx(CardOnChannel(cards.test_cps(), lambda n, a, r: b"\x04\x04ABCD\x90\x00" if n == cert_read else r))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.integers(1, 24), st.binary(max_size=260), st.booleans(), st.sampled_from(["cps", "cps4"]))
def test_fuzzed_responses_only_raise_card_data_error(step: int, junk: bytes, keep_sw: bool, kind: str) -> None:
    def mangle(n: int, apdu: bytes, response: bytes) -> bytes:
        return (
            (junk + response[-2:] if keep_sw else junk or b"\x6f") if n == step else response
        )  # empty = transport loss

    try:
        read_cpx(CardOnChannel(cards.make_card(kind), mangle))
    except CardDataError:
        pass
