"""The desk's one text catalogue: every code the desk passes around has its words, overrides apply, and no
screen compares display text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.config.schema_webps import DEFAULT_PAGES
from kiosk.desk import DmpState, IdDocument, InsiCode, InsStatus, Step
from kiosk.desk.events import EventKind, JournalAction, Problem, Reason
from kiosk.desk.texts import DEFAULT_TEXTS, Texts, is_text_id
from kiosk.teleservices.his.link import PendingState

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("prefix", "members"), [
    ("reason.", [m.value for m in Reason]),
    ("insi.", [m.value for m in InsiCode]),
    ("dmp.", [m.value for m in DmpState]),
    ("dmp.short.", [m.value for m in DmpState]),
    ("status.", [m.value for m in InsStatus]),
    ("step.", [m.value for m in Step]),
    ("document.", [m.name for m in IdDocument]),
    ("page.", list(DEFAULT_PAGES)),
    ("his.state.", [m.value for m in PendingState]),
])
def test_every_member_has_its_words(prefix, members) -> None:
    missing = [m for m in members if f"{prefix}{m}" not in DEFAULT_TEXTS]
    assert missing == []


def test_page_names_are_words_for_people() -> None:
    t = Texts()
    assert t.page("DossierPatient") == "Dossier du patient" and t.page("CarnetVaccination") == "Carnet de vaccination"
    assert t.page("PageDuSite") == "PageDuSite"  # a page a site added shows its name rather than nothing


def test_overrides_and_placeholders() -> None:
    t = Texts({"title": "Bienvenue", "reason.pin_wrong": "Mauvais code.", "page.DossierPatient": "Résumé DMP",
               "nope": "ignored"})
    assert t("title") == "Bienvenue" and t.reason(Reason.PIN_WRONG) == "Mauvais code."
    assert t.page("DossierPatient") == "Résumé DMP"
    assert is_text_id("page.Anything") and not is_text_id("nope")
    said = t.problem(Problem(Reason.SERVICE_DOWN, "HTTP 503", "DMP"))
    assert said.startswith("DMP ne répond pas (HTTP 503)") and "quelques minutes" in said
    assert "demandez au technicien" in t.reason(Reason.CERTIFICATE_REFUSED)
    assert "câble réseau" in t.reason(Reason.NETWORK_DOWN)
    assert "câble" not in t.reason(Reason.SERVICE_DOWN) and "câble" not in t.reason(Reason.CERTIFICATE_REFUSED)
    assert "identitovigilance" in t.reason(Reason.INS_KEY_INVALID)


def test_enums_have_distinct_stable_values() -> None:
    for enum in (EventKind, Reason, JournalAction):
        values = [m.value for m in enum]
        assert len(values) == len(set(values)) and all(re.fullmatch(r"[a-z_]+", v) for v in values)


def test_no_ui_code_compares_display_text() -> None:
    """Branches test codes, never French words (`ui/screens/pin.py` once compared `staff_message` strings)."""
    french = re.compile(r"""(==|!=|\bin\b)\s*\(?\s*["'][^"']*[àâçéèêëîïôûùü ][^"']*["']""")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "ui").rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1) if french.search(line)]
    assert offenders == []
