"""Vitale reading: the virtual cards through the parser, malformed answers, fuzzed answers (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.cards.vitale import parse_vitale, read_vitale
from drivers.errors import CardDataError
from drivers.sim.virtual_cards import catalogue as cards
from drivers.sim.virtual_cards.catalogue import nir_with_key
from drivers.sim.virtual_cards.vitale_card import VirtualVitale, VitalePerson
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
    (4, "DEADBEEF9000", "TLV"),  # garbage
    (3, "9000", "aucun bénéficiaire"),
])
def test_malformed_answers_give_clear_errors(step: int, answer: str, message: str) -> None:
    with pytest.raises(CardDataError, match=message) as info:
        read_vitale(CardOnChannel(cards.demo_vitale_family(), _answer(step, answer)))
    assert "ADRTROIS" not in str(info.value) and "2970" not in str(info.value)


def test_bad_nir_and_date() -> None:
    from drivers.sim.virtual_cards.vitale_card import tlv

    def ident(date: bytes) -> bytes:
        return tlv(0x65, tlv(0x80, b"A") + tlv(0x81, b"B") + tlv(0x82, date))

    rights = tlv(0x65, tlv(0x90, b"FRA"))
    with pytest.raises(CardDataError, match="date de naissance"):
        parse_vitale(ident(b"1997-02"), rights)
    with pytest.raises(CardDataError, match="NIR mal formé"):
        parse_vitale(ident(b"19970226"), tlv(0x65, tlv(0x93, b"29702XX")))
    with pytest.raises(CardDataError, match="contrôle"):
        parse_vitale(tlv(0x65, tlv(0x80, b"A\x07") + tlv(0x81, b"B") + tlv(0x82, b"19970226")), rights)
    with pytest.raises(CardDataError, match="prénom absent"):
        parse_vitale(tlv(0x65, tlv(0x80, b"A")), rights)
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


def _ident(*fields: tuple[int, bytes]) -> bytes:
    from drivers.sim.virtual_cards.vitale_card import tlv

    return tlv(0x65, b"".join(tlv(t, v) for t, v in ((0x80, b"DUPONT"), (0x81, b"ANNE"), (0x82, b"19800101"), *fields)))


def _rights(nir: bytes = b"", card: bytes = b"") -> bytes:
    from drivers.sim.virtual_cards.vitale_card import tlv

    return tlv(0x65, (tlv(0x93, nir) if nir else b"") + tlv(0x90, b"FRA")) + card


NIR_OD = nir_with_key("2800175123456").encode()


@pytest.mark.parametrize("tag,value,field", [
    (0x83, b"X1", "rang_naissance"),  # rank not numeric
    (0x84, b"42", "qualite"),  # not a quality code
    (0x84, b"\x01\x02", "qualite"),  # control characters
    (0x85, b"B4D", "nom_naissance"),  # digits in a name
])
def test_doubtful_assumed_field_is_left_empty_and_flagged(tag: int, value: bytes, field: str) -> None:
    data = parse_vitale(_ident((tag, value)), _rights(NIR_OD))
    b = data.beneficiaries[0]
    assert getattr(b, field) == "" and b.doubtful == (field,)
    assert (b.nom_usuel, b.prenom, b.date_naissance) == ("DUPONT", "ANNE", "19800101")


def test_doubtful_card_template_never_loses_the_card() -> None:
    from drivers.sim.virtual_cards.vitale_card import tlv

    bad_field = tlv(0x66, tlv(0x80, b"20240101") + tlv(0x83, b"\x07\x07") + tlv(0x87, b"NOTANIR"))
    data = parse_vitale(_ident((0x84, b"00")), _rights(NIR_OD, bad_field))
    assert (
        set(data.doubtful) == {"carte.regime", "carte.nir_ouvrant_droit"} and data.card["debut_validite"] == "20240101"
    )
    assert data.nir_ouvrant_droit == NIR_OD.decode()
    broken = tlv(0x66, b"\x80\x09ABC")  # the template's content does not parse
    assert parse_vitale(_ident((0x84, b"00")), _rights(NIR_OD, broken)).doubtful == ("carte",)
    twice = tlv(0x66, tlv(0x80, b"1")) * 2
    assert parse_vitale(_ident((0x84, b"00")), _rights(NIR_OD, twice)).doubtful == ("carte",)


def test_unequal_template_counts_read_what_both_files_describe() -> None:
    identity = _ident((0x84, b"00")) + _ident((0x84, b"06")) + _ident((0x84, b"06"))
    data = parse_vitale(identity, _rights(NIR_OD))
    assert len(data.beneficiaries) == 1 and data.doubtful == ("beneficiaires",)
    rights = _rights(NIR_OD) * 3
    data = parse_vitale(_ident((0x84, b"00")), rights)
    assert len(data.beneficiaries) == 1 and data.doubtful == ("beneficiaires",)


def test_child_never_inherits_the_insured_nir() -> None:
    # quality unreadable: the NIR is shown as the insured's only, never as this person's own
    data = parse_vitale(_ident((0x84, b"??")), _rights(NIR_OD))
    b = data.beneficiaries[0]
    assert b.nir == "" and b.doubtful == ("qualite",) and data.nir_ouvrant_droit == NIR_OD.decode()
    # a child whose 93 is the insured's NIR has no NIR of its own
    identity = _ident((0x84, b"00")) + _ident((0x84, b"06"))
    data = parse_vitale(identity, _rights(NIR_OD) * 2)
    assert [b.nir for b in data.beneficiaries] == [NIR_OD.decode(), ""]
    # quality missing altogether (no 84): same rule
    data = parse_vitale(_ident() + _ident((0x84, b"06")), _rights(NIR_OD) * 2)
    assert [b.nir for b in data.beneficiaries] == ["", ""] and data.nir_ouvrant_droit == NIR_OD.decode()


def test_doubtful_fields_reach_the_kiosk_model_and_json() -> None:
    from kiosk.cli.commands.read_cmd import vitale_dict
    from kiosk.domain.card_reads import to_vitale_read

    data = parse_vitale(_ident((0x83, b"X"), (0x84, b"00")) + _ident((0x84, b"06")), _rights(NIR_OD) * 2)
    read = to_vitale_read(data, "patient", 1, bytes.fromhex("3B751300004409EA9000"))
    assert read.beneficiaries[0].doubtful == ("rang_naissance",)
    out = vitale_dict(read, reveal=False)
    assert out["beneficiaries"][0]["doubtful"] == ["rang_naissance"] and out["doubtful"] == []
