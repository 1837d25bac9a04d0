"""Which card is this, from its ATR alone (cards.md's table, checked against pcsc-tools' smartcard_list.txt).

The ATR tells the family only: CPS vs CPE vs CPF and real vs test Vitale come from the card's data. An ATR
that matches no known pattern is `UNKNOWN`, never guessed from a prefix.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["AtrInfo", "CardFamily", "CardKind", "classify", "parse_atr_hex"]


class CardKind(str, enum.Enum):
    VITALE = "vitale"
    CPX = "cpx"
    UNKNOWN = "unknown"


class CardFamily(str, enum.Enum):
    VITALE_1 = "Vitale 1"
    VITALE_2 = "Vitale 2"
    CPS3 = "CPS3"
    CPS3_CONTACTLESS = "CPS3 sans contact"
    CPS4 = "CPS4"
    UNKNOWN = "inconnue"

    @property
    def kind(self) -> CardKind:
        if self in (CardFamily.VITALE_1, CardFamily.VITALE_2):
            return CardKind.VITALE
        if self is CardFamily.UNKNOWN:
            return CardKind.UNKNOWN
        return CardKind.CPX


# Whole-ATR patterns over the uppercase hex string without spaces ("." = any nibble, [..] = one nibble of a set).
_PATTERNS: list[tuple[CardFamily, str]] = [
    (CardFamily.VITALE_2, "3B751300004[3-9A-C]09EA9000"),
    (CardFamily.VITALE_2, "3B751300004509FA9000"),
    (CardFamily.VITALE_1, "3F6525002[2C]09[F6]99000"),  # inverse convention (TS=3F)
    (CardFamily.VITALE_1, "3F65250052096A9000"),
    (CardFamily.VITALE_1, "3F652500A[34]096A9000"),
    (CardFamily.CPS3, "3BAC00402A001225006480000310009000"),
    (CardFamily.CPS3, "3BAC00402A001225006480820212009000"),
    (CardFamily.CPS3_CONTACTLESS, "3B8F80010031B86404B0ECC1739401808290000E"),
    (CardFamily.CPS4, "3B9B188001001225006480040100009044"),
    (CardFamily.CPS4, "3B9B188001001225006480000401009044"),  # RC
    (CardFamily.CPS4, "3BDC18FF00001225006480000401009000"),  # T=0 only
]
_COMPILED = [(family, re.compile(pattern)) for family, pattern in _PATTERNS]


@dataclass(frozen=True, slots=True)
class AtrInfo:
    atr: bytes
    family: CardFamily

    @property
    def kind(self) -> CardKind:
        return self.family.kind

    def as_dict(self) -> dict[str, str]:
        return {"atr": self.atr.hex(" ").upper(), "family": self.family.name, "label": self.family.value,
                "kind": self.kind.value}


def parse_atr_hex(text: str) -> bytes:
    """`"3B 75 13 00..."`, `"3B:75:13"` or `"3b7513..."` -> bytes; `ValueError` with a French reason otherwise."""
    cleaned = re.sub(r"[\s:]", "", text)
    if not cleaned or not re.fullmatch(r"[0-9A-Fa-f]+", cleaned) or len(cleaned) % 2:
        raise ValueError("ATR attendu en hexadécimal, un nombre pair de chiffres (ex. 3B 75 13 00 00 44 09 EA 90 00)")
    atr = bytes.fromhex(cleaned)
    if not 2 <= len(atr) <= 33:
        raise ValueError(f"un ATR fait de 2 à 33 octets, pas {len(atr)}")
    return atr


def classify(atr: bytes) -> AtrInfo:
    hexatr = atr.hex().upper()
    for family, pattern in _COMPILED:
        if pattern.fullmatch(hexatr):
            return AtrInfo(atr, family)
    return AtrInfo(atr, CardFamily.UNKNOWN)
