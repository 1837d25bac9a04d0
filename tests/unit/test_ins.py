"""INS matricules: the key rule, Corsica, shapes, and what an invalid one is told."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.ins import InsKind, InsOid, MatriculeError, compute_key, oids_allowed_in, parse_matricule

# The CNDA test identities of teleservices.md.
KNOWN = [
    ("297022A020778", "78", "F", "2A"),  # ADRTROIS DOMINIQUE, Corsica 2A
    ("180032B020401", "23", "M", "2B"),  # CORSE ANTHONY, Corsica 2B
    ("236066322083656", None, "F", "63"),
    ("109076322083489", None, "M", "63"),
]


@pytest.mark.parametrize("number,key,sex,dep", KNOWN)
def test_known_test_identities_are_valid(number: str, key: str | None, sex: str, dep: str) -> None:
    m = parse_matricule(number, key)
    assert m.key_ok and m.sex == sex and m.department == dep


def test_corsica_counts_as_19_and_18() -> None:
    assert compute_key("297022A020778") == 97 - int("2970219020778") % 97 == 78
    assert compute_key("180032B020401") == 97 - int("1800318020401") % 97 == 23


def test_hermann_key_60_is_flagged_not_fixed() -> None:
    with pytest.raises(MatriculeError) as e:
        parse_matricule("181036322045660")
    assert e.value.code == "key"
    lenient = parse_matricule("181036322045660", strict=False)
    assert not lenient.key_ok and lenient.key == "60" and compute_key(lenient.number) == 76


@pytest.mark.parametrize(
    "text,code",
    [
        ("29702", "length"),
        ("2970X2A02077878", "characters"),
        ("297022C02077878", "characters"),
        ("597022A02077878", "sex"),
        ("297152A02077878", "month"),
        ("29702000207787 8", "department"),
    ],
)
def test_invalid_matricules_say_why(text: str, code: str) -> None:
    with pytest.raises(MatriculeError) as e:
        parse_matricule(text)
    assert e.value.code == code
    assert "2A020" not in str(e.value)  # the reason never carries the matricule in clear


def test_nia_and_overseas() -> None:
    nia = parse_matricule(_with_key("7850599123456"))
    assert nia.born_abroad and InsOid.NIA.kind is InsKind.NIA and InsOid.TEST.kind is InsKind.NIR
    dom = parse_matricule(_with_key("1850597112345"))
    assert dom.department == "971"


def test_str_and_repr_are_masked() -> None:
    m = parse_matricule("297022A02077878")
    assert str(m) == "2970...78" and "2A020" not in repr(m) and f"{m}" == "2970...78"
    assert m.value == "297022A02077878"


def test_oids_by_environment() -> None:
    assert InsOid.TEST not in oids_allowed_in("prod") and InsOid.DEMO not in oids_allowed_in("prod")
    assert InsOid.TEST in oids_allowed_in("test") and InsOid.DEMO not in oids_allowed_in("test")
    assert InsOid.parse(" 1.2.250.1.213.1.4.8 ") is InsOid.NIR
    with pytest.raises(MatriculeError):
        InsOid.parse("1.2.3")


def _with_key(number: str) -> str:
    return f"{number}{compute_key(number):02d}"


numbers = st.builds(
    lambda sex, yy, mm, dep, rest: f"{sex}{yy:02d}{mm:02d}{dep}{rest:06d}",
    st.sampled_from("1278"),
    st.integers(0, 99),
    st.integers(1, 12),
    st.one_of(st.sampled_from(["2A", "2B", "99", "97"]), st.integers(1, 95).map(lambda d: f"{d:02d}")),
    st.integers(0, 999_999),
)


@given(numbers)
def test_computed_key_always_validates(number: str) -> None:
    m = parse_matricule(_with_key(number))
    assert m.key_ok and 1 <= int(m.key) <= 97


@given(numbers, st.integers(0, 98))
def test_any_other_key_is_refused(number: str, key: int) -> None:
    if key == compute_key(number):
        key = (key + 1) % 97
    with pytest.raises(MatriculeError):
        parse_matricule(f"{number}{key:02d}")


@given(numbers, st.data())
def test_single_digit_errors_are_caught(number: str, data: st.DataObject) -> None:
    full = _with_key(number)
    positions = [i for i in range(13) if full[i].isdigit() and i not in (0, 3, 4, 5, 6)]
    i = data.draw(st.sampled_from(positions))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != full[i]]))
    altered = full[:i] + new + full[i + 1 :]
    assert not parse_matricule(altered, strict=False).key_ok
