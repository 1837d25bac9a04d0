"""The desk closing while a card's answers still arrive (Textual pilot, demo world).

The controller's threads outlive the UI: closing the app removes the screens' widgets while desk events keep
coming. Rendering one into a screen being removed raised NoMatches ('#staff' on OpenDeskScreen) and failed
whichever test left its pilot first (seen under load in test_ui_insi_only). Here a Vitale card goes in and the
app closes at once, a few times: without the guard in DeskApp this failed nearly every round.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.demo import VITALE_READER, DemoHands, DemoWorld
from ui.app import DeskApp
from ui.screens.desk import OpenDeskScreen
from ui.screens.pin import PinScreen
from ui.screens.waiting import WaitingScreen

pytestmark = pytest.mark.timeout(180)


async def _until(pilot, condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


async def _close_while_answers_arrive(world: DemoWorld) -> None:
    app = DeskApp(world.runtime.controller, pages=dict(world.config.webps.pages), site="", demo=DemoHands(world),
                  show_clock=False)
    async with app.run_test(size=(140, 44)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, WaitingScreen) and app.screen.is_mounted)
        await pilot.press("f2")
        await _until(pilot, lambda: isinstance(app.screen, PinScreen))
        await pilot.press("1", "2", "3", "4", "enter")
        await _until(pilot, lambda: isinstance(app.screen, OpenDeskScreen) and app.screen.is_mounted)
        world.backend.insert(VITALE_READER, cards.demo_vitale_single())  # then leave: run_test shuts the app down


def test_closing_the_desk_while_a_card_is_answered_raises_nothing() -> None:
    for _ in range(3):
        with DemoWorld() as world:
            asyncio.run(_close_while_answers_arrive(world))  # run_test re-raises what the app raised
            assert world.runtime.controller.wait_idle(60)  # the desk itself finished the card without its UI
