"""The PC/SC backend through the real pcscd + vpcd: events, hot-plug, pcscd restart and crash, stop."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from drivers.base import EventKind, ReaderEvent
from tests.integration.pcsc_support import wait_empty
from tests.support.patience import PATIENCE_S

pytestmark = pytest.mark.pcscd

R0, R1 = "Virtual PCD 00 00", "Virtual PCD 00 01"


class Events:
    def __init__(self) -> None:
        self.q: queue.Queue[ReaderEvent] = queue.Queue()
        self.all: list[ReaderEvent] = []
        self.threads: set[str] = set()

    def __call__(self, event: ReaderEvent) -> None:
        self.threads.add(threading.current_thread().name)
        self.all.append(event)
        self.q.put(event)

    def wait(self, kind: EventKind, reader: str = "", timeout: float = PATIENCE_S) -> ReaderEvent:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no {kind.value} for {reader!r}; got {[(e.kind.value, e.reader) for e in self.all]}"
                )
            try:
                event = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if event.kind is kind and (not reader or event.reader == reader):
                return event


@pytest.fixture
def backend(pcscd):
    from drivers.pcsc.backend import PcscBackend

    events = Events()
    b = PcscBackend(backoff_min=0.05, backoff_max=0.5)
    b.start(events)
    yield b, events
    b.stop()
    if pcscd.process is not None and pcscd.process.poll() is None:
        for slot in (0, 1):
            wait_empty(slot)


def test_readers_then_insert_and_remove_events(backend) -> None:
    from drivers.sim.readers.vpcd import VpcdCard
    from drivers.sim.virtual_cards.catalogue import demo_vitale_family

    b, events = backend
    events.wait(EventKind.READER_ADDED, R0)
    events.wait(EventKind.READER_ADDED, R1)
    card = VpcdCard(demo_vitale_family(), port=35963)
    card.insert()
    inserted = events.wait(EventKind.CARD_INSERTED, R0)
    assert inserted.atr == bytes.fromhex("3B751300004409EA9000")
    assert {r.name: r.card_present for r in b.readers()} == {R0: True, R1: False}
    card.remove()
    removed = events.wait(EventKind.CARD_REMOVED, R0)
    card.insert()
    again = events.wait(EventKind.CARD_INSERTED, R0)
    assert len({inserted.card_counter, removed.card_counter, again.card_counter}) >= 2
    assert again.card_counter != inserted.card_counter
    card.remove()
    assert events.threads == {"pcsc-events"}


def test_stop_returns_promptly(pcscd) -> None:
    from drivers.pcsc.backend import PcscBackend

    events = Events()
    b = PcscBackend()
    b.start(events)
    events.wait(EventKind.READER_ADDED, R1)
    b.stop()  # returns (pytest-timeout catches a hang) with its thread joined
    assert not any(t.name == "pcsc-events" for t in threading.enumerate())


def test_hotplug_new_readers_appear(backend, pcscd) -> None:
    from tests.support.pcscd import vpcd_entry

    b, events = backend
    events.wait(EventKind.READER_ADDED, R1)
    pcscd.restart([vpcd_entry(35963), vpcd_entry(35965, name="Second PCD")])
    events.wait(EventKind.READER_ADDED, "Second PCD 00 00", timeout=PATIENCE_S)
    names = {r.name for r in b.readers()}
    assert {"Virtual PCD 00 00", "Virtual PCD 00 01", "Second PCD 00 00", "Second PCD 00 01"} <= names


def test_pcscd_crash_is_survived(backend, pcscd) -> None:
    from drivers.sim.readers.vpcd import VpcdCard
    from drivers.sim.virtual_cards.catalogue import test_cps

    _, events = backend
    events.wait(EventKind.READER_ADDED, R1)
    pcscd.kill()
    events.wait(EventKind.BACKEND_DOWN)
    events.wait(EventKind.READER_REMOVED, R0)
    time.sleep(0.5)  # a few back-off rounds against a dead socket
    pcscd.restart()
    events.wait(EventKind.BACKEND_UP, timeout=PATIENCE_S)
    events.wait(EventKind.READER_ADDED, R1)
    card = VpcdCard(test_cps(), port=35964)
    card.insert()
    events.wait(EventKind.CARD_INSERTED, R1)
    card.remove()


def test_pcscd_clean_restart_with_card_present(backend, pcscd) -> None:
    from drivers.sim.readers.vpcd import VpcdCard
    from drivers.sim.virtual_cards.catalogue import demo_cpe

    _, events = backend
    card = VpcdCard(demo_cpe(), port=35963)
    card.insert()
    events.wait(EventKind.CARD_INSERTED, R0)
    pcscd.restart()
    events.wait(EventKind.BACKEND_DOWN)
    card.remove()
    card.insert()  # vpcd listens again once pcscd has reloaded its driver
    events.wait(EventKind.BACKEND_UP, timeout=PATIENCE_S)
    events.wait(EventKind.CARD_INSERTED, R0)
    card.remove()
