"""Identity traits typed at the desk: normalised, refused before anything is sent when INSi would refuse them."""

from __future__ import annotations

import pytest

from kiosk.teleservices.insi.model import InvalidTraitsError, Traits


def test_desk_input_is_normalised() -> None:
    traits = Traits.from_desk(" ecetinsi ", ["pierre-alain", "jean, paul"], "m", "14/07/2009", "63220")
    assert traits == Traits("ECETINSI", ("PIERRE-ALAIN", "JEAN", "PAUL"), "M", "2009-07-14", "63220")
    assert Traits.from_desk("corse", [], "M", "1980-03-02", "2b020").lieu_naissance == "2B020"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("", ["A"], "M", "2000-01-01", ""), "nom"),
        (("X", ["A"], "H", "2000-01-01", ""), "sexe"),
        (("X", ["A"], "M", "2000/01/01", ""), "AAAA-MM-JJ"),
        (("X", ["A"], "M", "01-01-2000", ""), "AAAA-MM-JJ"),
        (("X", ["A"], "M", "2000-01-01", "6322"), "INSEE"),
        (("X", ["A"], "M", "2000-01-01", "2C020"), "INSEE"),
        (("X\x00Y", ["A"], "M", "2000-01-01", ""), "imprimables"),
        (("X", ["A\x1b[2J"], "M", "2000-01-01", ""), "imprimables"),
    ],
)
def test_bad_traits_are_refused_with_a_french_reason(args: tuple, reason: str) -> None:
    with pytest.raises(InvalidTraitsError, match=reason):
        Traits.from_desk(*args)


def test_repr_is_masked() -> None:
    traits = Traits.from_desk("ECETINSI", ["PIERRE-ALAIN"], "M", "2009-07-14")
    assert "ECETINSI" not in repr(traits) and "2009" not in repr(traits)
