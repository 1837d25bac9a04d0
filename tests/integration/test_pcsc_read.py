"""Vitale and CPx cards read through the real pcscd + vpcd, via the reader manager: pulled cards, swaps,
exclusive sessions."""

from __future__ import annotations

import threading

import pytest

from drivers.errors import CardSwappedError, DriverError, ReaderError
from drivers.manager import ManagerEventKind, ReaderManager
from drivers.sim.readers.vpcd import VpcdCard
from drivers.sim.virtual_cards import catalogue as cards
from tests.integration.pcsc_support import wait_empty
from tests.support.patience import PATIENCE_S

pytestmark = pytest.mark.pcscd

R0, R1 = "Virtual PCD 00 00", "Virtual PCD 00 01"


@pytest.fixture
def manager(pcscd):
    from drivers.pcsc.backend import PcscBackend

    events = []
    m = ReaderManager([], backends=[PcscBackend()])
    m.start(events.append)
    m.events = events  # type: ignore[attr-defined]
    yield m
    m.stop()


@pytest.fixture
def vpcd():
    inserted: list[VpcdCard] = []

    def insert(card, slot: int = 0, **kw) -> VpcdCard:
        v = VpcdCard(card, port=35963 + slot, **kw)
        v.insert()
        inserted.append(v)
        return v

    yield insert
    for v in inserted:
        v.remove()
    for slot in {v.port - 35963 for v in inserted}:
        wait_empty(slot)


def test_both_cards_read_through_pcscd(manager, vpcd) -> None:
    from kiosk.domain.card_reads import read_cpx, read_vitale, verify_pin

    vpcd(cards.demo_cpe(), slot=1)
    holder = read_cpx(manager, timeout=PATIENCE_S)
    assert (holder.reader, holder.card_type, holder.nom, holder.family) == ("staff", "CPE", "ACCUEIL", "CPS3")
    vpcd(cards.demo_vitale_family(), slot=0)
    read = read_vitale(manager, timeout=PATIENCE_S)
    assert read.reader == "patient" and read.card_type == "Vitale 2"
    assert [b.prenom for b in read.beneficiaries] == ["DOMINIQUE", "MICHEL", "LÉO", "LINA"]
    assert read.beneficiaries[0].nir_individuel.value == "297022A02077878"
    assert {lr.name: lr.physical for lr in manager.logical_readers()} == {"patient": R0, "staff": R1}
    wrong = verify_pin(manager, holder, "0000")
    assert wrong.tries_left == 2 and verify_pin(manager, holder, "1234").ok


def test_card_pulled_mid_read_gives_a_clean_error(manager, vpcd) -> None:
    from kiosk.domain.card_reads import read_vitale

    vpcd(cards.demo_vitale_family(), drop_after=5)
    manager.wait_for_card(R0, timeout=PATIENCE_S)
    with pytest.raises(ReaderError) as info:
        read_vitale(manager, R0, timeout=PATIENCE_S)
    assert "ADRTROIS" not in str(info.value)
    def removed() -> bool:
        return any(e.kind is ManagerEventKind.CARD_REMOVED and e.physical == R0 for e in manager.events)

    for _ in range(200):
        if removed():
            break
        threading.Event().wait(0.05)
    assert removed(), manager.events
    assert not manager.reader("patient").card_present


def test_swap_between_read_and_use_is_refused(manager, vpcd) -> None:
    from kiosk.domain.card_reads import read_vitale

    first = vpcd(cards.demo_vitale_family())
    read = read_vitale(manager, timeout=PATIENCE_S)
    manager.ensure_current(read.reader, read.card_counter)
    first.remove()
    wait_empty(0)
    vpcd(cards.demo_vitale_child())
    manager.wait_for_card("patient", timeout=PATIENCE_S)
    with pytest.raises(CardSwappedError):
        manager.ensure_current(read.reader, read.card_counter)
    again = read_vitale(manager, "patient", timeout=PATIENCE_S)
    assert again.card_counter != read.card_counter
    assert again.beneficiaries[1].prenom == "PIERRE-ALAIN"


def test_two_sessions_never_interleave(manager, vpcd) -> None:
    from drivers.cards.vitale import read_vitale

    card = vpcd(cards.demo_vitale_family(), tagger=lambda apdu: apdu[:4].hex())
    manager.wait_for_card(timeout=PATIENCE_S)
    errors: list[BaseException] = []

    def worker(tid: int) -> None:
        try:
            for _ in range(4):
                with manager.session("patient") as channel:
                    channel.transmit(bytes((0x80, 0xCA, 0x00, tid, 0x00)))  # start marker (6D00 from the card)
                    read_vitale(channel)
                    channel.transmit(bytes((0x80, 0xCA, 0x01, tid, 0x00)))  # end marker
        except DriverError as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    markers = [(a[2], a[3]) for _, a in card.apdus if a[:2] == b"\x80\xca"]
    assert len(markers) == 24
    owner = None
    for _, apdu in card.apdus:
        if apdu[:2] == b"\x80\xca":
            if apdu[2] == 0:
                assert owner is None, "a session started inside another one"
                owner = apdu[3]
            else:
                assert owner == apdu[3]
                owner = None
        else:
            assert owner is not None, "an APDU outside any session"


class MuteCard:
    """A chip whose answer to reset is not an ATR (inserted upside down, or dead)."""

    atr = b"\x00\x00"  # no valid TS byte

    def reset(self) -> None: ...

    def process(self, apdu: bytes) -> bytes:
        return b"\x6f\x00"


def test_unreadable_card_is_reported_and_refused_clearly(manager, vpcd) -> None:
    from kiosk.domain.card_reads import read_vitale

    vpcd(MuteCard())
    target = manager.wait_for_card(R0, timeout=PATIENCE_S)
    assert target.family.name == "UNKNOWN"
    with pytest.raises(ReaderError, match="ne répond pas"):
        read_vitale(manager, R0, timeout=5)


def test_pcsc_transactions_serialise_separate_connections(pcscd, vpcd) -> None:
    """Without the manager (as two programs sharing pcscd would): SCardBeginTransaction alone keeps two
    connections' exchanges apart."""
    from drivers.cards.vitale import read_vitale
    from drivers.pcsc.channel import open_channel

    card = vpcd(cards.demo_vitale_family())
    assert card.wait_until_served(10)
    errors: list[DriverError] = []

    def worker(tid: int) -> None:
        try:
            with open_channel(R0) as channel:
                for _ in range(4):
                    with channel.transaction():
                        channel.transmit(bytes((0x80, 0xCA, 0x00, tid, 0x00)))
                        read_vitale(channel)
                        channel.transmit(bytes((0x80, 0xCA, 0x01, tid, 0x00)))
        except DriverError as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    owner = None
    for _, apdu in card.apdus:
        if apdu[:2] == b"\x80\xca":
            assert (owner is None) == (apdu[2] == 0) and (apdu[2] == 0 or owner == apdu[3])
            owner = apdu[3] if apdu[2] == 0 else None
        else:
            assert owner is not None, "an APDU outside any transaction"
