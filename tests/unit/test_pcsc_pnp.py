"""Reader hot-plug through `\\\\?PnP?\\Notification`, the one PC/SC path the real pcscd here cannot drive.

pcscd only adds and removes readers on USB hot-plug (libudev); this machine has no USB bus, and pcscd 1.9.9
does not re-read reader.conf (SIGUSR1 / `pcscd --hotplug` tried). So, as the one mocked PC/SC test, a
scripted stand-in for pyscard's `scard` functions plays pcsc-lite's answers to the backend's event thread:
the PnP pseudo-reader flagged CHANGED with a new reader count, then a removed reader flagged UNKNOWN|IGNORE.
The constants stay pyscard's own.
"""

from __future__ import annotations

import queue
import threading

import pytest
from smartcard import scard

from drivers.base import EventKind, ReaderEvent
from drivers.pcsc import backend as pcsc_backend
from drivers.pcsc.backend import PNP, PcscBackend
from tests.support.patience import PATIENCE_S

ATR = bytes.fromhex("3B 75 13 00 00 45 09 EA 90 00")
CHANGED, PRESENT, EMPTY = scard.SCARD_STATE_CHANGED, scard.SCARD_STATE_PRESENT, scard.SCARD_STATE_EMPTY
GONE = scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_IGNORE | CHANGED


class ScriptedPcscd:
    """pcsc-lite's side of the calls the event thread makes. `step()` queues one answer to
    SCardGetStatusChange and the reader list to give when the backend lists readers again."""

    def __init__(self, readers: list[str]) -> None:
        self.readers = list(readers)
        self.answers: queue.Queue[tuple[list[str], int, list[tuple[str, int, list[int]]]]] = queue.Queue()
        self.cancelled = threading.Event()
        self.asked: list[list[str]] = []

    def step(
        self, readers: list[str], changes: list[tuple[str, int, list[int]]], rc: int = scard.SCARD_S_SUCCESS
    ) -> None:
        self.answers.put((readers, rc, changes))

    # -- the functions the backend calls
    def SCardEstablishContext(self, scope: int) -> tuple[int, int]:
        return scard.SCARD_S_SUCCESS, 1

    def SCardReleaseContext(self, ctx: int) -> int:
        return scard.SCARD_S_SUCCESS

    def SCardCancel(self, ctx: int) -> int:
        self.cancelled.set()
        return scard.SCARD_S_SUCCESS

    def SCardListReaders(self, ctx: int, groups: list[str]) -> tuple[int, list[str]]:
        if not self.readers:
            return scard.SCARD_E_NO_READERS_AVAILABLE, []
        return scard.SCARD_S_SUCCESS, list(self.readers)

    def SCardGetStatusChange(self, ctx: int, timeout: int, states: list[tuple[str, int]]):
        assert timeout == scard.INFINITE  # never a polling timeout
        self.asked.append([name for name, _ in states])
        while True:
            try:
                readers, rc, changes = self.answers.get(timeout=0.05)
                self.readers = readers
                return rc, changes
            except queue.Empty:
                if self.cancelled.is_set():
                    return scard.SCARD_E_CANCELLED, []

    SCardGetErrorMessage = staticmethod(scard.SCardGetErrorMessage)


@pytest.fixture
def pcscd(monkeypatch: pytest.MonkeyPatch) -> ScriptedPcscd:
    fake = ScriptedPcscd(["Reader A 00 00"])
    for name in ("SCardEstablishContext", "SCardReleaseContext", "SCardCancel", "SCardListReaders",
                 "SCardGetStatusChange", "SCardGetErrorMessage"):
        monkeypatch.setattr(pcsc_backend.scard, name, getattr(fake, name))
    return fake


def _wait_for(events: list[ReaderEvent], seen: threading.Condition, count: int) -> None:
    with seen:
        assert seen.wait_for(lambda: len(events) >= count, timeout=PATIENCE_S), events


def test_pnp_notification_adds_and_removes_readers(pcscd: ScriptedPcscd) -> None:
    events: list[ReaderEvent] = []
    seen = threading.Condition()

    def on_event(e: ReaderEvent) -> None:
        with seen:
            events.append(e)
            seen.notify_all()

    backend = PcscBackend()
    backend.start(on_event)
    try:
        _wait_for(events, seen, 1)
        assert events[0] == ReaderEvent(EventKind.READER_ADDED, "Reader A 00 00")
        # A second reader is plugged in: pcscd wakes the PnP pseudo-reader with the new count.
        pcscd.step(
            ["Reader A 00 00", "Reader B 00 00"], [(PNP, CHANGED | (2 << 16), []), ("Reader A 00 00", EMPTY, [])]
        )
        _wait_for(events, seen, 2)
        assert events[1] == ReaderEvent(EventKind.READER_ADDED, "Reader B 00 00")
        # A card goes into B, then A is unplugged (reported UNKNOWN|IGNORE, and PnP changes again).
        pcscd.step(pcscd.readers, [("Reader B 00 00", PRESENT | CHANGED | (1 << 16), list(ATR))])
        _wait_for(events, seen, 3)
        assert events[2] == ReaderEvent(EventKind.CARD_INSERTED, "Reader B 00 00", ATR, 1)
        pcscd.step(["Reader B 00 00"], [(PNP, CHANGED | (1 << 16), []), ("Reader A 00 00", GONE, [])])
        _wait_for(events, seen, 4)
        assert events[3] == ReaderEvent(EventKind.READER_REMOVED, "Reader A 00 00")
        # The next wait covers the remaining reader and PnP only.
        with seen:
            assert seen.wait_for(lambda: pcscd.asked and "Reader A 00 00" not in pcscd.asked[-1], timeout=PATIENCE_S)
        assert [r.name for r in backend.readers()] == ["Reader B 00 00"]
        assert backend.readers()[0].card_present
        # The last reader with its card unplugged: card removed, then reader removed.
        pcscd.step([], [(PNP, CHANGED, []), ("Reader B 00 00", GONE, [])])
        _wait_for(events, seen, 6)
        assert events[4] == ReaderEvent(EventKind.CARD_REMOVED, "Reader B 00 00", None, 1)
        assert events[5] == ReaderEvent(EventKind.READER_REMOVED, "Reader B 00 00")
    finally:
        backend.stop()
    assert pcscd.cancelled.is_set() and backend.readers() == []
