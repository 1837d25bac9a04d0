"""`kiosk demo`'s staff-card key cycles through the virtual staff cards (CPS3 CPE, CPE "carte de service", CPS4),
and each opens the desk with its PIN; a contactless CPS3 and a card whose PIN usage counter is spent are told apart
in French before any PIN is sent."""

from __future__ import annotations

import time

import pytest

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.demo import STAFF_READER, DemoHands, DemoWorld
from kiosk.desk import StaffPhase


@pytest.fixture
def world():
    with DemoWorld() as w:
        yield w


def _wait(world: DemoWorld, phases: set[StaffPhase], timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        view = world.runtime.controller.view()
        if view.staff_phase in phases:
            return view
        assert time.monotonic() < deadline, f"staff phase {view.staff_phase} not in {phases}"
        time.sleep(0.05)


def test_staff_key_cycles_and_each_card_opens_the_desk(world: DemoWorld) -> None:
    hands = DemoHands(world)
    seen = []
    for _ in cards.DEMO_STAFF_CARDS:
        said = hands.toggle_staff()
        view = _wait(world, {StaffPhase.PIN_REQUIRED, StaffPhase.REFUSED, StaffPhase.BLOCKED})
        assert view.staff_phase is StaffPhase.PIN_REQUIRED, (said, view)
        world.runtime.controller.submit_pin("1234")
        view = _wait(world, {StaffPhase.OPEN, StaffPhase.PIN_REQUIRED, StaffPhase.REFUSED})
        assert view.staff_phase is StaffPhase.OPEN and view.holder is not None
        seen.append((said.split(" (code")[0], view.holder.name, view.holder.id_nat, view.holder.card_type))
        assert hands.toggle_staff() == "carte professionnelle retirée"
        _wait(world, {StaffPhase.ABSENT})
    assert seen == [
        ("CPE accueil insérée", "Claire ACCUEIL", "3760021832/000000018", "CPE"),
        ("CPE carte de service insérée", "EMPLOYE000000027", "3760021832/000000027", "CPE"),
        ("CPS4 CPE accueil (contact) insérée", "Sophie ACCUEIL", "3760021832/000000036", "CPE"),
    ]


def test_contactless_and_spent_usage_counter_are_said_before_any_pin(world: DemoWorld) -> None:
    card = cards.test_cps_contactless()
    world.backend.insert(STAFF_READER, card)
    view = _wait(world, {StaffPhase.REFUSED, StaffPhase.PIN_REQUIRED})
    assert view.staff_phase is StaffPhase.REFUSED
    world.backend.remove(STAFF_READER)
    _wait(world, {StaffPhase.ABSENT})

    spent = cards.demo_cpe()
    spent.usage_left = 0
    world.backend.insert(STAFF_READER, spent)
    view = _wait(world, {StaffPhase.BLOCKED, StaffPhase.PIN_REQUIRED, StaffPhase.REFUSED})
    assert view.staff_phase is StaffPhase.BLOCKED
    assert spent.tries_left == 3  # no VERIFY reached the card
