"""Patient data masking: the one place that decides what a log line or an error may show.

Two layers, because neither suffices alone:
- `Sensitive` wraps a value (a name, a birth date, a NIR) so that `str()` and `repr()` give the masked form;
  the logging filter reveals it only in DEBUG records.
- `scrub()` masks anything shaped like a NIR or a date in text that reaches a log above DEBUG, catching what
  was passed as a plain string by mistake.
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Sensitive", "mask_date", "mask_matricule", "mask_name", "scrub"]


def mask_matricule(value: str) -> str:
    """15 characters -> the first four, "...", the 2-digit key: enough for a technician to tell two cards apart,
    not to identify anyone."""
    v = "".join(value.split())
    if len(v) < 8:
        return "*" * len(v)
    if len(v) >= 15:
        return f"{v[:4]}...{v[-2:]}"
    return f"{v[:4]}..."


def mask_name(value: str) -> str:
    """`DUPONT` -> `D.`: initials only."""
    parts = [p for p in re.split(r"[\s\-']+", value.strip()) if p]
    return "-".join(p[0].upper() + "." for p in parts) if parts else ""


def mask_date(value: str) -> str:
    """Any date shape -> `****-**-**`. Nothing of a birth date is kept: with the initials it would narrow too much."""
    return "****-**-**" if value.strip() else ""


class Sensitive(Generic[T]):
    """A patient value that masks itself everywhere but on the desk screen (`.reveal()`)."""

    __slots__ = ("_masked", "_value")

    def __init__(self, value: T, masked: str) -> None:
        self._value = value
        self._masked = masked

    @staticmethod
    def name(value: str) -> Sensitive[str]:
        return Sensitive(value, mask_name(value))

    @staticmethod
    def date(value: str) -> Sensitive[str]:
        return Sensitive(value, mask_date(value))

    @staticmethod
    def matricule(value: str) -> Sensitive[str]:
        return Sensitive(value, mask_matricule(value))

    def reveal(self) -> T:
        return self._value

    def __str__(self) -> str:
        return self._masked

    def __repr__(self) -> str:
        return f"Sensitive({self._masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self._masked, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# 13 characters (digits, 2A/2B at 6-7) optionally followed by a 2-digit key, spaces allowed between groups.
_NIR = re.compile(
    r"(?<![0-9A-Za-z])[12378]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AaBb])\s?\d{3}\s?\d{3}(?:\s?\d{2})?(?![0-9A-Za-z])"
)
_DATES = [
    re.compile(r"(?<!\d)(?:19|20)\d{2}-\d{2}-\d{2}(?![\d:T])"),  # ISO date, not an ISO timestamp
    re.compile(r"(?<!\d)\d{2}/\d{2}/(?:19|20)\d{2}(?!\d)"),  # French date
    re.compile(r"(?<!\d)(?:19|20)\d{2}[01]\d[0-3]\d(?:0000)?(?!\d)"),  # card date YYYYMMDD[0000]
]


def scrub(text: str) -> str:
    """Mask NIR-shaped and date-shaped substrings."""
    text = _NIR.sub(lambda m: mask_matricule(m.group(0)), text)
    for pattern in _DATES:
        text = pattern.sub("****-**-**", text)
    return text
