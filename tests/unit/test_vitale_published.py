"""The command sequences the public Vitale readers send, played against the virtual Vitale cards: what works on a
real card for them must work on the simulator (the other public readers publish commands, not answers).

- ukinoki/Rufus `lecteurvitale.cpp`: SELECT MF `00A40000023F00`, READ BINARY SFI 2 `00B0820000`, SELECT VITALE
  `00A404000B D250000002564954414C45` (no Le), READ BINARY SFI 2: `65` templates, 80/81/82 then 93.
- L1L1/cardpeek `vitale_2.lua`: SELECT VITALE, select EF 2001 (P1=02), read it by 256-byte chunks, parse
  `E0 { A0 { 82 entry(2) ..(2) AID } 80 name(8) entry(2) EF(2) ... }`, then select each application and file.
"""

from __future__ import annotations

import pytest

from drivers.apdu import exchange
from drivers.cards import tlv
from drivers.cards import vitale_layout as L
from drivers.sim.virtual_cards import catalogue as cards
from tests.unit.cardchan import CardOnChannel


def _ok(ch: CardOnChannel, hexapdu: str) -> bytes:
    resp = exchange(ch, bytes.fromhex(hexapdu.replace(" ", "")))
    assert resp.ok, (hexapdu, resp.describe())
    return resp.data


def _read(ch: CardOnChannel) -> bytes:
    data, offset = b"", 0
    while True:  # cardpeek's read_bin: 256 bytes at a time until a shorter answer
        resp = exchange(ch, bytes((0x00, 0xB0, offset >> 8, offset & 0xFF, 0x00)))
        data += resp.data
        if len(resp.data) != 256 or not resp.ok:
            return data
        offset += 256


@pytest.mark.parametrize("profile", sorted(cards.VITALE_PROFILES))
def test_rufus_sequence(profile: str) -> None:
    card = cards.make_card("vitale", profile)
    ch = CardOnChannel(card)
    _ok(ch, "00A4000002 3F00")
    identity = tlv.parse(_ok(ch, "00B0820000"))
    _ok(ch, "00A404000B D250000002564954414C45")
    rights = tlv.parse(_ok(ch, "00B0820000"))
    persons = [o for o in identity if o.tag == 0x65]
    assert [tlv.find([p], 0x80).value.decode() for p in persons] == [p.nom for p in card.persons]  # type: ignore[attr-defined, union-attr]
    nirs = [tlv.find([p], 0x93) for p in rights if p.tag == 0x65]
    assert [n.value.decode() if n else "" for n in nirs] == [p.nir for p in card.persons]  # type: ignore[attr-defined]


def test_cardpeek_sequence() -> None:
    card = cards.demo_vitale_family()
    ch = CardOnChannel(card)
    _ok(ch, "00A404000B D250000002564954414C45 00")
    _ok(ch, "00A4020002 2001 00")
    (pointers,) = tlv.parse(_read(ch))
    assert pointers.tag == 0xE0
    apps = {o.value[:2]: o.value[4:] for o in pointers.children[0].children if o.tag == 0x82}
    files = [
        (o.value[:8].decode().strip(), o.value[8:10], o.value[10:12]) for o in pointers.children[1:] if o.tag == 0x80
    ]
    assert set(apps.values()) == {L.AID_MF_VITALE, L.AID_VITALE}
    names = []
    for name, entry, fid in files:
        aid = apps[entry]
        _ok(ch, f"00A40400{len(aid):02X}{aid.hex()}00")
        _ok(ch, f"00A4020002{fid.hex()}00")
        content = tlv.parse(_read(ch))
        names.append((name, len([o for o in content if o.tag == 0x65])))
    assert names == [("IDENTITE", 4), ("DROITS", 4)]
