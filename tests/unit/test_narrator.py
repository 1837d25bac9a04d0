"""The headless narrator speaks the catalogue's words: every sentence comes from a `narrate.*` id that a site
may override (`[ui] texts`), and no event kind makes it fail."""

from __future__ import annotations

import io

import pytest

from kiosk.desk import DeskView
from kiosk.desk.events import DeskEvent, EventKind, Problem, Reason
from kiosk.desk.texts import DEFAULT_TEXTS, Texts
from ui.narrator import Narrator

SAMPLE = {"card_type": "CPE", "tries_left": 3, "beneficiaries": 2, "shown": True, "candidates": 1,
          "status": "trouvé", "event": "A28", "control_id": "42", "ack": "AA", "page": "DossierPatient",
          "problem": Problem(Reason.SERVICE_DOWN, "délai")}


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_event_kind_is_told_or_silent_without_error(kind: EventKind) -> None:
    sentence = Narrator(io.StringIO()).sentence(DeskView(), DeskEvent(kind, dict(SAMPLE)))
    assert isinstance(sentence, str)
    assert "{" not in sentence  # every placeholder was filled


def test_the_sentences_are_the_catalogues_and_a_site_can_reword_them() -> None:
    narrated = [key for key in DEFAULT_TEXTS if key.startswith("narrate.")]
    assert len(narrated) > 15
    texts = Texts({"narrate.desk_opened": "Bonjour ({card_type})", "narrate.vitale_inserted": "Carte !"})
    narrator = Narrator(io.StringIO(), texts)
    assert narrator.sentence(DeskView(), DeskEvent(EventKind.DESK_OPENED, {"card_type": "CPS"})) == "Bonjour (CPS)"
    assert narrator.sentence(DeskView(), DeskEvent(EventKind.VITALE_INSERTED)) == "Carte !"


def test_a_vitale_read_while_locked_says_nothing_is_shown() -> None:
    narrator = Narrator(io.StringIO())
    event = DeskEvent(EventKind.VITALE_READ, {"beneficiaries": 2, "shown": False})
    assert narrator.sentence(DeskView(), event) == DEFAULT_TEXTS["narrate.vitale_read.locked"].format(count=2)
