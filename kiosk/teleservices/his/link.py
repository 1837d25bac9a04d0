"""The MLLP link to the hospital's interface engine: python-hl7's asyncio streams on a thread of their own.

- Connections opened on demand (plain TCP or TLS with an optional client certificate), up to
  `max_connections` so that the PDQ queries of a family card go out together; one exchange at a time on
  each: a message is written, then answers are read until the one whose MSA-2 is that message's control id
  arrives. An answer for another control id (a duplicate ACK for a message already
  acknowledged, a late one after a timeout) is ignored and counted.
- Identity messages (ADT) go through an outbox held in memory only (no patient data at rest): sent in
  order; an exchange that fails (connection lost, no answer in time) is retried with exponential back-off
  (reconnecting each time); an AA removes it; AE / AR keep it listed, refused, with the ERR text, until
  the receptionist drops it. A message still unacknowledged when the kiosk stops is lost, by design.
- Queries (PDQ, ping) are sent at once, never retried: the receptionist is waiting for them.

Nothing here logs a message above DEBUG.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import itertools
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

from hl7.mllp import open_hl7_connection
from hl7.mllp.exceptions import InvalidBlockError

from kiosk.errors import TeleserviceError
from kiosk.teleservices.his.messages import Outgoing
from kiosk.teleservices.his.model import AckCode
from kiosk.teleservices.his.replies import Ack, HisReplyError, parse_ack

__all__ = ["Backoff", "HisLinkError", "MllpLink", "PendingState", "PendingView"]

log = logging.getLogger(__name__)


class HisLinkError(TeleserviceError):
    """The hospital system could not be reached, or did not answer in time."""


class PendingState(str, enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"  # no ACK yet: sent again after the back-off
    REFUSED = "refused"  # AE / AR: shown with the error text until the receptionist drops it


@dataclass(frozen=True)
class PendingView:
    """One message not yet acknowledged, as the desk and `kiosk doctor` show it (no patient data)."""

    control_id: str
    kind: str
    label: str  # what the receptionist recognises it by: initials and event, never a name in clear
    state: PendingState
    attempts: int
    error: str = ""
    ack_code: str = ""
    queued_at: float = 0.0  # time.time()


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    max_s: float = 60.0

    def delay(self, attempts: int) -> float:
        return min(self.max_s, self.first_s * 2 ** max(0, attempts - 1))


ResultCallback = Callable[[str, Ack], None]  # (control id, ACK) once an answer arrives


@dataclass
class _Item:
    outgoing: Outgoing
    label: str
    on_result: ResultCallback | None
    seq: int
    queued_at: float = field(default_factory=time.time)
    state: PendingState = PendingState.QUEUED
    attempts: int = 0
    next_try: float = 0.0  # loop time
    error: str = ""
    ack: Ack | None = None

    def view(self) -> PendingView:
        return PendingView(self.outgoing.control_id, self.outgoing.kind, self.label, self.state, self.attempts,
                           self.error, self.ack.code.value if self.ack else "", self.queued_at)


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class MllpLink:
    def __init__(self, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None,
                 server_hostname: str | None = None, timeout_s: float = 10.0, backoff: Backoff = Backoff(),
                 max_connections: int = 4) -> None:
        self.host, self.port = host, port
        self.timeout_s = timeout_s
        self.backoff = backoff
        self._ssl = ssl_context
        self._server_hostname = server_hostname or (host if ssl_context is not None else None)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self.max_connections = max(1, max_connections)
        self._idle: list[_Conn] = []  # open connections with no exchange in progress
        self._open = 0  # connections open or being opened
        self._slots: asyncio.Condition | None = None
        self._wake: asyncio.Event | None = None
        self._items: dict[str, _Item] = {}
        self._items_lock = threading.Lock()
        self._seq = itertools.count()
        self._listeners: list[Callable[[], None]] = []
        self._closed = False
        self.duplicates_ignored = 0
        self.connections = 0

    # ---- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._thread is None:
            ready = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(ready,), name="his-mllp", daemon=True)
            self._thread.start()
            ready.wait()
        return self

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._slots, self._wake = asyncio.Condition(), asyncio.Event()
        self._loop.create_task(self._sender())
        ready.set()
        self._loop.run_forever()
        # the sender and any exchange still in flight end here, while the loop runs: left to the garbage collector
        # they complained of a closed loop from whatever thread collected them, and a waiting query hung on
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        for conn in self._idle:
            conn.close()
        self._loop.close()

    def close(self) -> None:
        """Stop the link. Messages still pending are lost (memory only): the doctor and desk said so."""
        if self._thread is None or self._closed:
            return
        self._closed = True
        left = self.pending()
        if left:  # memory only, by design: say it where the technician looks
            log.warning("%d message(s) d'identité non acquitté(s) perdu(s) à l'arrêt : %s", len(left),
                        ", ".join(v.control_id for v in left))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Called (on the link's thread, must not block) whenever the pending list changes."""
        self._listeners.append(listener)

    # ---- public, thread-safe ----------------------------------------------------------------------------------
    def request(self, outgoing: Outgoing) -> str:
        """Send one query and return its answer's text. Not retried: HisLinkError at once when it fails."""
        self.start()
        if self._closed:
            raise HisLinkError("liaison avec le système de l'hôpital fermée (arrêt de la borne)")
        exchange = self._exchange(outgoing)
        try:
            future = asyncio.run_coroutine_threadsafe(exchange, self._loop)
        except RuntimeError:  # the loop stopped between the check and the call
            exchange.close()
            raise HisLinkError("liaison avec le système de l'hôpital fermée (arrêt de la borne)") from None
        try:
            return future.result(timeout=3 * self.timeout_s + 5)
        except TimeoutError:
            future.cancel()
            raise HisLinkError(f"pas de réponse du système de l'hôpital en {self.timeout_s:g} s") from None
        except concurrent.futures.CancelledError:  # close() ended the exchange
            raise HisLinkError("liaison avec le système de l'hôpital fermée (arrêt de la borne)") from None

    def submit(self, outgoing: Outgoing, label: str, on_result: ResultCallback | None = None) -> None:
        """Queue an identity message: sent in order, retried until an answer, kept in memory only."""
        self.start()
        if self._closed:
            raise HisLinkError("liaison avec le système de l'hôpital fermée (arrêt de la borne) : message non envoyé")
        with self._items_lock:
            self._items[outgoing.control_id] = _Item(outgoing, label, on_result, next(self._seq))
        self._notify()
        self._loop.call_soon_threadsafe(self._poke)

    def pending(self) -> list[PendingView]:
        with self._items_lock:
            return [i.view() for i in sorted(self._items.values(), key=lambda i: i.seq)]

    def drop(self, control_id: str) -> bool:
        """The receptionist gave up on a message: forget it (a late ACK for it is then ignored)."""
        with self._items_lock:
            found = self._items.pop(control_id, None) is not None
        if found:
            self._notify()
        return found

    # ---- on the loop ------------------------------------------------------------------------------------------
    def _poke(self) -> None:
        assert self._wake is not None
        self._wake.set()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("un abonné du lien HL7 a échoué")

    async def _acquire(self) -> _Conn:
        """An idle open connection, else a new one when fewer than `max_connections` are open, else wait."""
        assert self._slots is not None
        async with self._slots:
            while True:
                while self._idle:
                    conn = self._idle.pop()
                    if conn.usable():
                        return conn
                    conn.close()
                    self._open -= 1
                if self._open < self.max_connections:
                    self._open += 1
                    break
                await self._slots.wait()
        try:
            return await self._connect()
        except BaseException:
            await self._release(None)
            raise

    async def _release(self, conn: _Conn | None) -> None:
        """Back to the pool after a clean exchange; `None` (or a connection in doubt, closed by the caller)
        frees its slot."""
        assert self._slots is not None
        async with self._slots:
            if conn is not None and conn.usable():
                self._idle.append(conn)
            else:
                if conn is not None:
                    conn.close()
                self._open -= 1
            self._slots.notify()

    async def _connect(self) -> _Conn:
        try:
            reader, writer = await asyncio.wait_for(
                open_hl7_connection(self.host, self.port, ssl=self._ssl, server_hostname=self._server_hostname,
                                    encoding="utf-8"),
                self.timeout_s,
            )
        except TimeoutError:
            raise HisLinkError(f"connexion au système de l'hôpital ({self.host}:{self.port}) : délai dépassé") from None
        except ssl.SSLError as e:
            raise HisLinkError(f"connexion TLS au système de l'hôpital refusée ({e.reason or type(e).__name__})") from e
        except OSError as e:
            raise HisLinkError(
                f"système de l'hôpital injoignable ({self.host}:{self.port} : {e.strerror or type(e).__name__})"
            ) from e
        self.connections += 1
        log.info("lien HL7 ouvert vers %s:%s%s", self.host, self.port, " (TLS)" if self._ssl else "")
        return _Conn(reader, writer)

    async def _exchange(self, outgoing: Outgoing) -> str:
        conn = await self._acquire()
        try:
            text = await self._on(conn, outgoing)
        except BaseException:
            conn.close()  # in doubt (a late answer must not be read as the next message's): never reused
            await self._release(None)
            raise
        await self._release(conn)
        return text

    async def _on(self, conn: _Conn, outgoing: Outgoing) -> str:
        log.debug("HL7 envoyé : %s", outgoing.text.replace("\r", "\n"))
        try:
            conn.writer.writeblock(outgoing.text.encode("utf-8"))  # type: ignore[attr-defined]
            await asyncio.wait_for(conn.writer.drain(), self.timeout_s)
            deadline = self._loop.time() + self.timeout_s
            while True:
                block = await asyncio.wait_for(conn.reader.readblock(), max(0.0, deadline - self._loop.time()))  # type: ignore[attr-defined]
                text = block.decode("utf-8", "replace")
                log.debug("HL7 reçu : %s", text.replace("\r", "\n"))
                if parse_ack(text).control_id == outgoing.control_id:
                    return text
                self.duplicates_ignored += 1
                log.info("acquittement ignoré (il ne répond pas au message %s en attente)", outgoing.control_id)
        except TimeoutError:
            raise HisLinkError(f"pas de réponse du système de l'hôpital en {self.timeout_s:g} s") from None
        except (OSError, asyncio.IncompleteReadError, InvalidBlockError, ValueError) as e:
            raise HisLinkError(f"connexion au système de l'hôpital perdue ({type(e).__name__})") from e

    def _next_item(self) -> _Item | None:
        with self._items_lock:
            waiting = [i for i in self._items.values() if i.state is not PendingState.REFUSED]
            return min(waiting, key=lambda i: i.seq) if waiting else None

    async def _sender(self) -> None:
        assert self._wake is not None
        while True:
            item = self._next_item()
            now = self._loop.time()
            if item is None or item.next_try > now:
                self._wake.clear()
                timeout = None if item is None else item.next_try - now
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
                continue
            await self._send_item(item)

    async def _send_item(self, item: _Item) -> None:
        item.state = PendingState.SENDING
        self._notify()
        try:
            ack = parse_ack(await self._exchange(item.outgoing))
        except (HisLinkError, HisReplyError) as e:
            with self._items_lock:
                item.attempts += 1
                item.state, item.error = PendingState.RETRYING, str(e)
                item.next_try = self._loop.time() + self.backoff.delay(item.attempts)
            log.warning("message %s non acquitté (essai %d) : %s", item.outgoing.control_id, item.attempts, e)
            self._notify()
            return
        with self._items_lock:
            still_here = self._items.get(item.outgoing.control_id) is item
            if still_here and ack.code is AckCode.AA:
                del self._items[item.outgoing.control_id]
            elif still_here:
                item.attempts += 1
                item.state, item.ack, item.error = PendingState.REFUSED, ack, ack.text
        if not still_here:
            self.duplicates_ignored += 1  # dropped by the receptionist while in flight: its ACK changes nothing
            return
        log.info("message %s acquitté %s", item.outgoing.control_id, ack.code.value)
        if item.on_result is not None:
            try:
                item.on_result(item.outgoing.control_id, ack)
            except Exception:
                log.exception("traitement de l'acquittement %s", item.outgoing.control_id)
        self._notify()
