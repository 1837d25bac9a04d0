"""The patient side of the domain: beneficiaries read from a Vitale card, as the desk and INSi see them.

Field names follow SESAM-Vitale's "API Lecture" groups 101/104 (cards.md). `__repr__` is masked so a
stray log or traceback never carries a name, a birth date or a NIR.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kiosk.domain.ins import InsMatricule
from kiosk.domain.privacy import mask_date, mask_name

__all__ = ["QUALITES", "Beneficiary", "CardNature", "VitaleRead"]

QUALITES = {
    "00": "assuré",
    "01": "ascendant, descendant, collatéral",
    "02": "conjoint",
    "03": "conjoint divorcé",
    "04": "concubin",
    "05": "conjoint séparé",
    "06": "enfant",
    "07": "bénéficiaire hors art. 313",
    "08": "conjoint veuf",
    "09": "autre ayant droit",
}


class CardNature(str, enum.Enum):
    REAL = "real"
    TEST = "test"
    DEMO = "demo"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Beneficiary:
    index: int  # position on the card, to re-read the same person before a call
    nom_usuel: str
    prenom: str
    date_naissance: str  # exactly as on the card (lunar dates kept, e.g. "19930100")
    nom_naissance: str = ""  # birth name when the card carries one distinct from the usual name
    rang_naissance: str = ""  # birth rank, 1 digit or padded ("01")
    qualite: str = ""  # QUALITES code; "00" = the insured
    nir_individuel: InsMatricule | None = None  # the beneficiary's own certified NIR, when on the card
    nir_ouvrant_droit: InsMatricule | None = None  # the insured's NIR
    extra: dict[str, str] = field(default_factory=dict, compare=False)  # other card fields, kept for display
    doubtful: tuple[str, ...] = ()  # fields from an assumed card tag that did not parse: empty, to be checked

    @property
    def birth_name(self) -> str:
        return self.nom_naissance or self.nom_usuel

    @property
    def is_insured(self) -> bool:
        return self.qualite == "00"

    def __repr__(self) -> str:
        return (
            f"Beneficiary(index={self.index}, nom={mask_name(self.nom_usuel)!r}, prenom={mask_name(self.prenom)!r}, "
            f"naissance={mask_date(self.date_naissance)!r}, qualite={self.qualite!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class VitaleRead:
    """One reading of one Vitale card in one reader, tied to that insertion (`card_counter`)."""

    reader: str
    card_counter: int
    beneficiaries: tuple[Beneficiary, ...]
    nature: CardNature = CardNature.UNKNOWN
    serial: str = ""
    card_type: str = ""  # "Vitale 1" / "Vitale 2"
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    doubtful: tuple[str, ...] = ()  # card-level fields that did not parse ("carte.regime", "beneficiaires"...)

    def __repr__(self) -> str:
        return (
            f"VitaleRead(reader={self.reader!r}, counter={self.card_counter}, nature={self.nature.value}, "
            f"beneficiaries={len(self.beneficiaries)})"
        )
