"""Issue 14, point 10 through the real pcscd: 30 fast insert/remove bursts on vsmartcard's vpcd readers, the
desk wired as the service wires it (DeskRuntime, LivePorts, the PC/SC backend built from the configuration),
leave no worker waiting for a card without a deadline, and a staff card re-inserted afterwards is read.

A burst puts both cards in and takes them out again, in turn: as soon as pcscd reports them, once the desk has
powered them, or in the middle of the desk's read (vpcd's `drop_after`: the card leaves instead of answering
its N-th APDU, N varying from burst to burst). Each insertion waits for vpcd's presence poll (REINSERT_GAP), as
no hand is faster."""

from __future__ import annotations

import pytest

from drivers.sim.readers.vpcd import VpcdCard
from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.demo import DemoWorld
from tests.integration.pcsc_support import READERS, wait_empty
from tests.support.patience import PATIENCE_S, wait_until

pytestmark = pytest.mark.pcscd

STAFF_PORT, PATIENT_PORT = 35963, 35964  # vpcd's slots 0 and 1
BURSTS = 30


def _present(slot: int) -> bool:
    from drivers.pcsc.backend import PcscBackend

    return any(r.name == READERS[slot] and r.card_present for r in PcscBackend().readers())


def _burst(card: VpcdCard, slot: int, kind: int) -> None:
    """kind 0: out as soon as pcscd reports it (the desk's worker may find it gone); 1: out once the desk has
    powered it; 2: pulled by itself in the middle of the desk's read (`drop_after`)."""
    card.insert()
    if kind == 0:
        wait_until(lambda: _present(slot) or not card.inserted, message=f"pcscd never saw the card in slot {slot}")
        card.remove()
    elif kind == 1:
        assert card.wait_until_served(PATIENCE_S), f"the desk never powered the card in slot {slot}"
        card.remove()


def _wait_out(card: VpcdCard) -> None:
    """Mid-read: the card pulls itself out at its N-th APDU (the desk's read has many more)."""
    wait_until(lambda: not card.inserted,
               message=lambda: f"port {card.port}: the read never reached APDU {card.drop_after} "
               f"({len(card.apdus)} served)")


def test_bursts_through_pcscd_never_park_the_desk(pcscd) -> None:
    from kiosk.desk import StaffPhase

    with DemoWorld(pcsc_readers=READERS) as world:
        controller = world.runtime.controller
        for burst in range(BURSTS):
            kind = burst % 3
            staff = VpcdCard(cards.demo_cpe(), port=STAFF_PORT, drop_after=2 + burst % 5)
            vitale = VpcdCard(cards.demo_vitale_family(), port=PATIENT_PORT, drop_after=2 + burst % 7)
            _burst(staff, 0, kind)
            _burst(vitale, 1, kind)
            _wait_out(staff)
            _wait_out(vitale)
        for slot in (0, 1):
            wait_empty(slot)
        assert controller.wait_idle(120), "a worker is still waiting after the bursts"
        wait_until(lambda: not controller.view().patient_present and controller.view().staff_phase is StaffPhase.ABSENT,
                   message=lambda: f"the desk still sees a card: {controller.view()}")
        staff = VpcdCard(cards.demo_cpe(), port=STAFF_PORT)
        staff.insert()
        try:
            wait_until(lambda: controller.view().staff_phase is StaffPhase.PIN_REQUIRED, timeout=120,
                       message=lambda: f"staff card not read: {controller.view().staff_phase}")
            assert controller.wait_idle(120)
        finally:
            staff.remove()
            wait_empty(0)
