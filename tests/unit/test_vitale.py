"""Vitale reading: the virtual cards through the parser, malformed answers, fuzzed answers (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.cards.vitale import parse_vitale, read_vitale
from drivers.errors import CardDataError
from drivers.sim import cards
from drivers.sim.vitale_card import VirtualVitale, VitalePerson
from tests.unit.cardchan import CardOnChannel


def test_family_card_every_beneficiary() -> None:
    data = read_vitale(CardOnChannel(cards.demo_vitale_family()))
    assert [(b.nom_usuel, b.prenom, b.qualite, b.rang_naissance) for b in data.beneficiaries] == [
        ("ADRTROIS", "DOMINIQUE", "00", "1"), ("ADRTROIS", "MICHEL", "02", "1"),
        ("ADRTROIS", "LÉO", "06", "1"), ("ADRTROIS", "LINA", "06", "2"),
    ]
    twins = data.beneficiaries[2:]
    assert twins[0].date_naissance == twins[1].date_naissance == "20210314"
    assert data.nir_ouvrant_droit == "297022A02077878"
    assert data.beneficiaries[0].nir == "297022A02077878"
    assert data.beneficiaries[1].nom_naissance == "BERNARD" and data.beneficiaries[1].nir == ""
    assert data.nature == "demo" and data.serial == "0012345678"


def test_only_the_needed_apdus() -> None:
    ch = CardOnChannel(cards.demo_vitale_family())
    data = read_vitale(ch)
    instructions = [a[1] for a in ch.sent]
    # SELECT MF (+GET RESPONSE), READ (+resend on 6Cxx), SELECT VITALE (+GET RESPONSE), READ (+resend)
    assert instructions == [0xA4, 0xC0, 0xB0, 0xB0, 0xA4, 0xC0, 0xB0, 0xB0]
    assert data.apdu_count == 8


def test_child_with_own_nir_and_cnda_identities() -> None:
    data = read_vitale(CardOnChannel(cards.demo_vitale_child()))
    child = data.beneficiaries[1]
    assert (child.nom_usuel, child.prenom, child.qualite) == ("ECETINSI", "PIERRE-ALAIN", "06")
    assert child.nir == "109076322083489" and data.nir_ouvrant_droit == "181036322045660"


def test_accents_lunar_and_test_card() -> None:
    accents = read_vitale(CardOnChannel(cards.demo_vitale_accents())).beneficiaries[1]
    assert (accents.nom_usuel, accents.prenom, accents.nom_naissance) == ("D'ALEMBERT-LÉVÊQUE", "MARIE-ÈVE", "LÉVÊQUE")
    lunar = read_vitale(CardOnChannel(cards.demo_vitale_lunar())).beneficiaries[0]
    assert lunar.date_naissance == "19650000"  # kept exactly as on the card
    assert read_vitale(CardOnChannel(cards.test_vitale())).nature == "test"


def test_large_file_is_read_in_chunks() -> None:
    persons = [VitalePerson("NOMBREUX", f"PRENOM{'X' * 20}", "20000101", "06", rang=str(i % 9 + 1)) for i in range(12)]
    persons[0] = VitalePerson("NOMBREUX", "PREMIER", "19700101", "00", nir="170017512345624")
    card = VirtualVitale(persons=persons, card={"nature": "D"})
    data = read_vitale(CardOnChannel(card))
    assert len(data.beneficiaries) == 12


def test_not_a_vitale_card() -> None:
    with pytest.raises(CardDataError, match="pas une carte Vitale"):
        read_vitale(CardOnChannel(cards.test_cps()))


def _answer(step: int, replacement: str):
    def mangle(n: int, apdu: bytes, response: bytes) -> bytes:
        return bytes.fromhex(replacement) if n == step else response
    return mangle


@pytest.mark.parametrize("step,answer,message", [
    (4, "6516800841445254524f4953810444" + "9000", "TLV tronqué"),  # identity file cut in the middle
    (4, "6A82", "6A82"),  # wrong status word on the read
    (4, "6581FF9000", "TLV tronqué"),  # length beyond the data
    (8, "650590034652419000", "nombre de bénéficiaires incohérent"),  # one NIR template for four persons
    (4, "DEADBEEF9000", "TLV"),  # garbage
    (3, "9000", "aucun bénéficiaire"),
])
def test_malformed_answers_give_clear_errors(step: int, answer: str, message: str) -> None:
    with pytest.raises(CardDataError, match=message) as info:
        read_vitale(CardOnChannel(cards.demo_vitale_family(), _answer(step, answer)))
    assert "ADRTROIS" not in str(info.value) and "2970" not in str(info.value)


def test_bad_nir_and_date() -> None:
    from drivers.sim.vitale_card import _tlv

    def ident(date: bytes) -> bytes:
        return _tlv(0x65, _tlv(0x80, b"A") + _tlv(0x81, b"B") + _tlv(0x82, date))

    rights = _tlv(0x65, _tlv(0x90, b"FRA"))
    with pytest.raises(CardDataError, match="date de naissance"):
        parse_vitale(ident(b"1997-02"), rights)
    with pytest.raises(CardDataError, match="NIR mal formé"):
        parse_vitale(ident(b"19970226"), _tlv(0x65, _tlv(0x93, b"29702XX")))
    with pytest.raises(CardDataError, match="contrôle"):
        parse_vitale(_tlv(0x65, _tlv(0x80, b"A\x07") + _tlv(0x81, b"B") + _tlv(0x82, b"19970226")), rights)
    with pytest.raises(CardDataError, match="prénom absent"):
        parse_vitale(_tlv(0x65, _tlv(0x80, b"A")), rights)
    assert parse_vitale(ident(b"19650000"), rights).beneficiaries[0].date_naissance == "19650000"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300))
def test_fuzzed_files_only_raise_card_data_error(identity: bytes, rights: bytes) -> None:
    try:
        parse_vitale(identity, rights)
    except CardDataError:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.integers(1, 8), st.binary(max_size=270), st.booleans())
def test_fuzzed_responses_only_raise_card_data_error(step: int, junk: bytes, keep_sw: bool) -> None:
    def mangle(n: int, apdu: bytes, response: bytes) -> bytes:
        if n != step:
            return response
        return junk + response[-2:] if keep_sw else junk or b"\x6f"  # empty = transport loss (ReaderError)
    try:
        read_vitale(CardOnChannel(cards.demo_vitale_family(), mangle))
    except CardDataError:
        pass
