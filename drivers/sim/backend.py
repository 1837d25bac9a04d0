"""The in-process `sim` backend: virtual readers whose cards are inserted and removed by calling
`insert(reader, card)` / `remove(reader)`. Runs `kiosk demo` without root, pcscd or hardware, and behaves
like the PC/SC backend on the points the manager relies on (insertion counter, stale channels, transactions)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from drivers.base import BackendId, CardChannel, EventKind, ReaderBackend, ReaderEvent, ReaderInfo
from drivers.errors import CardSwappedError, ReaderError
from drivers.sim.virtual_cards.vcard import VirtualCard

__all__ = ["SimBackend"]


@dataclass
class _Slot:
    card: VirtualCard | None = None
    counter: int = 0
    lock: threading.Lock = None  # type: ignore[assignment]  # exclusive transactions
    io: threading.Lock = None  # type: ignore[assignment]  # one APDU at a time on the card

    def __post_init__(self) -> None:
        self.lock, self.io = threading.Lock(), threading.Lock()


class SimChannel(CardChannel):
    def __init__(self, backend: SimBackend, reader: str, slot: _Slot) -> None:
        self._backend, self._slot, self.reader = backend, slot, reader
        self.card_counter = slot.counter
        self.atr = slot.card.atr if slot.card else b""
        self._owns_lock = False
        self._closed = False

    def transmit(self, apdu: bytes) -> bytes:
        if self._closed:
            raise ReaderError(f"canal fermé sur le lecteur {self.reader!r}")
        with self._slot.io:
            card = self._slot.card
            if card is None or self._slot.counter != self.card_counter:
                raise CardSwappedError(f"la carte du lecteur {self.reader!r} a été retirée")
            return card.process(bytes(apdu))

    def begin_transaction(self) -> None:
        self._slot.lock.acquire()
        self._owns_lock = True
        if self._slot.counter != self.card_counter or self._slot.card is None:
            self.end_transaction()
            raise CardSwappedError(f"la carte du lecteur {self.reader!r} a été retirée")

    def end_transaction(self) -> None:
        if self._owns_lock:
            self._owns_lock = False
            self._slot.lock.release()

    def close(self) -> None:
        self.end_transaction()
        self._closed = True

    def current_counter(self) -> int | None:
        return self._slot.counter if self._slot.card is not None else None


class SimBackend(ReaderBackend):
    id = BackendId.SIM

    def __init__(self, readers: tuple[str, ...] = ("Lecteur simulé 0", "Lecteur simulé 1")) -> None:
        self._slots: dict[str, _Slot] = {name: _Slot() for name in readers}
        self._on_event: Callable[[ReaderEvent], None] | None = None
        self._mutex = threading.RLock()

    def _emit(self, event: ReaderEvent) -> None:
        if self._on_event:
            self._on_event(event)

    def start(self, on_event: Callable[[ReaderEvent], None]) -> None:
        with self._mutex:
            self._on_event = on_event
            for name, slot in self._slots.items():
                self._emit(ReaderEvent(EventKind.READER_ADDED, name))
                if slot.card is not None:
                    self._emit(ReaderEvent(EventKind.CARD_INSERTED, name, slot.card.atr, slot.counter))

    def stop(self) -> None:
        with self._mutex:
            self._on_event = None

    def readers(self) -> list[ReaderInfo]:
        with self._mutex:
            return [ReaderInfo(n, self.id, s.card is not None, s.card.atr if s.card else None, s.counter)
                    for n, s in self._slots.items()]

    def connect(self, reader: str) -> CardChannel:
        with self._mutex:
            slot = self._slots.get(reader)
            if slot is None:
                raise ReaderError(f"lecteur {reader!r} inconnu")
            if slot.card is None:
                raise ReaderError(f"pas de carte dans le lecteur {reader!r}")
            return SimChannel(self, reader, slot)

    # -- the simulator's controls
    def insert(self, reader: str, card: VirtualCard) -> int:
        """Put `card` in `reader` (replacing any card: a swap). Returns the new insertion counter."""
        with self._mutex:
            slot = self._slot(reader)
            if slot.card is not None:
                self.remove(reader)
            with slot.io:
                card.reset()
                slot.card = card
                slot.counter += 1
            self._emit(ReaderEvent(EventKind.CARD_INSERTED, reader, card.atr, slot.counter))
            return slot.counter

    def remove(self, reader: str) -> None:
        with self._mutex:
            slot = self._slot(reader)
            if slot.card is None:
                return
            with slot.io:
                slot.card = None
                slot.counter += 1
            self._emit(ReaderEvent(EventKind.CARD_REMOVED, reader, None, slot.counter))

    def add_reader(self, reader: str) -> None:
        with self._mutex:
            if reader not in self._slots:
                self._slots[reader] = _Slot()
                self._emit(ReaderEvent(EventKind.READER_ADDED, reader))

    def remove_reader(self, reader: str) -> None:
        with self._mutex:
            if self._slots.pop(reader, None) is not None:
                self._emit(ReaderEvent(EventKind.READER_REMOVED, reader))

    def _slot(self, reader: str) -> _Slot:
        try:
            return self._slots[reader]
        except KeyError:
            raise ReaderError(f"lecteur {reader!r} inconnu") from None
