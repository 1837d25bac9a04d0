"""The Textual desk driven with Textual's pilot, on the demo's virtual cards and simulators: the whole workflow,
keyboard only."""

from __future__ import annotations

import asyncio
import functools
import time

import pytest
from textual.widgets import DataTable, Input, Static

from kiosk.appliance.service.demo import DemoHands, DemoWorld
from kiosk.desk import StaffPhase
from tests.support.patience import PATIENCE_S
from ui.app import DeskApp
from ui.screens.actions import ActionsScreen
from ui.screens.desk import OpenDeskScreen
from ui.screens.diagnostics import DiagnosticsScreen
from ui.screens.pin import PinScreen
from ui.screens.qualify import QualifyScreen
from ui.screens.traits import TraitsScreen, parse_traits
from ui.screens.waiting import WaitingScreen

pytestmark = pytest.mark.timeout(120)


def run_async(fn):
    """pytest has no asyncio plugin here: each pilot test runs its own event loop."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


@pytest.fixture
def world():
    with DemoWorld() as w:
        yield w


def make_app(world: DemoWorld, **kw) -> DeskApp:
    return DeskApp(world.runtime.controller, pages=dict(world.config.webps.pages), site=world.config.site.name,
                   demo=DemoHands(world), show_clock=False, **kw)


async def until(pilot, condition, timeout: float = PATIENCE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def text_of(app: DeskApp, selector: str) -> str:
    content = app.screen.query_one(selector, Static).content
    return getattr(content, "plain", str(content))


def settled(app: DeskApp) -> bool:
    view = app.controller.view()
    return bool(view.rows) and all(r.settled for r in view.rows) and app.controller.wait_idle(0)


async def open_desk(app: DeskApp, pilot) -> None:
    await pilot.press("f2")
    await until(
        pilot,
        lambda: isinstance(app.screen, PinScreen) and app.controller.view().staff_phase is StaffPhase.PIN_REQUIRED,
    )
    await pilot.press("1", "2", "3", "4", "enter")
    await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen))


@run_async
async def test_whole_workflow_keyboard_only(world) -> None:
    app = make_app(world)
    async with app.run_test(size=(140, 44)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WaitingScreen) and text_of(app, "#big") != "")
        assert "Insérez votre carte professionnelle" in text_of(app, "#big")

        # staff login: wrong PIN, tries left, then the right one
        await pilot.press("f2")
        await until(
            pilot, lambda: isinstance(app.screen, PinScreen) and "Essais restants : 3" in text_of(app, "#tries")
        )
        assert "Claire ACCUEIL" in text_of(app, "#holder")
        pin = app.screen.query_one("#pin", Input)
        await pilot.press("0", "0", "0", "0")
        assert pin.password and pin.value == "0000"
        await pilot.press("enter")
        await until(
            pilot,
            lambda: "Code incorrect." in text_of(app, "#message") and "Essais restants : 2" in text_of(app, "#tries"),
        )
        await pilot.press("1", "2", "3", "4", "enter")
        await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen))
        assert "Insérez la carte Vitale" in text_of(app, "#waiting")

        # a family card: every beneficiary, results as they arrive, in plain words
        await pilot.press("f3")
        await until(pilot, lambda: settled(app))
        await pilot.pause()
        table = app.screen.query_one("#rows", DataTable)
        assert table.row_count == 4
        first = [str(c) for c in table.get_row_at(0)]
        assert first[0] == "ADRTROIS DOMINIQUE" and first[1] == "26/02/1997" and first[2] == "assuré"
        assert first[3] == "récupérée" and first[4] == "ouvert, autorisé"
        assert str(table.get_row_at(1)[3]) == "provisoire (inconnu)" and str(table.get_row_at(1)[4]) == "non interrogé"
        detail = text_of(app, "#detail")
        assert "INS : 297022A02077878" in detail and "OID : 1.2.250.1.213.1.4.8" in detail
        assert "Traits de référence INSi" in detail

        # qualification: the passport was checked
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QualifyScreen))
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen))
        await until(pilot, lambda: "qualifiée" in str(app.screen.query_one("#rows", DataTable).get_row_at(0)[3]))

        # actions: print the link of DossierPatient, then an admission ticket
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsScreen))
        await pilot.press("down", "p")
        await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsScreen))
        await pilot.press("i")
        await until(pilot, lambda: (world.workdir / "imprimante.bin").exists()
                    and (world.workdir / "imprimante.bin").stat().st_size > 0)
        journal = [e["action"] for e in __import__("kiosk.appliance.service.audit", fromlist=["x"]).read_entries(
            world.workdir / "state" / "audit")]
        await until(pilot, lambda: app.controller.wait_idle(0))
        assert "id_document_checked" in journal

        # the card leaves: its data goes at once
        await pilot.press("f4")
        await until(pilot, lambda: not app.controller.view().rows)
        await pilot.pause()
        assert app.screen.query_one("#rows", DataTable).row_count == 0
        assert "Insérez la carte Vitale" in text_of(app, "#waiting")

        # a patient without a card: INSi by traits
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TraitsScreen))
        for value in ("jumeau", "claude, marie", "f", "07/02/1985", "75056"):
            await pilot.press(*[("space" if c == " " else "comma" if c == "," else c) for c in value])
            await pilot.press("enter")
        await until(pilot, lambda: settled(app))
        await pilot.pause()
        row = [str(c) for c in app.screen.query_one("#rows", DataTable).get_row_at(0)]
        assert row[0] == "JUMEAU CLAUDE" and row[3] == "récupérée"

        # diagnostics, then back
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiagnosticsScreen))
        await until(pilot, lambda: app.screen.query_one("#checks", DataTable).row_count >= 2, timeout=60)
        checks = app.screen.query_one("#checks", DataTable)
        names = [str(checks.get_row_at(i)[0]) for i in range(checks.row_count)]
        assert "Lecteur vitale" in names and any("param-lps" in n for n in names)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen))

        # staff card out: locked at once, nothing of the patient stays on screen
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, WaitingScreen))
        assert not app.controller.view().rows
        screen_text = " ".join(text_of(app, s) for s in ("#big", "#sub", "#notice"))
        assert "JUMEAU" not in screen_text and "CLAUDE" not in screen_text


@run_async
async def test_dialogs_close_when_the_patient_leaves(world) -> None:
    app = make_app(world)
    async with app.run_test(size=(140, 44)) as pilot:
        await open_desk(app, pilot)
        await pilot.press("f3")
        await until(pilot, lambda: settled(app))
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QualifyScreen))
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, OpenDeskScreen))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsScreen))
        await pilot.press("f2")  # the staff card leaves with a dialog open
        await until(pilot, lambda: isinstance(app.screen, WaitingScreen))
        assert len(app.screen_stack) == 2


@run_async
async def test_pin_must_have_four_digits_and_errors_are_french(world) -> None:
    app = make_app(world)
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.press("f2")
        await until(
            pilot,
            lambda: isinstance(app.screen, PinScreen) and app.controller.view().staff_phase is StaffPhase.PIN_REQUIRED,
        )
        await pilot.press("1", "2", "enter")
        assert "4 chiffres" in text_of(app, "#message")
        await pilot.press("a", "b")  # letters are refused by the field
        assert app.screen.query_one("#pin", Input).value == ""


@run_async
async def test_idle_lock_asks_the_pin_again(world) -> None:
    app = make_app(world, lock_after_s=1)
    opened = []
    world.runtime.controller.add_listener(lambda v, e: opened.append(e.kind) if e.kind == "desk_opened" else None)
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.press("f2")
        await until(pilot, lambda: app.controller.view().staff_phase is StaffPhase.PIN_REQUIRED)
        await pilot.press("1", "2", "3", "4", "enter")  # the desk opens, counts down one second, and locks
        await until(pilot, lambda: bool(opened) and isinstance(app.screen, PinScreen)
                    and "inactivité" in text_of(app, "#message"), timeout=PATIENCE_S)


def test_traits_form_checks_each_field() -> None:
    t = parse_traits(
        {"nom": " houilles ", "prenoms": "pierre", "sexe": "m", "naissance": "27/01/1993", "lieu": "INSEE 63220"}
    )
    assert (t.nom_naissance, t.prenoms, t.sexe, t.date_naissance) == ("HOUILLES", ("PIERRE",), "M", "1993-01-27")
    from kiosk.desk import DeskStateError

    for bad, word in (({"nom": ""}, "traits_name"), ({"sexe": "X"}, "traits_sex"),
                      ({"naissance": "1993-01-27"}, "traits_date"), ({"lieu": "6322"}, "traits_place")):
        values = {"nom": "A", "prenoms": "B", "sexe": "M", "naissance": "01/01/2000", "lieu": "", **bad}
        with pytest.raises(DeskStateError, match=word):
            parse_traits(values)


def test_dates_as_receptionists_type_them() -> None:
    from ui.screens.traits import parse_date

    for typed in ("14072009", "14/07/2009", "14 07 2009", " 14  07 2009 ", "14.07.2009"):
        assert parse_date(typed) == "2009-07-14", typed
    assert parse_date("00002009") == "2009-00-00"  # unknown day and month, as INSi takes them
    assert parse_date("2009-07-14") is None and parse_date("1407209") is None
