"""What INSi answers, as the desk uses it: CR 00/01/02, the active INS, former INS, reference traits.

An INS whose key fails the mod-97 rule (the CNDA test data has some, e.g. HERMANN's key 60) is kept and
shown, flagged `key_consistent=False`: never silently dropped, never silently trusted. The pipeline does
not send such an INS to the DMP; the desk shows why.

An identity from INSi starts "récupérée": it only becomes "qualifiée" once staff record a high-trust ID
document check (RNIV). That is the desk workflow's job; `InsiIdentity.qualified()` is the one way there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from kiosk.domain.ins import InsKind, InsMatricule, InsOid
from kiosk.domain.privacy import mask_date, mask_name
from kiosk.domain.states import InsiCode, InsStatus

__all__ = [
    "CR_LABELS",
    "InsNumber",
    "InsiIdentity",
    "InsiResult",
    "InvalidTraitsError",
    "ReferenceTraits",
    "SearchAttempt",
    "Traits",
]


CR_LABELS = {
    InsiCode.FOUND: "identité trouvée",
    InsiCode.NOT_FOUND: "aucune identité trouvée",
    InsiCode.SEVERAL: "plusieurs identités trouvées",
}


@dataclass(frozen=True)
class InsNumber:
    """An INSACTIF or INSHISTO entry."""

    matricule: InsMatricule
    oid: str
    type_matricule: str = ""
    date_deb: str = ""
    date_fin: str = ""
    key_received: bool = True  # False: INSi sent no Cle (optional in its XSD), the key was computed

    @property
    def key_consistent(self) -> bool:
        return self.matricule.key_ok

    @property
    def kind(self) -> InsKind | None:
        """NIR or NIA from the OID (never the first digit); None for an OID the kiosk does not know."""
        try:
            return InsOid(self.oid).kind
        except ValueError:
            return None

    def as_dict(self, reveal: bool) -> dict[str, object]:
        return {
            "ins": self.matricule.value if reveal else self.matricule.masked,
            "oid": self.oid,
            "kind": self.kind.value if self.kind else "",
            "key_received": self.key_received,
            "key_consistent": self.key_consistent,
            "type": self.type_matricule,
            "date_deb": self.date_deb,
            "date_fin": self.date_fin,
        }


@dataclass(frozen=True)
class ReferenceTraits:
    """TIQ: the reference identity traits, to be shown and compared with the person at the desk."""

    nom_naissance: str
    prenom: str
    liste_prenom: str
    sexe: str
    date_naissance: str
    lieu_naissance: str

    def __repr__(self) -> str:
        return f"ReferenceTraits(nom={mask_name(self.nom_naissance)!r}, naissance={mask_date(self.date_naissance)!r})"

    def as_dict(self, reveal: bool) -> dict[str, object]:
        if reveal:
            return {
                "nom_naissance": self.nom_naissance, "prenom": self.prenom, "liste_prenom": self.liste_prenom,
                "sexe": self.sexe, "date_naissance": self.date_naissance, "lieu_naissance": self.lieu_naissance,
            }
        return {
            "nom_naissance": mask_name(self.nom_naissance),
            "sexe": self.sexe,
            "date_naissance": mask_date(self.date_naissance),
        }


@dataclass(frozen=True)
class InsiIdentity:
    active: InsNumber
    former: tuple[InsNumber, ...]
    traits: ReferenceTraits
    status: InsStatus = InsStatus.RECUPEREE

    @property
    def consistent(self) -> bool:
        """False when the active INS fails its key: shown with a warning, not sent on to the DMP."""
        return self.active.key_consistent

    def qualified(self) -> InsiIdentity:
        """After staff checked a high-trust ID document against `traits` (the desk workflow)."""
        return replace(self, status=InsStatus.QUALIFIEE)


@dataclass(frozen=True)
class SearchAttempt:
    """One call made by the first-name strategy: how many first names were sent, and what came back."""

    prenoms: int
    code: str


@dataclass(frozen=True)
class InsiResult:
    code: InsiCode
    label: str  # LibelleCR as sent by INSi
    identity: InsiIdentity | None = None  # only with CR 00
    message_id: str = ""
    attempts: tuple[SearchAttempt, ...] = field(default=(), compare=False)

    @property
    def found(self) -> bool:
        return self.code is InsiCode.FOUND

    def as_dict(self, reveal: bool = False) -> dict[str, object]:
        data: dict[str, object] = {"code_cr": self.code.value, "libelle": self.label, "resultat": CR_LABELS[self.code]}
        if self.identity:
            data.update(
                status=self.identity.status.value,
                consistent=self.identity.consistent,
                ins_actif=self.identity.active.as_dict(reveal),
                ins_historiques=[h.as_dict(reveal) for h in self.identity.former],
                traits=self.identity.traits.as_dict(reveal),
            )
        if self.attempts:
            data["essais"] = [{"prenoms": a.prenoms, "code_cr": a.code} for a in self.attempts]
        return data


class InvalidTraitsError(ValueError):
    """Traits typed at the desk that INSi would refuse; `reason` is French and safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LIEU = re.compile(r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$")


@dataclass(frozen=True)
class Traits:
    """Identity traits for `rechercherInsAvecTraitsIdentite`, checked before anything is sent."""

    nom_naissance: str
    prenoms: tuple[str, ...]
    sexe: str
    date_naissance: str
    lieu_naissance: str = ""

    def __post_init__(self) -> None:
        if not self.nom_naissance.strip():
            raise InvalidTraitsError("nom de naissance obligatoire")
        if self.sexe not in ("M", "F"):
            raise InvalidTraitsError("sexe : M ou F attendu")
        if not _DATE.match(self.date_naissance):
            raise InvalidTraitsError("date de naissance au format AAAA-MM-JJ attendue")
        if self.lieu_naissance and not _LIEU.match(self.lieu_naissance):
            raise InvalidTraitsError("lieu de naissance : code INSEE de 5 caractères attendu (ex. 63220, 2A020, 99100)")
        if any(not p.strip() for p in self.prenoms):
            raise InvalidTraitsError("prénom vide")
        if any(not c.isprintable() for c in self.nom_naissance + "".join(self.prenoms)):
            raise InvalidTraitsError("caractères non imprimables dans le nom ou les prénoms")

    @classmethod
    def from_desk(
        cls, nom: str, prenoms: list[str] | tuple[str, ...], sexe: str, naissance: str, lieu: str = ""
    ) -> Traits:
        """Normalise what staff typed: upper case, first names split on commas, 'JJ/MM/AAAA' accepted."""
        names = tuple(p.strip().upper() for value in prenoms for p in value.split(",") if p.strip())
        date = naissance.strip()
        french = re.match(r"^(\d{2})/(\d{2})/(\d{4})$", date)
        if french:
            date = f"{french.group(3)}-{french.group(2)}-{french.group(1)}"
        return cls(" ".join(nom.upper().split()), names, sexe.strip().upper(), date, lieu.strip().upper())

    def __repr__(self) -> str:
        return (f"Traits(nom={mask_name(self.nom_naissance)!r}, prenoms={len(self.prenoms)}, "
                f"naissance={mask_date(self.date_naissance)!r})")
