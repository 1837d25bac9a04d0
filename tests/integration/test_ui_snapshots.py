"""Snapshots of every desk screen at 80×24 (the Linux console, plain theme) and 140×45, on the demo's virtual
cards and simulators (pytest-textual-snapshot).

Cards go in through the simulated readers directly (no demo key, so no toast), the clock is off and the
fields do not blink: the pictures only change when the screens do. `--snapshot-update` to accept. The
diagnostics screen is shown with fixed rows (the real checks depend on the machine).
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from tests.support.patience import PATIENCE_S
from ui.app import DeskApp

SIZES = {"80x24": (80, 24), "140x45": (140, 45)}
DIAGNOSTICS = [
    {"what": "Lecteur vitale", "ok": True, "detail": "Lecteur simulé 0 (sim) : vitale"},
    {"what": "Lecteur cpx", "ok": True, "detail": "Lecteur simulé 1 (sim) : cpx"},
    {"what": "param-lps", "ok": None, "detail": "dernière copie valide de plus de 20 h — actualisation en cours"},
    {"what": "Certificat d'organisation", "ok": False, "detail": "expire dans 12 jours — demandez le renouvellement"},
]


@pytest.fixture
def world():
    with DemoWorld() as w:
        yield w


EMITTED: dict[int, int] = {}


def app_for(world: DemoWorld, size: str) -> DeskApp:
    key = id(world)
    EMITTED[key] = 0

    def count(view, event) -> None:  # type: ignore[no-untyped-def]
        EMITTED[key] += 1

    world.runtime.controller.add_listener(count)
    theme = "plain" if size == "80x24" else "color"  # the console is 80×24 and low-colour
    return DeskApp(world.runtime.controller, pages=dict(world.config.webps.pages), site=world.config.site.name,
                   theme=theme, show_clock=False)


async def settle(pilot, world: DemoWorld) -> None:
    """Until the workers are idle and the app has rendered every desk event they produced."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        if world.runtime.controller.wait_idle(0) and pilot.app.events_shown >= EMITTED.get(id(world), 0):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


async def _pin_asked(pilot, world: DemoWorld) -> None:
    world.backend.insert(STAFF_READER, cards.demo_cpe())
    await settle(pilot, world)


async def _open_with(pilot, world: DemoWorld, card=None) -> None:  # type: ignore[no-untyped-def]
    await _pin_asked(pilot, world)
    world.runtime.controller.submit_pin(DEMO_PIN)
    await settle(pilot, world)
    if card is not None:
        world.backend.insert(VITALE_READER, card)
        await settle(pilot, world)


async def waiting(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot, world)


async def pin_after_a_wrong_pin(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await _pin_asked(pilot, world)
    world.runtime.controller.submit_pin("0000")
    await settle(pilot, world)


async def pin_last_try(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await pin_after_a_wrong_pin(pilot, world)
    world.runtime.controller.submit_pin("0000")
    await settle(pilot, world)


async def locked_by_v(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await _open_with(pilot, world, cards.demo_vitale_single())
    await pilot.press("v")
    await settle(pilot, world)


async def desk_empty(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await _open_with(pilot, world)


async def desk_family(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await _open_with(pilot, world, cards.demo_vitale_family())


async def desk_inconsistent_ins(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await _open_with(pilot, world, cards.demo_vitale_child())


async def desk_test_card(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await _open_with(pilot, world, cards.test_vitale())


async def qualify_dialog(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await desk_family(pilot, world)
    await pilot.press("q")
    await settle(pilot, world)


async def actions_dialog(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await desk_family(pilot, world)
    await pilot.press("a")
    await settle(pilot, world)


async def traits_dialog(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await desk_family(pilot, world)
    await pilot.press("down", "down", "t")  # a child INSi does not know on the parent's card: prefilled
    await settle(pilot, world)


async def help_screen(pilot, world) -> None:  # type: ignore[no-untyped-def]
    await desk_family(pilot, world)
    await pilot.press("f1")
    await settle(pilot, world)


async def diagnostics(pilot, world) -> None:  # type: ignore[no-untyped-def]
    world.runtime.controller.ports.diagnostics = lambda: DIAGNOSTICS
    await _open_with(pilot, world)
    await pilot.press("d")
    await settle(pilot, world)
    deadline = time.monotonic() + 30
    while "Vérification en cours" in str(pilot.app.screen.query_one("#message").content):
        assert time.monotonic() < deadline
        await pilot.pause(0.05)


SCREENS = [waiting, pin_after_a_wrong_pin, pin_last_try, locked_by_v, desk_empty, desk_family, desk_inconsistent_ins,
           desk_test_card, qualify_dialog, actions_dialog, traits_dialog, help_screen, diagnostics]


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("screen", SCREENS, ids=[s.__name__ for s in SCREENS])
def test_screen(world, snap_compare, screen, size) -> None:
    assert snap_compare(app_for(world, size), terminal_size=SIZES[size], run_before=lambda pilot: screen(pilot, world))
