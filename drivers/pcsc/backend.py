"""The PC/SC backend: one thread blocked in `SCardGetStatusChange(INFINITE)` over every reader plus
`\\\\?PnP?\\Notification`, woken only by pcscd (reader hot-plug, card movement) or by `SCardCancel` from
`stop()`. When pcscd goes away (`SCARD_E_NO_SERVICE` / `SCARD_E_SERVICE_STOPPED`) the context is rebuilt with
exponential back-off and the readers come back by themselves. No polling, and never an APDU in this thread:
`connect()` gives each caller its own context (`drivers.pcsc.channel`).

The insertion counter is pcsc-lite's event counter (upper 16 bits of the event state): it changes at every
insertion and removal, so a card swapped between two wake-ups is still seen as removed then inserted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from smartcard import scard

from drivers.base import BackendId, CardChannel, EventKind, ReaderBackend, ReaderEvent, ReaderInfo
from drivers.errors import ReaderError
from drivers.pcsc.channel import open_channel

__all__ = ["PcscBackend"]

log = logging.getLogger(__name__)

PNP = "\\\\?PnP?\\Notification"
_SERVICE_LOST = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE}
_RELIST = {scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE}


@dataclass
class _Seen:
    present: bool = False
    counter: int = 0
    atr: bytes = b""


class PcscBackend(ReaderBackend):
    id = BackendId.PCSC

    def __init__(self, backoff_min: float = 0.1, backoff_max: float = 5.0) -> None:
        self.backoff_min, self.backoff_max = backoff_min, backoff_max  # seconds
        self._lock = threading.Lock()
        self._ctx: int | None = None
        self._seen: dict[str, _Seen] = {}
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._on_event: Callable[[ReaderEvent], None] = lambda e: None
        self.up = threading.Event()  # set while pcscd answers (tests and diagnostics)

    # -- contract
    def start(self, on_event: Callable[[ReaderEvent], None]) -> None:
        if self._thread is not None:
            raise RuntimeError("backend already started")
        self._on_event = on_event
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="pcsc-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._ctx is not None:
                scard.SCardCancel(self._ctx)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def readers(self) -> list[ReaderInfo]:
        if self._thread is not None:
            with self._lock:
                return [ReaderInfo(n, self.id, s.present, s.atr if s.present else None, s.counter)
                        for n, s in self._seen.items()]
        return self._snapshot()

    def connect(self, reader: str) -> CardChannel:
        return open_channel(reader)

    # -- one-shot listing when not watching (kiosk readers)
    def _snapshot(self) -> list[ReaderInfo]:
        rc, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if rc != scard.SCARD_S_SUCCESS:
            raise ReaderError(f"pcscd injoignable : {scard.SCardGetErrorMessage(rc)}")
        try:
            names = self._list(ctx)
            if not names:
                return []
            rc, states = scard.SCardGetStatusChange(ctx, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names])
            if rc != scard.SCARD_S_SUCCESS:
                raise ReaderError(f"état des lecteurs illisible : {scard.SCardGetErrorMessage(rc)}")
            out = []
            for name, event, atr in states:
                present = bool(event & scard.SCARD_STATE_PRESENT)
                out.append(ReaderInfo(name, self.id, present, bytes(atr) if present else None, (event >> 16) & 0xFFFF))
            return out
        finally:
            scard.SCardReleaseContext(ctx)

    @staticmethod
    def _list(ctx: int) -> list[str]:
        rc, names = scard.SCardListReaders(ctx, [])
        if rc in (scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_E_READER_UNAVAILABLE):
            return []
        if rc != scard.SCARD_S_SUCCESS:
            raise _ServiceLost(rc)
        return list(names)

    # -- the event thread
    def _emit(self, kind: EventKind, reader: str = "", atr: bytes | None = None, counter: int = 0) -> None:
        try:
            self._on_event(ReaderEvent(kind, reader, atr, counter))
        except Exception:  # a faulty observer must not kill the watcher
            log.exception("reader event handler failed on %s", kind.value)

    def _run(self) -> None:
        delay = self.backoff_min
        down_reported = False
        while not self._stopping.is_set():
            rc, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if rc != scard.SCARD_S_SUCCESS:
                if not down_reported:
                    log.warning("pcscd injoignable (%s) : nouvel essai avec attente croissante",
                                scard.SCardGetErrorMessage(rc))
                    self._emit(EventKind.BACKEND_DOWN)
                    down_reported = True
                self._stopping.wait(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            with self._lock:
                self._ctx = ctx
            try:
                if down_reported:
                    log.warning("pcscd de nouveau joignable")
                    self._emit(EventKind.BACKEND_UP)
                    down_reported = False
                delay = self.backoff_min
                self.up.set()
                self._watch(ctx)
            except _ServiceLost as e:
                log.warning("pcscd perdu (%s) : reconstruction du contexte", scard.SCardGetErrorMessage(e.rc))
                self.up.clear()
                self._emit(EventKind.BACKEND_DOWN)
                self._forget_all()
                down_reported = True
            finally:
                with self._lock:
                    self._ctx = None
                scard.SCardReleaseContext(ctx)
        self.up.clear()

    def _forget_all(self) -> None:
        with self._lock:
            seen, self._seen = self._seen, {}
        for name, state in seen.items():
            if state.present:
                self._emit(EventKind.CARD_REMOVED, name, None, state.counter)
            self._emit(EventKind.READER_REMOVED, name)

    def _sync_readers(self, ctx: int, states: dict[str, int]) -> None:
        names = self._list(ctx)
        for gone in [n for n in states if n != PNP and n not in names]:
            del states[gone]
            with self._lock:
                state = self._seen.pop(gone, _Seen())
            if state.present:
                self._emit(EventKind.CARD_REMOVED, gone, None, state.counter)
            self._emit(EventKind.READER_REMOVED, gone)
        for name in names:
            if name not in states:
                states[name] = scard.SCARD_STATE_UNAWARE
                with self._lock:
                    self._seen[name] = _Seen()
                self._emit(EventKind.READER_ADDED, name)

    def _watch(self, ctx: int) -> None:
        states: dict[str, int] = {PNP: scard.SCARD_STATE_UNAWARE}
        self._sync_readers(ctx, states)
        while not self._stopping.is_set():
            rc, changes = scard.SCardGetStatusChange(ctx, scard.INFINITE, list(states.items()))
            if rc == scard.SCARD_E_CANCELLED or self._stopping.is_set():
                return
            if rc in _SERVICE_LOST:
                raise _ServiceLost(rc)
            if rc in _RELIST:
                self._sync_readers(ctx, states)
                continue
            if rc == scard.SCARD_E_TIMEOUT:
                continue
            if rc != scard.SCARD_S_SUCCESS:
                raise _ServiceLost(rc)
            relist = False
            for name, event, atr in changes:
                if name == PNP:
                    relist |= bool(event & scard.SCARD_STATE_CHANGED)
                    states[PNP] = event & ~scard.SCARD_STATE_CHANGED
                    continue
                if name not in states:
                    continue
                if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_IGNORE):
                    relist = True
                    continue
                states[name] = event & ~scard.SCARD_STATE_CHANGED
                self._card_state(name, event, bytes(atr))
            if relist:
                self._sync_readers(ctx, states)

    def _card_state(self, name: str, event: int, atr: bytes) -> None:
        # A mute card is reported too (family unknown, empty ATR): the desk can say it does not answer.
        present = bool(event & scard.SCARD_STATE_PRESENT)
        counter = (event >> 16) & 0xFFFF
        with self._lock:
            seen = self._seen.setdefault(name, _Seen())
            was_present, old_counter = seen.present, seen.counter
            seen.present, seen.counter, seen.atr = present, counter, atr if present else b""
        if was_present and (not present or counter != old_counter):
            self._emit(EventKind.CARD_REMOVED, name, None, old_counter)
        if present and (not was_present or counter != old_counter):
            self._emit(EventKind.CARD_INSERTED, name, atr, counter)


class _ServiceLost(Exception):
    def __init__(self, rc: int) -> None:
        super().__init__(rc)
        self.rc = rc
