"""The hospital system on the Textual desk (pilot, demo world): candidates in the detail panel, pick, send."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from kiosk.appliance.service.demo import DemoWorld
from kiosk.desk import Step
from tests.integration.test_ui_desk import make_app, open_desk, run_async, settled, text_of, until
from ui.screens.desk import OpenDeskScreen
from ui.screens.his import HisScreen
from ui.screens.qualify import QualifyScreen

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def world():
    with DemoWorld() as w:
        yield w


def his_done(app, index: int, by_ins: bool = False) -> bool:  # type: ignore[no-untyped-def]
    row = app.controller.his.row(index)
    return row is not None and row.step is Step.DONE and row.by_ins == by_ins


@run_async
async def test_known_patient_found_by_ins_is_picked_and_updated_new_patient_created(world) -> None:
    app = make_app(world)
    async with app.run_test(size=(140, 44)) as pilot:
        await open_desk(app, pilot)
        await pilot.press("f3")  # the family card: ADRTROIS DOMINIQUE first
        await until(pilot, lambda: settled(app) and his_done(app, 0) and "Système" in text_of(app, "#detail"))
        assert "Système de l'hôpital : 1 patient(s) connu(s)\n" in text_of(app, "#detail")  # by the card's traits

        await pilot.press("q")  # identity card checked: qualifiée, the hospital is asked again by INS
        await until(pilot, lambda: isinstance(app.screen, QualifyScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen) and his_done(app, 0, by_ins=True))
        await until(pilot, lambda: "(recherche par INS)" in text_of(app, "#detail"))
        detail = text_of(app, "#detail")
        assert "1 patient(s) connu(s) (recherche par INS)" in detail and "IPP 100001" in detail

        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HisScreen))
        await pilot.press("enter")  # nothing chosen yet: refused, in French
        await until(pilot, lambda: "Choisissez d'abord le patient de l'hôpital" in text_of(app, "#message"))
        await pilot.press("1", "enter")
        await until(pilot, lambda: len(world.his.received) == 1 and not app.controller.his.pending())
        assert "|ADT^A31^ADT_A05|" in world.his.received[0] and "100001^^^GAM-SIM" in world.his.received[0]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen))

        # the spouse is unknown everywhere: « nouveau patient », ADT^A28, no INS (identity provisoire)
        await pilot.press("down")
        await until(pilot, lambda: his_done(app, 1))
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HisScreen))
        world.his.script("ae")
        await pilot.press("n", "enter")
        await until(pilot, lambda: bool(app.controller.his.pending())
                    and app.controller.his.pending()[0].state.value == "refused")
        assert "refusé" in text_of(app, "#pending") and "simulé" in text_of(app, "#pending")
        await pilot.press("x")
        await until(pilot, lambda: not app.controller.his.pending())
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen))
        assert app.screen.query_one("#rows", DataTable).row_count == 4
