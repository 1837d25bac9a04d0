"""INS matricules (NIR and NIA) and the INS OIDs.

The matricule is the national health identifier's number part: 13 characters plus a 2-digit key. Parsing
never raises with the matricule in the message: errors name the rule that failed and, at most, the masked
form, because the text of an exception may end up in a log or on a technician's terminal.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from kiosk.domain.privacy import mask_matricule

__all__ = [
    "InsKind",
    "InsMatricule",
    "InsOid",
    "MatriculeError",
    "compute_key",
    "oids_allowed_in",
    "parse_matricule",
]

# Corsica's departments count as numbers in the key: 2A -> 19, 2B -> 18 (cards.md, NIR section).
_CORSICA_DIGITS = {"2A": "19", "2B": "18"}
_SHAPE = re.compile(r"^[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}$")


class MatriculeError(ValueError):
    """A matricule that breaks a rule. `reason` is a short French sentence safe to show anywhere."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class InsKind(str, enum.Enum):
    """NIR or NIA: decided by the INS OID INSi returned, never by the matricule's first digit.

    A CNDA answer (TEST_2.05) carries a NIA (OID .9) whose matricule starts with 1.
    """

    NIR = "NIR"  # registered in the national register
    NIA = "NIA"  # provisional number while registration is pending


class InsOid(str, enum.Enum):
    """OIDs carried as `typeINS` and in INSi / DMP messages."""

    NIR = "1.2.250.1.213.1.4.8"
    NIA = "1.2.250.1.213.1.4.9"
    TEST = "1.2.250.1.213.1.4.10"
    DEMO = "1.2.250.1.213.1.4.11"

    @property
    def kind(self) -> InsKind:
        """The test and demo OIDs stand for NIRs (teleservices.md); only .9 is a NIA."""
        return InsKind.NIA if self is InsOid.NIA else InsKind.NIR

    @classmethod
    def parse(cls, text: str) -> InsOid:
        try:
            return cls(text.strip())
        except ValueError:
            known = ", ".join(o.value for o in cls)
            raise MatriculeError(f"OID INS inconnu (attendu l'un de : {known})", "oid") from None


def oids_allowed_in(environment: str) -> frozenset[InsOid]:
    """Which INS OIDs may reach a teleservice or a Web PS page in an environment.

    The INSi test server answers with the production OIDs (.8) for its test identities, so the test
    environment accepts them; production never accepts test or demo OIDs.
    """
    if environment == "prod":
        return frozenset({InsOid.NIR, InsOid.NIA})
    if environment == "test":
        return frozenset({InsOid.NIR, InsOid.NIA, InsOid.TEST})
    return frozenset(InsOid)


def compute_key(number13: str) -> int:
    """Key = 97 - (the 13 characters read as a number, Corsica mapped) mod 97."""
    digits = number13[:5] + _CORSICA_DIGITS.get(number13[5:7], number13[5:7]) + number13[7:]
    return 97 - int(digits) % 97


@dataclass(frozen=True, slots=True)
class InsMatricule:
    """A syntactically valid matricule. `key_ok` is False for one whose key fails the mod-97 rule.

    Such matricules exist in INSi's own test data; they are kept (and flagged), never silently fixed or
    dropped. `parse_matricule(strict=True)`, the default, refuses them.
    """

    number: str  # 13 characters
    key: str  # 2 digits

    def __str__(self) -> str:  # never the clear value: str() lands in f-strings and logs
        return mask_matricule(self.value)

    def __repr__(self) -> str:
        return f"InsMatricule({mask_matricule(self.value)!r})"

    @property
    def value(self) -> str:
        """The 15 characters, in clear: for the desk screen and the teleservices only."""
        return self.number + self.key

    @property
    def masked(self) -> str:
        return mask_matricule(self.value)

    @property
    def key_ok(self) -> bool:
        return int(self.key) == compute_key(self.number)

    @property
    def sex(self) -> str:
        return "M" if self.number[0] in "17" else "F"

    @property
    def birth_year_2d(self) -> str:
        return self.number[1:3]

    @property
    def birth_month(self) -> str:
        return self.number[3:5]

    @property
    def birth_month_known(self) -> bool:
        return 1 <= int(self.birth_month) <= 12

    @property
    def department(self) -> str:
        """Birth department; 97x for overseas, 99 for born abroad."""
        dep = self.number[5:7]
        return self.number[5:8] if dep == "97" else dep

    @property
    def born_abroad(self) -> bool:
        return self.number[5:7] == "99"

    def describe(self) -> dict[str, object]:
        """What a technician may see about a matricule without seeing it (all derived, masked)."""
        return {
            "valid": self.key_ok,
            "sex": self.sex,
            "birth_year": self.birth_year_2d,
            "birth_month": self.birth_month,
            "birth_month_known": self.birth_month_known,
            "department": self.department,
            "masked": self.masked,
        }


def parse_matricule(text: str, key: str | None = None, *, strict: bool = True) -> InsMatricule:
    """Parse 15 characters (or 13 plus `key`). Spaces are ignored, letters upper-cased.

    With `strict=False` a wrong key is accepted (for INSi answers, see `InsMatricule.key_ok`).
    """
    raw = "".join(text.split()).upper()
    if key is not None:
        raw += "".join(key.split())
    if len(raw) != 15:
        raise MatriculeError(
            f"longueur {len(raw)} : un matricule INS a 15 caractères (13 + clé de 2 chiffres)", "length"
        )
    number, key2 = raw[:13], raw[13:]
    if not _SHAPE.match(number) or not key2.isdigit():
        raise MatriculeError(
            "caractères invalides : chiffres attendus, sauf 2A ou 2B (Corse) en positions 6-7", "characters"
        )
    if number[0] not in "1278":
        raise MatriculeError("premier caractère (sexe) invalide : attendu 1 ou 2 (NIR), 7 ou 8 (NIA)", "sex")
    month = int(number[3:5])
    # 01-12 real months; 20 and 30-42, 50-99 are used when the month is unknown (INSEE conventions).
    if not (1 <= month <= 12 or month == 20 or 30 <= month <= 42 or month >= 50):
        raise MatriculeError(f"mois de naissance impossible ({number[3:5]})", "month")
    if number[5:7] == "00":
        raise MatriculeError("département de naissance impossible (00)", "department")
    matricule = InsMatricule(number, key2)
    if strict and not matricule.key_ok:
        raise MatriculeError(f"clé incorrecte pour {matricule.masked} (la clé ne vérifie pas 97 - n mod 97)", "key")
    return matricule
