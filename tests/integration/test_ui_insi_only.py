"""An INSi-only kiosk ([dmp] enabled = false): the open desk has no DMP column (Textual pilot, demo world)."""

from __future__ import annotations

import asyncio
import time

import pytest
from textual.widgets import DataTable

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.demo import VITALE_READER, DemoHands, DemoWorld
from ui.app import DeskApp
from ui.screens.desk import OpenDeskScreen
from ui.screens.pin import PinScreen
from ui.screens.waiting import WaitingScreen

pytestmark = pytest.mark.timeout(120)


async def _until(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


async def _columns(dmp: bool) -> tuple[list[str], list[str]]:
    with DemoWorld() as world:
        app = DeskApp(world.runtime.controller, pages=dict(world.config.webps.pages), site="", demo=DemoHands(world),
                      show_clock=False, dmp=dmp)
        async with app.run_test(size=(140, 44)) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, WaitingScreen) and app.screen.is_mounted)
            await pilot.pause(0.2)
            await pilot.press("f2")
            await _until(pilot, lambda: isinstance(app.screen, PinScreen))
            await pilot.press("1", "2", "3", "4", "enter")
            await _until(pilot, lambda: isinstance(app.screen, OpenDeskScreen) and app.screen.is_mounted)
            await pilot.pause(0.2)
            world.backend.insert(VITALE_READER, cards.demo_vitale_single())
            table = app.screen.query_one("#rows", DataTable)
            await _until(pilot, lambda: table.row_count == 1 and world.runtime.controller.wait_idle(0.01))
            await pilot.pause(0.2)
            labels = [str(c.label) for c in table.columns.values()]
            return labels, [str(cell) for cell in table.get_row_at(0)]


def test_an_insi_only_desk_has_no_dmp_column() -> None:
    labels, cells = asyncio.run(_columns(dmp=False))
    assert "DMP" not in labels and len(cells) == len(labels) == 4
    labels, cells = asyncio.run(_columns(dmp=True))
    assert labels[-1] == "DMP" and len(cells) == 5
