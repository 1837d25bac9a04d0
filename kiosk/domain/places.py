"""Birthplaces for INSi by traits: a commune found by its current name, its postcode or its INSEE code.

The list is the official one (INSEE's Code officiel géographique, with La Poste's postcodes) as the npm
registry package `@etalab/decoupage-administratif` ships it (`data/communes.json`); `./run` installs it under
`.venv/share/kiosk/decoupage-administratif/` (the image the same way), `$KIOSK_COMMUNES_DIR` points elsewhere.
INSi wants the code in force at the birth date: a commune that has since merged, or a birth abroad (99xxx), is
typed as its INSEE code and kept as typed, marked "code saisi".
"""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["Birthplace", "Commune", "Edition", "PlaceError", "data_dir", "edition", "find_birthplace"]

PACKAGE = "@etalab/decoupage-administratif"
_CODE = re.compile(r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$")
_POSTCODE = re.compile(r"\b([0-9]{5})\b")
_KINDS = ("commune-actuelle", "arrondissement-municipal")  # what a birth is registered under today


class PlaceError(ValueError):
    """What was typed names no place, or several: `choices` lists them (name, department, code)."""

    def __init__(self, kind: str, typed: str, choices: tuple[str, ...] = ()) -> None:
        super().__init__(f"{kind}: {typed}")
        self.kind, self.typed, self.choices = kind, typed, choices  # kind: "unknown", "ambiguous", "missing"


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    department: str
    postcodes: tuple[str, ...]

    def label(self) -> str:
        return f"{self.name} ({self.department}, {self.code})"


@dataclass(frozen=True)
class Birthplace:
    code: str  # the INSEE code sent to INSi
    commune: Commune | None  # None when the code was typed and is not a current commune
    typed_code: bool  # a code that is no current commune (merged since, abroad): sent as typed, shown "code saisi"


@dataclass(frozen=True)
class Edition:
    package: str
    version: str
    date: str  # the data file's date in the package (the COG's edition year follows the package's version)
    communes: int


def data_dir() -> Path:
    env = os.environ.get("KIOSK_COMMUNES_DIR")
    if env:
        return Path(env)
    for base in (Path(sys.prefix) / "share" / "kiosk", Path("/usr/share/kiosk")):
        if (base / "decoupage-administratif" / "communes.json").exists():
            return base / "decoupage-administratif"
    return Path(sys.prefix) / "share" / "kiosk" / "decoupage-administratif"


def fold(text: str) -> str:
    """Names compared as people type them: no accents, no case, hyphens and apostrophes as spaces, ST = SAINT."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    words = re.sub(r"[-'’.\s]+", " ", plain).split()
    return " ".join({"ST": "SAINT", "STE": "SAINTE"}.get(w, w) for w in words)


@lru_cache(maxsize=2)
def _load(directory: str) -> tuple[dict[str, Commune], dict[str, list[Commune]], dict[str, list[Commune]]]:
    path = Path(directory) / "communes.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PlaceError("missing", str(path)) from e
    by_code: dict[str, Commune] = {}
    by_name: dict[str, list[Commune]] = {}
    by_post: dict[str, list[Commune]] = {}
    for row in rows:
        if row.get("type") not in _KINDS:
            continue
        commune = Commune(str(row["code"]), str(row["nom"]), str(row.get("departement", "")),
                          tuple(str(p) for p in row.get("codesPostaux", ())))
        by_code[commune.code] = commune
        by_name.setdefault(fold(commune.name), []).append(commune)
        for postcode in commune.postcodes:
            by_post.setdefault(postcode, []).append(commune)
    return by_code, by_name, by_post


def edition(directory: Path | None = None) -> Edition:
    """Which edition of the list is installed (for `kiosk doctor`); raises PlaceError("missing") without one."""
    base = directory or data_dir()
    by_code, _, _ = _load(str(base))
    try:
        meta = json.loads((base / "edition.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    return Edition(str(meta.get("package", PACKAGE)), str(meta.get("version", "?")), str(meta.get("date", "?")),
                   len(by_code))


def find_birthplace(typed: str, directory: Path | None = None) -> Birthplace:
    """"Clermont-Ferrand", "63000", "Saint-Denis 93200", "63113", "99100" -> the INSEE code INSi wants."""
    text = " ".join(typed.split())
    code = text.upper()
    if not text:
        raise PlaceError("unknown", typed)
    by_code, by_name, by_post = _load(str(directory or data_dir()))
    explicit = re.fullmatch(r"(?:INSEE|CODE)\s*:?\s*(\S{5})", code)  # "insee 63113": the code, not a postcode
    if explicit and _CODE.match(explicit.group(1)):
        code = explicit.group(1)
        found_code = by_code.get(code)
        return Birthplace(code, found_code, typed_code=found_code is None)
    if _CODE.match(code):
        as_code = by_code.get(code)
        as_post = [c for c in by_post.get(code, []) if c is not as_code]
        if as_code is not None and as_post:
            raise PlaceError("ambiguous", text, (f"code INSEE de {as_code.label()}",
                                                 *(f"code postal de {c.label()}" for c in as_post)))
        if as_code is not None:
            return Birthplace(code, as_code, typed_code=False)
        if len(as_post) == 1:
            return Birthplace(as_post[0].code, as_post[0], typed_code=False)
        if as_post:
            raise PlaceError("ambiguous", text, tuple(c.label() for c in as_post))
        return Birthplace(code, None, typed_code=True)  # merged since, or abroad (99xxx): INSi knows it
    postcode = _POSTCODE.search(text)
    department = re.search(r"\((\w{2,3})\)", text)  # "Saint-Denis (974)"
    name = fold(re.sub(r"\(\w{2,3}\)", " ", _POSTCODE.sub(" ", text)))
    found = by_name.get(name, [])
    if postcode:
        found = [c for c in found if postcode.group(1) in c.postcodes or c.department == postcode.group(1)[:2]]
    if department:
        found = [c for c in found if c.department == department.group(1).upper()]
    if len(found) == 1:
        return Birthplace(found[0].code, found[0], typed_code=False)
    if found:
        raise PlaceError("ambiguous", text, tuple(f"{c.label()}, {'/'.join(c.postcodes[:2])}" for c in found[:8]))
    raise PlaceError("unknown", text)
