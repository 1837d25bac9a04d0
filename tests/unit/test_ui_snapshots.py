"""Snapshots of the desk's main screens (pytest-textual-snapshot), on the demo's virtual cards and simulators.

Cards go in through the simulated readers directly (no demo key, so no toast), the clock is off and the
PIN field does not blink: the pictures only change when the screens do. `--snapshot-update` to accept.
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input

from drivers.sim import cards
from kiosk.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from ui.app import DeskApp

SIZE = (132, 36)


@pytest.fixture
def world():
    with DemoWorld() as w:
        yield w


def app_for(world: DemoWorld, theme: str = "color") -> DeskApp:
    count_events(world)
    return DeskApp(world.runtime.controller, pages=dict(world.config.webps.pages), site=world.config.site.name,
                   theme=theme, show_clock=False)


EMITTED: dict[int, int] = {}


def count_events(world: DemoWorld) -> None:
    key = id(world)
    EMITTED[key] = 0

    def count(view, event) -> None:  # type: ignore[no-untyped-def]
        EMITTED[key] += 1

    world.runtime.controller.add_listener(count)


async def settle(pilot, world: DemoWorld) -> None:
    """Until the workers are idle and the app has rendered every desk event they produced."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if world.runtime.controller.wait_idle(0) and pilot.app.events_shown >= EMITTED.get(id(world), 0):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def test_waiting_screen(world, snap_compare) -> None:
    assert snap_compare(app_for(world), terminal_size=SIZE, run_before=lambda pilot: settle(pilot, world))


def test_pin_screen_after_a_wrong_pin(world, snap_compare) -> None:
    async def before(pilot) -> None:
        world.backend.insert(STAFF_READER, cards.demo_cpe())
        await settle(pilot, world)
        world.runtime.controller.submit_pin("0000")
        await settle(pilot, world)

    assert snap_compare(app_for(world), terminal_size=SIZE, run_before=before)


async def _open_with(pilot, world: DemoWorld, card) -> None:
    world.backend.insert(STAFF_READER, cards.demo_cpe())
    await settle(pilot, world)
    world.runtime.controller.submit_pin(DEMO_PIN)
    await settle(pilot, world)
    world.backend.insert(VITALE_READER, card)
    await settle(pilot, world)


def test_desk_with_a_family(world, snap_compare) -> None:
    assert snap_compare(app_for(world), terminal_size=SIZE,
                        run_before=lambda pilot: _open_with(pilot, world, cards.demo_vitale_family()))


def test_desk_detail_with_an_inconsistent_ins_plain_theme(world, snap_compare) -> None:
    assert snap_compare(app_for(world, theme="plain"), terminal_size=SIZE,
                        run_before=lambda pilot: _open_with(pilot, world, cards.demo_vitale_child()))
