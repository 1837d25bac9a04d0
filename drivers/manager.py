"""The reader manager, GALSS-style: logical readers over physical ones, sessions with exclusive access, and
card-swap detection.

- Logical readers come from `[[readers]]` (any object with `name`, `role`, `backend`, `match`: the kiosk
  passes its `ReaderConfig`s, tests a `LogicalReaderSpec`); each binds to the first physical reader of its
  backend whose name matches the glob `match` and is not taken. With no configuration, two logical readers
  exist, "patient" and "staff", bound on first use: the first reader that receives a Vitale card becomes the
  patient reader, the first that receives a CPx card the staff reader. A physical reader's own name is
  accepted wherever a logical name is.
- `session(name, expect_counter=...)` connects, takes the backend's exclusive transaction (PC/SC
  `SCardBeginTransaction`, a lock on the simulator) and refuses the card if it is not the one that was read
  (insertion counter): one patient's data is never used against another's card.
- Backends are injected (`backends=[...]`, bleak-style), so tests and `kiosk demo` run on `SimBackend`.
Events reach `on_event` from the backends' threads: handlers must return quickly and send no APDU.
"""

from __future__ import annotations

import contextlib
import enum
import fnmatch
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self

from drivers.atr import CardFamily, CardKind, classify
from drivers.base import BackendId, CardChannel, EventKind, ReaderBackend, ReaderEvent
from drivers.errors import CardSwappedError, ReaderError

__all__ = ["LogicalReader", "LogicalReaderSpec", "ManagerEvent", "ManagerEventKind", "ReaderManager", "create_backend"]

log = logging.getLogger(__name__)

DEFAULT_READERS = ("patient", "staff")
SESSION_WAIT_S = 15.0  # seconds a session waits for another one on the same reader (GALSS's exclusivity bound)
_ROLE_KIND = {"patient": CardKind.VITALE, "staff": CardKind.CPX}


@dataclass(frozen=True)
class LogicalReaderSpec:
    """The fields of `kiosk.config.ReaderConfig` the manager uses (drivers does not import kiosk)."""

    name: str
    role: str = "any"  # patient / staff / any
    backend: str = "pcsc"
    match: str = ""


class ManagerEventKind(str, enum.Enum):
    CARD_INSERTED = "card_inserted"
    CARD_REMOVED = "card_removed"
    READER_GONE = "reader_gone"
    READER_BACK = "reader_back"
    BACKEND_DOWN = "backend_down"
    BACKEND_UP = "backend_up"


@dataclass(frozen=True)
class ManagerEvent:
    kind: ManagerEventKind
    logical: str | None  # None: a physical reader no logical reader is bound to
    physical: str = ""
    backend: BackendId | None = None
    family: CardFamily = CardFamily.UNKNOWN
    card_counter: int = 0
    atr: bytes | None = None
    role_ok: bool = True  # False: e.g. a CPx card in the patient reader

    @property
    def card_kind(self) -> CardKind:
        return self.family.kind


@dataclass(frozen=True)
class LogicalReader:
    name: str
    role: str
    backend: str
    match: str
    physical: str | None = None  # bound physical reader, if any
    card_present: bool = False
    family: CardFamily = CardFamily.UNKNOWN
    card_counter: int = 0
    atr: bytes | None = None


@dataclass
class _Physical:
    backend: ReaderBackend
    present: bool = False
    counter: int = 0
    atr: bytes | None = None
    family: CardFamily = CardFamily.UNKNOWN


@dataclass
class _State:
    logical: dict[str, LogicalReader] = field(default_factory=dict)
    physical: dict[tuple[BackendId, str], _Physical] = field(default_factory=dict)


def create_backend(backend_id: str, readers_config: Sequence[Any] = ()) -> ReaderBackend:
    """The backend for an id, imported lazily (pyscard only when PC/SC is used). The serial backend takes
    its ports from the `[[readers]]` entries."""
    if backend_id == BackendId.PCSC.value:
        from drivers.pcsc.backend import PcscBackend

        return PcscBackend()
    if backend_id == BackendId.SIM.value:
        from drivers.sim.backend import SimBackend

        return SimBackend()
    if backend_id == BackendId.SERIAL.value:
        from drivers.serial.backend import SerialBackend

        return SerialBackend.from_config(readers_config)
    raise ReaderError(f"backend {backend_id!r} inconnu (pcsc, serial, sim)")


class ReaderManager:
    def __init__(self, readers_config: Iterable[Any] = (), backends: Sequence[ReaderBackend] | None = None) -> None:
        readers_config = list(readers_config)
        specs = [LogicalReaderSpec(r.name, r.role, str(r.backend), r.match) for r in readers_config]
        self.configured = bool(specs)
        if not specs:
            specs = [LogicalReaderSpec(n, n, "", "") for n in DEFAULT_READERS]
        if backends is None:
            backends = [create_backend(b, readers_config) for b in dict.fromkeys(s.backend or "pcsc" for s in specs)]
        self.backends = list(backends)
        self._specs = specs
        self._state = _State({s.name: LogicalReader(s.name, s.role, s.backend, s.match) for s in specs})
        self._cond = threading.Condition()
        self._on_event: Callable[[ManagerEvent], None] = lambda e: None
        self._session_locks: dict[tuple[BackendId, str], threading.Lock] = {}
        self._started = False

    # -- lifecycle
    def start(self, on_event: Callable[[ManagerEvent], None] | None = None) -> None:
        self._on_event = on_event or (lambda e: None)
        self._started = True
        for backend in self.backends:
            backend.start(functools.partial(self._handle, backend))

    def stop(self) -> None:
        for backend in self.backends:
            backend.stop()
        self._started = False

    def prime(self) -> None:
        """Without starting the watchers, take what the backends see now (one-shot listings: `kiosk readers`),
        bound to logical readers by the same rules as live events."""
        for backend in self.backends:
            for info in backend.readers():
                self._handle(backend, ReaderEvent(EventKind.READER_ADDED, info.name))
                if info.card_present:
                    self._handle(backend, ReaderEvent(EventKind.CARD_INSERTED, info.name, info.atr, info.card_counter))

    def __enter__(self) -> Self:
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queries
    def logical_readers(self) -> list[LogicalReader]:
        with self._cond:
            return list(self._state.logical.values())

    def physical_readers(self) -> list[tuple[BackendId, str, bool, CardFamily, str | None]]:
        """(backend, physical name, card present, family, logical name bound or None)."""
        with self._cond:
            bound = {(self._backend_of(lr), lr.physical): lr.name for lr in self._state.logical.values() if lr.physical}
            return [
                (b, name, p.present, p.family, bound.get((b, name))) for (b, name), p in self._state.physical.items()
            ]

    def reader(self, name: str) -> LogicalReader:
        with self._cond:
            lr = self._state.logical.get(name)
            if lr is not None:
                return lr
            for (bid, phys), p in self._state.physical.items():
                if phys == name:
                    return LogicalReader(phys, "any", bid.value, phys, phys, p.present, p.family, p.counter, p.atr)
        known = ", ".join(self._state.logical) or "aucun"
        raise ReaderError(f"lecteur {name!r} inconnu (lecteurs logiques : {known})")

    def wait_for_card(self, name: str | None = None, timeout: float | None = None,
                      kind: CardKind | None = None) -> LogicalReader:
        """Block until a card is present in `name` (any reader when None, then the first logical one with a
        card, else a physical one). `ReaderError` after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._find_card(name, kind)
                if found is not None:
                    return found
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    where = f"dans le lecteur {name!r}" if name else "dans aucun lecteur"
                    raise ReaderError(f"pas de carte {where} après {timeout:g} s")
                self._cond.wait(left)

    def _find_card(self, name: str | None, kind: CardKind | None) -> LogicalReader | None:
        def fits(lr: LogicalReader) -> bool:
            return lr.card_present and (kind is None or lr.family.kind is kind)

        if name is not None:
            lr = self._state.logical.get(name)
            if lr is None:
                for (bid, phys), p in self._state.physical.items():
                    if phys == name:
                        lr = LogicalReader(phys, "any", bid.value, phys, phys, p.present, p.family, p.counter, p.atr)
            return lr if lr is not None and fits(lr) else None
        for lr in self._state.logical.values():
            if fits(lr):
                return lr
        for (bid, phys), p in self._state.physical.items():
            lr = LogicalReader(phys, "any", bid.value, phys, phys, p.present, p.family, p.counter, p.atr)
            if fits(lr):
                return lr
        return None

    # -- sessions
    @contextlib.contextmanager
    def session(self, name: str, expect_counter: int | None = None,
                wait_s: float | None = SESSION_WAIT_S) -> Iterator[CardChannel]:
        """An exclusive channel to the card in logical reader `name`. With `expect_counter`, the card must be
        the one inserted then (`CardSwappedError` otherwise): use it to act on a card read earlier.

        Exclusivity is GALSS's: within this process, waiting for another session on the same reader is bounded
        by `wait_s` seconds (`ReaderError` "occupé" after it; None waits for ever); across processes, pcscd's
        transaction serialises (PC/SC gives no bound there)."""
        backend, physical = self._resolve(name)
        with self._cond:
            lock = self._session_locks.setdefault((backend.id, physical), threading.Lock())
        if not lock.acquire(timeout=-1 if wait_s is None else wait_s):
            raise ReaderError(f"lecteur {name!r} occupé par une autre opération depuis plus de {wait_s:g} s")
        try:
            channel = backend.connect(physical)
            try:
                channel.begin_transaction()
                try:
                    if expect_counter is not None and channel.card_counter != expect_counter:
                        raise CardSwappedError(f"la carte du lecteur {name!r} n'est plus celle qui a été lue")
                    yield channel
                finally:
                    channel.end_transaction()
            finally:
                channel.close()
        finally:
            lock.release()

    def ensure_current(self, name: str, card_counter: int) -> None:
        """Refuse a stale read: `CardSwappedError` unless the card read (at `card_counter`) is still in `name`."""
        with self.session(name, expect_counter=card_counter):
            pass

    def _resolve(self, name: str) -> tuple[ReaderBackend, str]:
        with self._cond:
            lr = self._state.logical.get(name)
            if lr is not None:
                if lr.physical is None:
                    raise ReaderError(f"aucun lecteur physique n'est associé au lecteur {name!r}")
                return self._backend_obj(lr), lr.physical
            for (bid, phys), p in self._state.physical.items():
                if phys == name:
                    return p.backend, phys
        if not self._started:  # one-shot use (CLI): look the name up in the backends directly
            for backend in self.backends:
                if any(r.name == name for r in backend.readers()):
                    return backend, name
        raise ReaderError(f"lecteur {name!r} inconnu ou absent")

    def _backend_of(self, lr: LogicalReader) -> BackendId:
        return BackendId(lr.backend) if lr.backend else self._backend_obj(lr).id

    def _backend_obj(self, lr: LogicalReader) -> ReaderBackend:
        for key, p in self._state.physical.items():
            if key[1] == lr.physical and (not lr.backend or key[0].value == lr.backend):
                return p.backend
        raise ReaderError(f"le lecteur {lr.name!r} n'est plus disponible")

    # -- events from backends (their threads)
    def _handle(self, backend: ReaderBackend, ev: ReaderEvent) -> None:
        out: list[ManagerEvent] = []
        with self._cond:
            key = (backend.id, ev.reader)
            if ev.kind is EventKind.READER_ADDED:
                self._state.physical[key] = _Physical(backend)
                bound_name = self._bind_configured(backend, ev.reader)
                out.append(ManagerEvent(ManagerEventKind.READER_BACK, bound_name, ev.reader, backend.id))
            elif ev.kind is EventKind.READER_REMOVED:
                self._state.physical.pop(key, None)
                bound = self._bound_to(backend.id, ev.reader)
                if not bound:
                    out.append(ManagerEvent(ManagerEventKind.READER_GONE, None, ev.reader, backend.id))
                for lr in bound:
                    self._state.logical[lr.name] = replace(lr, physical=None, card_present=False, atr=None,
                                                           family=CardFamily.UNKNOWN)
                    out.append(ManagerEvent(ManagerEventKind.READER_GONE, lr.name, ev.reader, backend.id))
                    if self.configured:
                        self._rebind(lr.name)
            elif ev.kind in (EventKind.CARD_INSERTED, EventKind.CARD_REMOVED):
                phys = self._state.physical.setdefault(key, _Physical(backend))
                inserted = ev.kind is EventKind.CARD_INSERTED
                phys.present, phys.counter = inserted, ev.card_counter
                phys.atr = ev.atr if inserted else None
                phys.family = classify(ev.atr).family if inserted and ev.atr else CardFamily.UNKNOWN
                if inserted and not self.configured:
                    self._bind_default(backend.id, ev.reader, phys.family)
                bound = self._bound_to(backend.id, ev.reader)
                for lr in bound:
                    self._state.logical[lr.name] = replace(lr, card_present=inserted, family=phys.family,
                                                           card_counter=ev.card_counter, atr=phys.atr)
                kind = ManagerEventKind.CARD_INSERTED if inserted else ManagerEventKind.CARD_REMOVED
                targets: list[LogicalReader | None] = list(bound) or [None]
                for target in targets:
                    role_ok = target is None or _ROLE_KIND.get(target.role) in (None, phys.family.kind) or not inserted
                    out.append(ManagerEvent(kind, target.name if target else None, ev.reader, backend.id, phys.family,
                                            ev.card_counter, phys.atr, role_ok))
            elif ev.kind in (EventKind.BACKEND_DOWN, EventKind.BACKEND_UP):
                kind = (
                    ManagerEventKind.BACKEND_DOWN if ev.kind is EventKind.BACKEND_DOWN else ManagerEventKind.BACKEND_UP
                )
                out.append(ManagerEvent(kind, None, "", backend.id))
            self._cond.notify_all()
        for event in out:
            try:
                self._on_event(event)
            except Exception:
                log.exception("reader manager event handler failed")

    def _bound_to(self, bid: BackendId, physical: str) -> list[LogicalReader]:
        return [lr for lr in self._state.logical.values()
                if lr.physical == physical and (not lr.backend or lr.backend == bid.value)]

    def _bind_configured(self, backend: ReaderBackend, physical: str) -> str | None:
        """Bind the first unbound configured logical reader this physical reader matches."""
        if not self.configured:
            return None
        if self._bound_to(backend.id, physical):
            return None
        for lr in self._state.logical.values():
            if (
                lr.physical is None
                and lr.backend == backend.id.value
                and fnmatch.fnmatchcase(physical, lr.match or "*")
            ):
                self._state.logical[lr.name] = replace(lr, physical=physical)
                return lr.name
        return None

    def _rebind(self, name: str) -> None:
        """A configured reader lost its device: take another matching one already present, if any."""
        taken = {lr.physical for lr in self._state.logical.values() if lr.physical}
        lr = self._state.logical[name]
        for (bid, phys), p in self._state.physical.items():
            if phys not in taken and bid.value == lr.backend and fnmatch.fnmatchcase(phys, lr.match or "*"):
                self._state.logical[name] = replace(lr, physical=phys, card_present=p.present, family=p.family,
                                                    card_counter=p.counter, atr=p.atr)
                return

    def _bind_default(self, bid: BackendId, physical: str, family: CardFamily) -> None:
        """No configuration: the first reader that gets a Vitale card is "patient", a CPx card's is "staff"."""
        role = {CardKind.VITALE: "patient", CardKind.CPX: "staff"}.get(family.kind)
        if role is None or self._bound_to(bid, physical):
            return
        lr = self._state.logical[role]
        if lr.physical is None:
            self._state.logical[role] = replace(lr, physical=physical, backend=bid.value)
