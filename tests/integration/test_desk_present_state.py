"""Issue 15.1: the screen always shows the present state. Many orders of lock / unlock / card in / card out /
configuration reload, on the demo's simulated readers and teleservices at 0 and 1.5 s latency, each ending with
the screen compared to the controller's current view, and no row left "en attente" once its answer is in.

The orders are drawn from a fixed seed (a failure names its seed and steps); waits are conditions, not clocks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time

import pytest
from textual.widgets import DataTable

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from kiosk.desk import PatientPhase, StaffPhase, Step
from kiosk.desk.events import Reason
from ui.app import DeskApp
from ui.format import row_cells
from ui.screens.desk import OpenDeskScreen
from ui.screens.pin import PinScreen
from ui.screens.waiting import WaitingScreen

pytestmark = pytest.mark.timeout(900)

STEPS = ("lock", "idle_lock", "unlock", "vitale_in", "vitale_out", "staff_out", "staff_in", "reload", "reload_lps")
CARDS = (cards.demo_vitale_family, cards.demo_vitale_child, cards.demo_vitale_single)


class Desk:
    """The app, the world's hands, and a count of the events the controller emitted."""

    def __init__(self, world: DemoWorld, app: DeskApp, pilot) -> None:  # type: ignore[no-untyped-def]
        self.world, self.app, self.pilot = world, app, pilot
        self.c = world.runtime.controller
        self.emitted = 0
        self.staff_in = False
        self.vitale_in = False
        self.c.add_listener(self._count)

    def _count(self, view, event) -> None:  # type: ignore[no-untyped-def]
        self.emitted += 1

    async def until(self, condition, what: str, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"not reached: {what}"
            await self.pilot.pause(0.05)

    async def settle(self) -> None:
        """Workers idle and every event rendered (the app counts the events it handled)."""
        await self.until(lambda: self.c.wait_idle(0) and self.app.events_shown >= self.emitted, "settled")
        await self.pilot.pause(0.1)

    async def do(self, step: str, rng: random.Random) -> None:
        c, backend, view = self.c, self.world.backend, self.c.view()
        if step == "lock" and view.is_open:
            await self.pilot.press("v")  # the receptionist's own key
        elif step == "idle_lock" and view.is_open:
            c.lock(Reason.LOCKED_IDLE)
        elif step == "unlock" and view.staff_phase is StaffPhase.PIN_REQUIRED:
            c.submit_pin(DEMO_PIN)
        elif step == "vitale_in":
            backend.insert(VITALE_READER, rng.choice(CARDS)())
            self.vitale_in = True
        elif step == "vitale_out" and self.vitale_in:
            backend.remove(VITALE_READER)
            self.vitale_in = False
        elif step == "staff_out" and self.staff_in:
            backend.remove(STAFF_READER)
            self.staff_in = False
        elif step == "staff_in" and not self.staff_in:
            backend.insert(STAFF_READER, cards.demo_cpe())
            self.staff_in = True
        elif step in ("reload", "reload_lps"):
            runtime = self.world.runtime
            config = runtime.config
            if step == "reload":  # a harmless change: the session goes on
                new = dataclasses.replace(
                    config, ui=dataclasses.replace(config.ui, texts={"title": f"Accueil {rng.random():.3f}"})
                )
            else:  # where patient data goes changed: the desk locks and says why
                new = dataclasses.replace(
                    config, lps=dataclasses.replace(config.lps, name=f"KIOSK-{rng.randrange(1000)}")
                )
            runtime.apply_config(new)
        await self.pilot.pause(rng.choice((0.0, 0.05, 0.3, 0.8)))

    async def open(self) -> None:
        """Bring the desk open (staff card in, PIN typed) so the final comparison sees the patient's rows."""
        if not self.staff_in:
            self.world.backend.insert(STAFF_READER, cards.demo_cpe())
            self.staff_in = True
        await self.until(lambda: self.c.view().staff_phase in (StaffPhase.PIN_REQUIRED, StaffPhase.OPEN), "PIN asked")
        if self.c.view().staff_phase is StaffPhase.PIN_REQUIRED:
            self.c.submit_pin(DEMO_PIN)
        await self.until(lambda: self.c.view().is_open, "desk open")

    def check_screen(self, label: str) -> None:
        view = self.c.view()
        screen = self.app.screen
        expected = OpenDeskScreen if view.is_open else PinScreen if view.staff_phase in (
            StaffPhase.PIN_REQUIRED, StaffPhase.CHECKING_PIN) else WaitingScreen
        assert isinstance(screen, expected), f"{label}: screen {type(screen).__name__} for {view.staff_phase}"
        if not isinstance(screen, OpenDeskScreen):
            return
        table = screen.query_one("#rows", DataTable)
        shown = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        wanted = [row_cells(r, self.app.texts, screen.column_widths) for r in view.rows]
        assert shown == wanted, f"{label}: screen {shown} != controller {wanted}"


async def _play(seed: int, latency: float, steps: int) -> None:
    rng = random.Random(seed)
    with DemoWorld() as world:
        world.sims.set_latency(latency)
        app = DeskApp(world.runtime.controller, pages=dict(world.config.webps.pages), show_clock=False)
        async with app.run_test(size=(140, 45)) as pilot:
            desk = Desk(world, app, pilot)
            await desk.open()
            log: list[str] = []
            for n in range(steps):
                step = rng.choice(STEPS)
                log.append(step)
                await desk.do(step, rng)
                if n % 6 == 5:  # now and then, let everything arrive and compare mid-way too
                    await desk.settle()
                    desk.check_screen(f"seed {seed}, after {log}")
            await desk.open()
            if not desk.vitale_in:
                world.backend.insert(VITALE_READER, rng.choice(CARDS)())
                desk.vitale_in = True
            await desk.until(lambda: desk.c.view().patient_phase is PatientPhase.READ and bool(desk.c.view().rows)
                             and all(r.settled for r in desk.c.view().rows), f"seed {seed}: answers in ({log})")
            await desk.settle()
            desk.check_screen(f"seed {seed}, at the end of {log}")
            rows = desk.c.view().rows
            assert not any(r.insi_step in (Step.IDLE, Step.PENDING) for r in rows), f"seed {seed}: {log}"


@pytest.mark.parametrize("seed", range(6))
def test_screen_follows_the_desk_without_latency(seed: int) -> None:
    asyncio.run(_play(seed, 0.0, 24))


@pytest.mark.parametrize("seed", range(100, 103))
def test_screen_follows_the_desk_at_1_5_s_latency(seed: int) -> None:
    asyncio.run(_play(seed, 1.5, 14))


def test_unlock_with_the_same_card_shows_it_at_once_and_asks_again() -> None:
    """15.4: a lock is not a loss. The same insertion's beneficiaries come back on unlock, the lookups run
    again under the new session (journaled), and the ID document checked before the lock stays."""
    from kiosk.appliance.service.audit import audit_dir, read_entries
    from kiosk.desk import IdDocument

    async def play() -> None:
        with DemoWorld() as world:
            app = DeskApp(world.runtime.controller, pages=dict(world.config.webps.pages), show_clock=False)
            async with app.run_test(size=(80, 24)) as pilot:
                desk = Desk(world, app, pilot)
                await desk.open()
                world.backend.insert(VITALE_READER, cards.demo_vitale_family())
                desk.vitale_in = True
                c = desk.c
                await desk.until(lambda: bool(c.view().rows) and all(r.settled for r in c.view().rows), "answers")
                c.qualify(0, IdDocument.CNI)
                counter = c.view().card_counter
                await pilot.press("v")
                await desk.until(lambda: isinstance(app.screen, PinScreen), "locked")
                await desk.settle()
                assert c.view().rows == () and app.texts.reason(Reason.LOCKED_MANUAL) in str(
                    app.screen.query_one("#message").content)
                world.sims.set_latency(5.0)  # long enough that the rows are seen before the answers
                c.submit_pin(DEMO_PIN)
                await desk.until(lambda: c.view().is_open and bool(c.view().rows), "reopened")
                v = c.view()
                assert v.card_counter == counter and v.row(0).document is IdDocument.CNI
                await desk.until(lambda: isinstance(app.screen, OpenDeskScreen) and app.screen.query_one(
                    "#rows", DataTable).row_count == len(v.rows), "the same card's rows shown at once")
                assert any(r.insi_step is Step.PENDING for r in c.view().rows)  # answers on their way
                await desk.until(lambda: all(r.settled for r in c.view().rows), "answers again")
                await desk.settle()
                desk.check_screen("reopened, answers in")
                actions = [e["action"] for e in read_entries(audit_dir(world.config))]
                assert "lookups_restarted" in actions and actions.count("desk_locked") == 1

    asyncio.run(play())


def test_a_reload_locks_only_for_keys_that_matter() -> None:
    from kiosk.appliance.service.reload import locking_changes

    with DemoWorld() as world:
        config = world.runtime.config
        harmless = dataclasses.replace(
            config, ui=dataclasses.replace(config.ui, texts={"title": "Bienvenue"}, lock_after_s=300),
            printer=dataclasses.replace(config.printer, kind="none"),
            insi=dataclasses.replace(config.insi, timeout_s=30.0),
        )
        assert locking_changes(config, harmless) == []
        moved = dataclasses.replace(config, environment="test", insi=dataclasses.replace(config.insi, endpoint="https://x.example/insi"),
                                    params=dataclasses.replace(config.params, allowed_domains=["example.org"]))
        assert locking_changes(config, moved) == ["environment", "insi.endpoint", "params.allowed_domains"]
