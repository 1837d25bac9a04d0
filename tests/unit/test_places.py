"""Birthplaces typed as receptionists type them: the current commune name, a postcode, or the INSEE code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.desk import DeskStateError
from kiosk.domain.places import PlaceError, data_dir, edition, find_birthplace
from ui.screens.traits import parse_traits

# Rows shaped as @etalab/decoupage-administratif's data/communes.json has them (fields used by kiosk.domain.places).
SAMPLE = [
    {
        "code": "63113",
        "nom": "Clermont-Ferrand",
        "departement": "63",
        "type": "commune-actuelle",
        "codesPostaux": ["63000", "63100"],
    },
    {"code": "63279", "nom": "Picherande", "departement": "63", "type": "commune-actuelle", "codesPostaux": ["63113"]},
    {
        "code": "93066",
        "nom": "Saint-Denis",
        "departement": "93",
        "type": "commune-actuelle",
        "codesPostaux": ["93200", "93210"],
    },
    {
        "code": "97411",
        "nom": "Saint-Denis",
        "departement": "974",
        "type": "commune-actuelle",
        "codesPostaux": ["97400"],
    },
    {"code": "2A004", "nom": "Ajaccio", "departement": "2A", "type": "commune-actuelle", "codesPostaux": ["20000"]},
    {"code": "49999", "nom": "Ancienne", "departement": "49", "type": "commune-deleguee", "codesPostaux": ["49000"]},
]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    (tmp_path / "communes.json").write_text(json.dumps(SAMPLE), encoding="utf-8")
    (tmp_path / "edition.json").write_text('{"version": "6.0.0", "date": "2026-03-09"}')
    return tmp_path


def test_name_postcode_code_and_code_saisi(sample: Path) -> None:
    assert find_birthplace("clermont ferrand", sample).code == "63113"
    assert find_birthplace("63000", sample).code == "63113"  # a postcode
    assert find_birthplace("St-Denis 93200", sample).code == "93066"
    assert find_birthplace("Saint Denis (974)", sample).code == "97411"
    assert find_birthplace("2a004", sample).commune.name == "Ajaccio"
    abroad = find_birthplace("99100", sample)  # born abroad: no commune, the code as typed
    assert abroad.code == "99100" and abroad.commune is None and abroad.typed_code
    merged = find_birthplace("49999", sample)  # a commune déléguée (merged since): the code in force at birth
    assert merged.code == "49999" and merged.typed_code
    assert find_birthplace("INSEE 63113", sample).code == "63113"


def test_ambiguous_and_unknown_are_said_never_guessed(sample: Path) -> None:
    with pytest.raises(PlaceError) as homonyms:
        find_birthplace("Saint-Denis", sample)
    assert homonyms.value.kind == "ambiguous" and len(homonyms.value.choices) == 2
    with pytest.raises(PlaceError) as both:  # the INSEE code of one commune is the postcode of another
        find_birthplace("63113", sample)
    assert both.value.kind == "ambiguous"
    with pytest.raises(PlaceError) as nowhere:
        find_birthplace("Nulle-Part", sample)
    assert nowhere.value.kind == "unknown"
    assert edition(sample).communes == 5 and edition(sample).date == "2026-03-09"


@pytest.mark.skipif(
    not (data_dir() / "communes.json").exists(), reason="list of communes not installed (./run fetches it with npm)"
)
def test_the_installed_official_list() -> None:
    found = edition()
    assert found.communes > 34000 and found.version != "?"
    assert find_birthplace("Clermont-Ferrand").code == "63113" and find_birthplace("Paris").code == "75056"
    values = {"nom": "Houilles", "prenoms": "Pierre", "sexe": "M", "naissance": "27 01 1993", "lieu": "63000"}
    assert parse_traits(values).lieu_naissance == "63113"
    with pytest.raises(DeskStateError, match="traits_place_ambiguous"):
        parse_traits({**values, "lieu": "Saint-Denis"})
