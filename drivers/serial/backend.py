"""The serial reader backend: GemPC Twin family readers (serial CCID) and GemCore readers (GBP, see
`gemcore.py`) on serial ports, behind `drivers.base`.

One supervisor thread per reader owns its life cycle: open the port, check that a reader answers (firmware
escape), switch card-movement notifications to asynchronous mode, read the slot status, then turn the reader's
`50 03` / `50 02` notifications into CARD_INSERTED / CARD_REMOVED without ever polling the card. When the port
vanishes the reader is removed (event) and the supervisor blocks until the device is back (inotify on its
directory, see `port.py`), then adds it again: no restart needed.

Like pcscd, the backend powers a card up when it arrives, so that CARD_INSERTED carries the ATR. Each
insertion bumps the reader's counter; a channel opened on an earlier card gets `CardSwappedError`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from drivers.base import BackendId, CardChannel, EventKind, ReaderBackend, ReaderEvent, ReaderInfo
from drivers.errors import CardSwappedError, ReaderError
from drivers.serial import ccid
from drivers.serial.gemcore import GemCoreLink
from drivers.serial.link import LinkTimeouts, ReaderLink, ReaderUnresponsiveError, SerialLink
from drivers.serial.models import model as model_named
from drivers.serial.port import open_port, wait_for_device

__all__ = ["NOTIFY_ASYNC", "SerialBackend", "SerialChannel", "SerialReaderSpec"]

log = logging.getLogger(__name__)

# Card-movement notification mode. libccid sends `01 01 01` ("synchronous": notifications only after a host
# command's echo, before its answer) because pcscd polls anyway; the kiosk wants them as they happen.
NOTIFY_ASYNC = b"\x01\x01\x00"
FIRMWARE_TIMEOUT_S = 2.0  # as libccid: do not wait long for a reader that is not there
EXCLUSIVE_WAIT_S = 30.0  # longest wait for another session's exclusive use of the card


@dataclass(frozen=True)
class SerialReaderSpec:
    port: str  # device path or pyserial URL
    model: str = "GemPCTwin"
    protocol: str = "ccid"  # or "gbp": GemCore readers (see gemcore.py)
    baud: int = 115200
    echo: bool | None = None  # None: the model's behaviour
    name: str = ""  # physical reader name; default "<model> <port>"
    timeouts: LinkTimeouts = field(default_factory=LinkTimeouts)

    @property
    def reader_name(self) -> str:
        return self.name or f"{model_named(self.model).name} {self.port}"

    @property
    def echoes(self) -> bool:
        return model_named(self.model).echo if self.echo is None else self.echo

    @classmethod
    def from_config(cls, reader: Any) -> SerialReaderSpec:
        """From a `[[readers]]` entry (`kiosk.config.schema_readers.ReaderConfig`) with backend = "serial"."""
        echo = getattr(reader, "echo", "auto")
        return cls(port=reader.port, model=reader.model, baud=reader.baud, protocol=reader.protocol,
                   echo=None if echo in ("auto", None) else echo in ("on", True))


class _Exclusive:
    """GALSS's DebutExclusivite/FinExclusivite for one reader: re-entrant for its owner, bounded wait."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: object | None = None
        self._depth = 0

    def acquire(self, owner: object, timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._owner is None or self._owner is owner, timeout):
                raise ReaderError("lecteur occupé par une autre session (exclusivité non obtenue)")
            self._owner = owner
            self._depth += 1

    def release(self, owner: object, all_levels: bool = False) -> None:
        with self._cond:
            if self._owner is not owner:
                return
            self._depth = 0 if all_levels else self._depth - 1
            if self._depth <= 0:
                self._owner, self._depth = None, 0
                self._cond.notify_all()

    @contextlib.contextmanager
    def held(self, owner: object, timeout: float) -> Iterator[None]:
        self.acquire(owner, timeout)
        try:
            yield
        finally:
            self.release(owner)


class _SerialReader:
    def __init__(self, spec: SerialReaderSpec, emit: Callable[[ReaderEvent], None]) -> None:
        self.spec = spec
        self.name = spec.reader_name
        self._emit = emit
        self._state = threading.Lock()
        self._events: queue.Queue[tuple[str, object, object]] = queue.Queue()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.exclusive = _Exclusive()
        self.link: ReaderLink | None = None
        self.firmware = ""
        self.present = False
        self.powered = False
        self.atr: bytes | None = None
        self.counter = 0
        self._thread: threading.Thread | None = None

    # -- life cycle (supervisor thread) ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name=f"serial {self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._events.put(("stop", None, None))
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout=1)
            link = self.link
            if self._thread.is_alive() and link is not None:
                link.close()  # an exchange in progress (a silent reader) must not hold stop() up
                self._thread.join(timeout=2)

    def _supervise(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            link = self._open()
            if link is None:
                if not wait_for_device(self.spec.port, self._stop, self._wake, attempt):
                    return
                attempt += 1
                continue
            attempt = 0
            self._serve(link)

    def _open(self) -> ReaderLink | None:
        opened = self._handshake()
        if opened is None:
            return None
        link, status = opened
        with self._state:
            self.link = link
            self.present = status.icc != ccid.IccStatus.ABSENT
            self.powered = False
        log.info("lecteur série %s prêt (firmware %s)", self.name, self.firmware or "?")
        return link

    def probe(self) -> ReaderInfo | None:
        """A one-shot look without watching (`kiosk readers` with the backend not started): open the port, ask
        the reader, power a card up for its ATR, close. None when no reader answers."""
        opened = self._handshake()
        if opened is None:
            return None
        link, status = opened
        try:
            present = status.icc != ccid.IccStatus.ABSENT
            atr = None
            if present:
                with contextlib.suppress(ReaderError):
                    answer = link.command(ccid.Command.POWER_ON)
                    atr = None if answer.failed else answer.data
            return ReaderInfo(self.name, BackendId.SERIAL, present, atr, 1 if present else 0)
        finally:
            link.close()

    def _handshake(self) -> tuple[ReaderLink, ccid.Response] | None:
        """Open the port and check that a reader answers (firmware, notification mode, slot status)."""
        link: ReaderLink | None = None
        callbacks: dict[str, Any] = {
            "on_slot_change": lambda present: self._events.put(("slot", link, present)),
            "on_lost": lambda error: self._events.put(("lost", link, error)),
        }
        try:
            if self.spec.protocol == "gbp":
                link = GemCoreLink.open(self.spec.port, timeouts=self.spec.timeouts, name=self.name, **callbacks)
                port = link.port
            else:
                port = open_port(self.spec.port, self.spec.baud)
        except ReaderError as e:
            log.debug("%s", e)
            return None
        try:
            if link is None:
                link = SerialLink(port, self.spec.echoes, timeouts=self.spec.timeouts, name=self.name, **callbacks)
            fw = link.command(
                ccid.Command.ESCAPE, model_named(self.spec.model).init_escape, answer_s=FIRMWARE_TIMEOUT_S
            )
            self.firmware = fw.data.rstrip(b"\x00").decode("ascii", "replace")
            if self.spec.echo is None and link.echo_seen != link.echo:
                # "auto": believe the line rather than the model table (a waited-for echo that never comes
                # would make every slow answer look lost; an unexpected one is merely skipped).
                log.info("lecteur série %s : écho %s", self.name, "présent" if link.echo_seen else "absent")
                link.echo = bool(link.echo_seen)
            link.command(ccid.Command.ESCAPE, NOTIFY_ASYNC)
            status = link.command(ccid.Command.GET_SLOT_STATUS)
        except ReaderError as e:
            log.warning("lecteur série %s : pas de lecteur qui réponde (%s)", self.name, e)
            if link is not None:
                link.close()
            else:
                port.close()
            return None
        return link, status

    def _serve(self, link: ReaderLink) -> None:
        self._emit(ReaderEvent(EventKind.READER_ADDED, self.name))
        if self.present:
            self._card_arrived(link)
        while True:
            kind, source, value = self._events.get()
            if kind == "stop":
                break
            if source is not link:
                continue  # from a previous connection
            if kind == "lost":
                break
            if kind == "slot":
                if value and not self.present:
                    self._card_arrived(link)
                elif not value and self.present:
                    self._card_left()
                elif value:  # removed and inserted again faster than we saw: a new card all the same
                    self._card_left()
                    self._card_arrived(link)
        if self._stop.is_set() and self.powered:
            with contextlib.suppress(ReaderError):
                link.command(ccid.Command.POWER_OFF)  # leave the card unpowered, as pcscd does on exit
        with self._state:
            self.link = None
        link.close()
        if self._stop.is_set():  # stop() releases; it does not report removals to whoever is tearing down
            with self._state:
                self.present = self.powered = False
            return
        if self.present:
            self._card_left()
        self._emit(ReaderEvent(EventKind.READER_REMOVED, self.name))

    def _card_arrived(self, link: ReaderLink) -> None:
        with self._state:
            self.present, self.powered, self.atr = True, False, None
            self.counter += 1
            counter = self.counter
        try:
            self._power_on(link, counter)
        except ReaderError as e:
            log.info("%s : carte insérée mais pas de réponse à la mise sous tension (%s)", self.name, e)
        self._emit(ReaderEvent(EventKind.CARD_INSERTED, self.name, atr=self.atr, card_counter=counter))

    def _card_left(self) -> None:
        with self._state:
            self.present, self.powered, self.atr = False, False, None
            counter = self.counter
        self._emit(ReaderEvent(EventKind.CARD_REMOVED, self.name, card_counter=counter))

    def _missed_movement(self, present: bool) -> None:
        """A command's slot status contradicts what the notifications said (one was lost on the line):
        report it as the notification would have been (present again = a new card)."""
        self._events.put(("slot", self.link, present))

    # -- card operations (callers' threads) -----------------------------------------------------------------

    def _power_on(self, link: ReaderLink, counter: int) -> bytes:
        response = self._command(link, ccid.Command.POWER_ON)  # bPowerSelect 0: automatic voltage
        if response.failed or not response.data:
            if response.icc == ccid.IccStatus.ABSENT:
                raise ReaderError(f"pas de carte dans le lecteur {self.name!r}")
            raise ReaderError(f"lecteur {self.name!r} : mise sous tension refusée ({ccid.error_text(response.error)})")
        with self._state:
            if self.counter == counter and self.present:
                self.atr, self.powered = response.data, True
        return response.data

    def _command(self, link: ReaderLink, kind: ccid.Command, data: bytes = b"") -> ccid.Response:
        """`link.command`, and a reader that stopped answering altogether is taken as removed (the supervisor
        reports it and waits for it to answer again)."""
        try:
            return link.command(kind, data)
        except ReaderUnresponsiveError as e:
            self._events.put(("lost", link, e))
            raise

    def info(self) -> ReaderInfo:
        with self._state:
            return ReaderInfo(self.name, BackendId.SERIAL, self.present, self.atr, self.counter)

    @property
    def online(self) -> bool:
        return self.link is not None

    def connect(self) -> SerialChannel:
        with self._state:
            link, present, counter, atr, powered = self.link, self.present, self.counter, self.atr, self.powered
        if link is None:
            raise ReaderError(f"lecteur série {self.name!r} absent (débranché ?)")
        if not present:
            raise ReaderError(f"pas de carte dans le lecteur {self.name!r}")
        if not powered or atr is None:
            atr = self._power_on(link, counter)
        return SerialChannel(self, atr, counter)

    def transmit(self, channel: SerialChannel, apdu: bytes) -> bytes:
        with self.exclusive.held(channel, EXCLUSIVE_WAIT_S):
            link = self.check_card(channel)
            response = self._command(link, ccid.Command.XFR_BLOCK, apdu)
            if response.failed:
                if response.icc == ccid.IccStatus.ABSENT:
                    self._missed_movement(present=False)
                    raise CardSwappedError(f"la carte du lecteur {self.name!r} a été retirée")
                if response.icc == ccid.IccStatus.INACTIVE:
                    if self.powered:  # we never powered it off: it was pulled out and put back unseen
                        self._missed_movement(present=True)
                        raise CardSwappedError(f"la carte du lecteur {self.name!r} a été retirée ou changée")
                    raise ReaderError(f"carte du lecteur {self.name!r} hors tension : reconnectez-vous")
                raise ReaderError(f"lecteur {self.name!r} : échange refusé ({ccid.error_text(response.error)})")
            self.check_card(channel)
            return response.data

    def check_card(self, channel: SerialChannel) -> ReaderLink:
        """The line, if the card `channel` was opened on is still the one in the reader."""
        with self._state:
            link, present, counter = self.link, self.present, self.counter
        if link is None:
            raise ReaderError(f"lecteur série {self.name!r} débranché")
        if not present or counter != channel.card_counter:
            raise CardSwappedError(f"la carte du lecteur {self.name!r} a été retirée ou changée")
        return link

    def power_off(self) -> None:
        """Deactivate the card; the next `connect()` powers it up again (a cold reset)."""
        link = self.link
        if link is None:
            raise ReaderError(f"lecteur série {self.name!r} absent (débranché ?)")
        response = self._command(link, ccid.Command.POWER_OFF)
        with self._state:
            self.powered, self.atr = False, None
        if response.failed:
            raise ReaderError(f"lecteur {self.name!r} : mise hors tension refusée ({ccid.error_text(response.error)})")

    def escape(self, data: bytes) -> bytes:
        link = self.link
        if link is None:
            raise ReaderError(f"lecteur série {self.name!r} absent (débranché ?)")
        response = self._command(link, ccid.Command.ESCAPE, data)
        if response.failed:
            raise ReaderError(
                f"lecteur {self.name!r} : commande spécifique refusée ({ccid.error_text(response.error)})"
            )
        return response.data

    def current_counter(self) -> int | None:
        with self._state:
            return self.counter if self.present and self.link is not None else None


class SerialChannel(CardChannel):
    def __init__(self, reader: _SerialReader, atr: bytes, counter: int) -> None:
        self._reader = reader
        self.reader = reader.name
        self.atr = atr
        self.card_counter = counter
        self._closed = False

    def transmit(self, apdu: bytes) -> bytes:
        if self._closed:
            raise ReaderError(f"connexion à la carte du lecteur {self.reader!r} fermée")
        return self._reader.transmit(self, bytes(apdu))

    def begin_transaction(self) -> None:
        if self._closed:
            raise ReaderError(f"connexion à la carte du lecteur {self.reader!r} fermée")
        self._reader.exclusive.acquire(self, EXCLUSIVE_WAIT_S)
        try:
            self._reader.check_card(self)
        except ReaderError:
            self._reader.exclusive.release(self)
            raise

    def end_transaction(self) -> None:
        self._reader.exclusive.release(self)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._reader.exclusive.release(self, all_levels=True)

    def current_counter(self) -> int | None:
        return self._reader.current_counter()


class SerialBackend(ReaderBackend):
    """Serial CCID readers, one per configured port."""

    id = BackendId.SERIAL

    def __init__(self, specs: Sequence[SerialReaderSpec]) -> None:
        names = [s.reader_name for s in specs]
        if len(set(names)) != len(names):
            raise ReaderError("deux lecteurs série portent le même nom")
        self._on_event: Callable[[ReaderEvent], None] = lambda event: None
        self._readers = {s.reader_name: _SerialReader(s, self._emit) for s in specs}
        self._started = False

    @classmethod
    def from_config(cls, readers: Iterable[Any]) -> SerialBackend:
        """One reader per `[[readers]]` entry with backend = "serial"; each is named "<model> <port>", the name a
        logical reader's `match` can select when several serial readers are configured."""
        return cls([SerialReaderSpec.from_config(r) for r in readers if str(r.backend) == BackendId.SERIAL.value])

    def _emit(self, event: ReaderEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a consumer's bug must not kill the reader's supervisor
            log.exception("erreur dans le traitement d'un événement lecteur")

    def start(self, on_event: Callable[[ReaderEvent], None]) -> None:
        if self._started:
            raise ReaderError("backend série déjà démarré")
        self._started = True
        self._on_event = on_event
        for reader in self._readers.values():
            reader.start()

    def stop(self) -> None:
        for reader in self._readers.values():
            reader.stop()

    def readers(self) -> list[ReaderInfo]:
        """Readers online; before `start()`, a one-shot probe of each port (which must then be free)."""
        if not self._started:
            return [info for r in self._readers.values() if (info := r.probe()) is not None]
        return [r.info() for r in self._readers.values() if r.online]

    def link(self, name: str) -> ReaderLink | None:
        """The open line to reader `name` (None while unplugged): its echo setting and repair counters."""
        return self._reader(name).link

    def _reader(self, name: str) -> _SerialReader:
        reader = self._readers.get(name)
        if reader is None:
            raise ReaderError(f"lecteur série inconnu : {name!r}")
        return reader

    def connect(self, reader: str) -> CardChannel:
        return self._reader(reader).connect()

    def escape(self, reader: str, data: bytes) -> bytes:
        """A reader-specific command (CCID Escape), e.g. `02` for the firmware string."""
        return self._reader(reader).escape(data)

    def power_off(self, reader: str) -> None:
        """Deactivate the card in `reader` (channels on it then fail: a powered-off card lost its state)."""
        self._reader(reader).power_off()

    def firmware(self, reader: str) -> str:
        return self._reader(reader).firmware
