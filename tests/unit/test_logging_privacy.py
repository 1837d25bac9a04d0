"""Patient data passed to logging at INFO and above reaches the output masked, never in clear."""

from __future__ import annotations

import io
import logging

import pytest

from kiosk.appliance.logsetup import setup_logging
from kiosk.domain.ins import parse_matricule
from kiosk.domain.patient import Beneficiary
from kiosk.domain.privacy import Sensitive, scrub

NIR = "297022A02077878"
NAME = "ADRTROIS"
FIRST = "DOMINIQUE"
BIRTH = "19970226"


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = setup_logging(2, stream=stream)  # DEBUG enabled, so the filter's level logic is what's tested
    yield stream
    logging.getLogger().removeHandler(handler)


def _assert_clean(text: str) -> None:
    for secret in (NIR, "297022A020778", NAME, FIRST, BIRTH, "1997-02-26", "26/02/1997"):
        assert secret not in text, f"{secret} leaked: {text!r}"


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL])
def test_patient_data_is_masked_above_debug(capture: io.StringIO, level: int) -> None:
    log = logging.getLogger("kiosk.test")
    b = Beneficiary(0, NAME, FIRST, BIRTH, nir_individuel=parse_matricule(NIR))
    log.log(
        level,
        "lecture %s %s né(e) le %s NIR %s",
        Sensitive.name(NAME),
        Sensitive.name(FIRST),
        Sensitive.date(BIRTH),
        parse_matricule(NIR),
    )
    log.log(level, "bénéficiaire %r", b)
    log.log(level, "plain strings by mistake: %s %s %s", NIR, "1997-02-26", "26/02/1997")
    log.log(level, "f-string by mistake: %s", f"{NIR[:13]} {NIR[13:]} {BIRTH}")
    out = capture.getvalue()
    _assert_clean(out)
    assert "2970...78" in out and "A." in out and "****-**-**" in out


def test_exception_text_is_scrubbed(capture: io.StringIO) -> None:
    try:
        raise ValueError(f"carte refusée pour {NIR} né le 1997-02-26")
    except ValueError:
        logging.getLogger("kiosk.test").exception("échec")
    _assert_clean(capture.getvalue())
    assert "ValueError" in capture.getvalue()


def test_debug_shows_clear_values_for_the_bench(capture: io.StringIO) -> None:
    logging.getLogger("kiosk.test").debug("nom %s", Sensitive.name(NAME))
    assert NAME in capture.getvalue()


def test_scrub_leaves_timestamps_and_counts_alone() -> None:
    text = "2026-11-22T04:50:00 lecture 3 bénéficiaires en 120 ms, port 35963"
    assert scrub(text) == text
