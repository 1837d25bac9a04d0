"""Every CPx shape read end to end through the real pcscd + vpcd by the kiosk's reader: CPS4 under each ATR of the
official library's list (T=1 contact and RC, T=0 only), the CPE "carte de service", the contactless CPS3."""

from __future__ import annotations

import pytest

from drivers.manager import ReaderManager
from drivers.sim.readers.vpcd import VpcdCard
from drivers.sim.virtual_cards import catalogue as cards
from tests.integration.pcsc_support import wait_empty

pytestmark = pytest.mark.pcscd


@pytest.fixture
def manager(pcscd):
    from drivers.pcsc.backend import PcscBackend

    m = ReaderManager([], backends=[PcscBackend()])
    m.start(lambda e: None)
    yield m
    m.stop()


@pytest.fixture
def staff_card():
    inserted: list[VpcdCard] = []

    def insert(card) -> VpcdCard:
        v = VpcdCard(card, port=35964, tagger=lambda apdu: apdu[0])
        v.insert()
        inserted.append(v)
        return v

    yield insert
    for v in inserted:
        v.remove()
    wait_empty(1)


@pytest.mark.parametrize("atr_kind", ["contact", "rc", "t0"])
def test_cps4_through_pcscd(manager, staff_card, atr_kind: str) -> None:
    from kiosk.domain.card_reads import read_cpx, verify_pin

    served = staff_card(cards.demo_cps4(atr_kind))
    holder = read_cpx(manager, timeout=20)
    assert (holder.family, holder.card_type, holder.serial, holder.pin_reference) == ("CPS4", "CPE", "00000036", 0x81)
    assert {cla for cla, _ in served.apdus} == {0x01}  # every command on the ChipDoc channel
    assert not verify_pin(manager, holder, "0000").ok
    assert verify_pin(manager, holder, "1234").ok


def test_carte_de_service_and_contactless_through_pcscd(manager, staff_card) -> None:
    from kiosk.domain.card_reads import read_cpx, verify_pin

    first = staff_card(cards.demo_cpe_service())
    holder = read_cpx(manager, timeout=20)
    assert (holder.display_name, holder.idnat, holder.card_type.label) == (
        "EMPLOYE000000027",
        "3760021832/000000027",
        "CPE",
    )
    assert verify_pin(manager, holder, "1234").ok
    first.remove()
    wait_empty(1)
    staff_card(cards.test_cps_contactless())
    manager.wait_for_card(timeout=20)
    holder = read_cpx(manager, timeout=20)
    assert (holder.family, holder.contactless, holder.pin_reference) == ("CPS3 sans contact", True, None)
