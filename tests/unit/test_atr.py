"""ATR classification against pcsc-tools' smartcard_list.txt: every Vitale / CPx ATR named, everything else unknown."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from drivers.atr import CardFamily, CardKind, classify, parse_atr_hex

LIST = Path("/usr/share/pcsc/smartcard_list.txt")

# The corpus's Vitale and CPx entries (pattern as written in the file -> family).
EXPECTED = {
    "3B 75 13 00 00 43 09 EA 90 00": CardFamily.VITALE_2,
    "3B 75 13 00 00 44 09 EA 90 00": CardFamily.VITALE_2,
    "3B 75 13 00 00 45 09 EA 90 00": CardFamily.VITALE_2,
    "3B 75 13 00 00 45 09 FA 90 00": CardFamily.VITALE_2,
    "3B 75 13 00 00 46 09 EA 90 00": CardFamily.VITALE_2,
    "3B 75 13 00 00 47 09 EA 90 00": CardFamily.VITALE_2,
    "3B 75 13 00 00 48 09 EA 90 00": CardFamily.VITALE_2,
    "3B 75 13 00 00 49 09 EA 90 00": CardFamily.VITALE_2,
    "3F 65 25 00 2[2C] 09 [F6]9 90 00": CardFamily.VITALE_1,
    "3F 65 25 00 52 09 6A 90 00": CardFamily.VITALE_1,
    "3F 65 25 00 A[34] 09 6A 90 00": CardFamily.VITALE_1,
    "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00": CardFamily.CPS3,
    "3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00": CardFamily.CPS3,
    "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E": CardFamily.CPS3_CONTACTLESS,
}


def _entries() -> list[tuple[str, str]]:
    """(ATR pattern line, first description line) for every entry of the list."""
    lines = LIST.read_text(encoding="utf-8", errors="replace").splitlines()
    out = []
    for i, line in enumerate(lines):
        if re.match(r"^[0-9A-F]{2}( |$)", line):
            desc = lines[i + 1].strip() if i + 1 < len(lines) else ""
            out.append((line.strip(), desc))
    return out


def _expand(pattern: str, limit: int = 64) -> list[bytes]:
    """Concrete ATRs for a pattern: [..] sets expanded, '.' nibbles tried with a few values."""
    tokens = re.findall(r"\[[0-9A-F]+\]|[0-9A-F.]", pattern.replace(" ", ""))
    choices = [list(t[1:-1]) if t.startswith("[") else (["0", "5", "F"] if t == "." else [t]) for t in tokens]
    atrs = []
    for combo in itertools.islice(itertools.product(*choices), limit):
        text = "".join(combo)
        if len(text) % 2 == 0:
            atrs.append(bytes.fromhex(text))
    return atrs


needs_list = pytest.mark.skipif(not LIST.exists(), reason="pcsc-tools' smartcard_list.txt is not installed")


@needs_list
def test_every_vitale_and_cpx_atr_of_the_corpus_is_named() -> None:
    patterns = {p for p, _ in _entries()}
    assert set(EXPECTED) <= patterns, "the corpus changed: review EXPECTED"
    for pattern, family in EXPECTED.items():
        for atr in _expand(pattern):
            assert classify(atr).family is family, (pattern, atr.hex())


@needs_list
def test_every_other_atr_of_the_corpus_is_unknown() -> None:
    checked = 0
    for pattern, desc in _entries():
        if pattern in EXPECTED:
            continue
        for atr in _expand(pattern, limit=8):
            info = classify(atr)
            assert info.family is CardFamily.UNKNOWN, (pattern, desc, info.family)
            checked += 1
    assert checked > 1000


@needs_list
def test_corpus_descriptions_agree() -> None:
    """Entries whose description names a Vitale or CPS card are exactly the ones classified."""
    named = {p for p, d in _entries() if re.search(r"vitale|vitate|Professionn?el de Sant", d, re.IGNORECASE)}
    assert named <= set(EXPECTED)


@pytest.mark.parametrize("atr,family", [
    ("3B9B188001001225006480040100009044", CardFamily.CPS4),
    ("3B9B188001001225006480000401009044", CardFamily.CPS4),
    ("3BDC18FF00001225006480000401009000", CardFamily.CPS4),
    ("3B751300004C09EA9000", CardFamily.VITALE_2),
    ("3B751300004D09EA9000", CardFamily.UNKNOWN),
    ("3B751300004409EA90", CardFamily.UNKNOWN),  # truncated: never guessed from a prefix
])
def test_spec_table(atr: str, family: CardFamily) -> None:
    assert classify(bytes.fromhex(atr)).family is family


def test_kinds_and_parsing() -> None:
    assert classify(parse_atr_hex("3b:75:13:00:00:44:09:ea:90:00")).kind is CardKind.VITALE
    assert CardFamily.CPS4.kind is CardKind.CPX
    for bad in ("", "3B7", "zz", "3B"):
        with pytest.raises(ValueError):
            parse_atr_hex(bad)
