"""What the teleservices said about one beneficiary, in the desk's own words.

The desk never sees SOAP: the service layer maps the INSi / DMP clients' results onto these small frozen
types, so the state machine stays pure and the screens and the JSON journal share one vocabulary.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from kiosk.domain.ins import InsMatricule
from kiosk.domain.privacy import mask_date, mask_name
from kiosk.domain.states import DmpState, InsiCode, InsStatus  # defined once for clients, desk and UI; re-exported

__all__ = [
    "DmpOutcome",
    "DmpState",
    "FormerIns",
    "IdDocument",
    "InsStatus",
    "InsiCode",
    "InsiOutcome",
    "ReferenceTraits",
    "TraitDifference",
    "trait_differences",
]


class IdDocument(str, enum.Enum):
    """High-trust identity documents (RNIV): what staff may record having checked at the desk."""

    CNI = "carte nationale d'identité"
    PASSEPORT = "passeport"
    TITRE_SEJOUR = "titre de séjour"
    LIVRET_FAMILLE = "livret de famille (mineur, avec la pièce d'identité du représentant légal)"
    EXTRAIT_NAISSANCE = "extrait d'acte de naissance (mineur, avec la pièce d'identité du représentant légal)"


@dataclass(frozen=True)
class ReferenceTraits:
    """INSi's reference identity traits (TIQ)."""

    nom_naissance: str
    prenoms: tuple[str, ...]  # the whole list, first one first
    sexe: str
    date_naissance: str  # YYYY-MM-DD as INSi gives it (lunar dates possible)
    lieu_naissance: str  # INSEE code, 5 characters

    @property
    def premier_prenom(self) -> str:
        return self.prenoms[0] if self.prenoms else ""

    def __repr__(self) -> str:
        return f"ReferenceTraits(nom={mask_name(self.nom_naissance)!r}, naissance={mask_date(self.date_naissance)!r})"


@dataclass(frozen=True)
class FormerIns:
    matricule: InsMatricule
    oid: str


@dataclass(frozen=True)
class InsiOutcome:
    """One INSi answer. `ins` is set only with CR 00; a key that fails mod 97 is kept and flagged (`key_ok`)."""

    code: InsiCode
    label: str = ""
    ins: InsMatricule | None = None
    oid: str = ""
    former: tuple[FormerIns, ...] = ()
    traits: ReferenceTraits | None = None

    @property
    def found(self) -> bool:
        return self.code is InsiCode.FOUND and self.ins is not None

    @property
    def key_ok(self) -> bool:
        return self.ins is not None and self.ins.key_ok


@dataclass(frozen=True)
class DmpOutcome:
    state: DmpState
    detail: str = ""  # e.g. the closing date or the service's code, never patient data


@dataclass(frozen=True)
class TraitDifference:
    trait: str  # "nom de naissance", "prénom", "date de naissance", "sexe"
    card: str
    insi: str

    def __repr__(self) -> str:
        return f"TraitDifference({self.trait!r})"


def _fold(text: str) -> str:
    """Compare names as the RNIV does: accents, case, hyphens and apostrophes do not make a difference."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.upper().replace("-", " ").replace("'", " ").split())


def _card_date(value: str) -> str:
    digits = "".join(c for c in value if c.isdigit())[:8]
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}" if len(digits) == 8 else value


def trait_differences(
    card_birth_name: str, card_first_name: str, card_birth_date: str, card_sex: str, traits: ReferenceTraits
) -> tuple[TraitDifference, ...]:
    """Where the card's traits and INSi's reference traits disagree: the desk highlights these for staff."""
    out: list[TraitDifference] = []
    if card_birth_name and _fold(card_birth_name) != _fold(traits.nom_naissance):
        out.append(TraitDifference("nom de naissance", card_birth_name, traits.nom_naissance))
    folded = {_fold(p) for p in traits.prenoms} | {_fold(" ".join(traits.prenoms))}
    if card_first_name and _fold(card_first_name) not in folded:
        out.append(TraitDifference("prénom", card_first_name, " ".join(traits.prenoms)))
    if card_birth_date and _card_date(card_birth_date) != traits.date_naissance:
        out.append(TraitDifference("date de naissance", _card_date(card_birth_date), traits.date_naissance))
    if card_sex and traits.sexe and card_sex != traits.sexe:
        out.append(TraitDifference("sexe", card_sex, traits.sexe))
    return tuple(out)
