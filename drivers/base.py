"""The reader contract every backend implements (PC/SC, serial CCID, embedded simulator).

These docstrings are the reference for backends (the shape of bleak's `BaseBleakClient`): the reader
manager, the card applications and the kiosk core only ever see these types, so a Vitale card reads the
same through pcscd, a serial GemPC Twin or the simulator.
"""

from __future__ import annotations

import abc
import contextlib
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Self

from drivers.errors import CardSwappedError

__all__ = ["BackendId", "CardChannel", "EventKind", "ReaderBackend", "ReaderEvent", "ReaderInfo"]


class BackendId(str, enum.Enum):
    PCSC = "pcsc"
    SERIAL = "serial"
    SIM = "sim"


class EventKind(str, enum.Enum):
    READER_ADDED = "reader_added"
    READER_REMOVED = "reader_removed"
    CARD_INSERTED = "card_inserted"
    CARD_REMOVED = "card_removed"
    BACKEND_DOWN = "backend_down"  # pcscd gone, serial port vanished: readers are unusable until BACKEND_UP
    BACKEND_UP = "backend_up"


@dataclass(frozen=True, slots=True)
class ReaderEvent:
    kind: EventKind
    reader: str  # the backend's physical reader name ("" for backend-wide events)
    atr: bytes | None = None  # with CARD_INSERTED
    card_counter: int = 0  # changes at every insertion in this reader (GALSS's presence counter)


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    name: str
    backend: BackendId
    card_present: bool
    atr: bytes | None = None
    card_counter: int = 0


class CardChannel(abc.ABC):
    """A connection to the card present in one reader when `connect()` was called.

    `card_counter` is the reader's insertion counter at connect time; `transmit` raises `CardSwappedError`
    once that card has left the reader, even if another card is now in it.
    """

    atr: bytes
    reader: str
    card_counter: int

    @abc.abstractmethod
    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU, return the response APDU with its two status bytes (no 61xx/6Cxx handling here:
        see `drivers.apdu`). Raises `ReaderError` on transport failure, `CardSwappedError` if the card left."""

    @abc.abstractmethod
    def begin_transaction(self) -> None:
        """Take exclusive use of the card (PC/SC `SCardBeginTransaction`; a lock for other backends)."""

    @abc.abstractmethod
    def end_transaction(self) -> None:
        """Release exclusive use."""

    @abc.abstractmethod
    def close(self) -> None:
        """Disconnect. Idempotent."""

    @abc.abstractmethod
    def current_counter(self) -> int | None:
        """The reader's insertion counter now (None when no card is present)."""

    def ensure_same_card(self) -> None:
        """Refuse a stale read: the card read is not (or no longer) the one in the reader."""
        if self.current_counter() != self.card_counter:
            raise CardSwappedError(f"la carte du lecteur {self.reader!r} a été retirée ou changée")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CardChannel]:
        self.begin_transaction()
        try:
            yield self
        finally:
            self.end_transaction()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReaderBackend(abc.ABC):
    """One family of readers. Events are delivered from the backend's own thread: callbacks must not block
    and must not send APDUs (hand the work to another thread)."""

    id: BackendId

    @abc.abstractmethod
    def start(self, on_event: Callable[[ReaderEvent], None]) -> None:
        """Begin watching readers and cards; emit READER_ADDED / CARD_INSERTED for what is already there."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop watching and release every resource. Idempotent; returns promptly (no polling interval to wait)."""

    @abc.abstractmethod
    def readers(self) -> list[ReaderInfo]:
        """Readers seen now."""

    @abc.abstractmethod
    def connect(self, reader: str) -> CardChannel:
        """Connect to the card in `reader`. `ReaderError` if there is no such reader or no card."""
