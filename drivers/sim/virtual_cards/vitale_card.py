"""A virtual Vitale 2 card laid out as `drivers.cards.vitale_layout` says (public facts and the project's
assumptions), so that the reader and the simulator can only agree through that one documented layout."""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.cards import vitale_layout as L
from drivers.sim.virtual_cards.iso import Df, Ef, IsoCard

__all__ = ["VITALE2_ATR", "VirtualVitale", "VitalePerson"]

VITALE2_ATR = bytes.fromhex("3B751300004409EA9000")


def tlv(tag: int, value: bytes) -> bytes:
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    n = len(value)
    length = bytes((n,)) if n < 0x80 else (b"\x81" + bytes((n,)) if n < 0x100 else b"\x82" + n.to_bytes(2, "big"))
    return tag_bytes + length + value


def _pointers() -> bytes:
    """EF 2001 ("pointers") in the shape cardpeek's vitale_2.lua reads: `E0 { A0 { 82 entry(2) ..(2) AID }... }
    then one `80` per file: 8-character name, entry (2), EF id (2)`. Which files a real card lists is not public
    (ASSUMPTION): this one lists the two data files by this project's names."""
    apps = tlv(0xA0, tlv(0x82, b"\x00\x01\x00\x00" + L.AID_MF_VITALE) + tlv(0x82, b"\x00\x02\x00\x00" + L.AID_VITALE))
    files = tlv(0x80, b"IDENTITE" + b"\x00\x01" + b"\x20\x02") + tlv(0x80, b"DROITS  " + b"\x00\x02" + b"\x20\x02")
    return tlv(0xE0, apps + files)


@dataclass(frozen=True)
class VitalePerson:
    nom: str
    prenom: str
    naissance: str  # as printed on the chip, lunar dates included
    qualite: str  # "00" insured, "06" child...
    rang: str = "1"
    nir: str = ""  # the person's own certified NIR, if any
    nom_naissance: str = ""
    pays: str = "FRA"


@dataclass
class VirtualVitale(IsoCard):
    """`card` holds the card-level fields by the names of `vitale_layout.CARD_FIELDS`."""

    persons: list[VitalePerson]
    card: dict[str, str] = field(default_factory=dict)
    atr: bytes = VITALE2_ATR
    label: str = "Vitale"

    def __post_init__(self) -> None:
        enc = lambda s: s.encode("utf-8")
        identity = b"".join(
            tlv(
                L.PERSON,
                tlv(L.NOM, enc(p.nom))
                + tlv(L.PRENOM, enc(p.prenom))
                + tlv(L.DATE_NAISSANCE, enc(p.naissance))
                + tlv(L.RANG, enc(p.rang))
                + tlv(L.QUALITE, enc(p.qualite))
                + (tlv(L.NOM_NAISSANCE, enc(p.nom_naissance)) if p.nom_naissance else b""),
            )
            for p in self.persons
        )
        by_name = {name: tag for tag, name in L.CARD_FIELDS.items()}
        rights = b"".join(
            tlv(L.PERSON, (tlv(L.NIR, enc(p.nir)) if p.nir else b"") + tlv(L.PAYS, enc(p.pays))) for p in self.persons
        ) + tlv(L.CARD, b"".join(tlv(by_name[k], enc(v)) for k, v in self.card.items()))
        self.mf = Df(0x3F00, aid=L.AID_MF_VITALE, children=[
            Ef(0x2002, identity, sfi=2),
            Df(0x2000, aid=L.AID_VITALE, children=[Ef(0x2001, _pointers()), Ef(0x2002, rights, sfi=2)]),
        ])
        super().__init__()

    def __repr__(self) -> str:
        return f"VirtualVitale({self.label!r}, {len(self.persons)} bénéficiaire(s))"
