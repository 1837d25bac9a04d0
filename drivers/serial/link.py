"""One serial CCID line: a receive thread feeding the frame decoder, and request/answer exchanges on top.

Why a receive thread: the reader speaks unasked (`50 02` / `50 03` card movements, sent as soon as they happen
in the asynchronous notification mode), so someone must always be reading. The thread blocks in the port's
read (pyserial's `cancel_read` wakes it on close), hands frames to the exchange in progress through a queue
and card movements to `on_slot_change`. It never writes: retries and NAKs are the exchange's business.

Error handling, all bounded (`LinkTimeouts`): a damaged answer (bad LRC, truncated then overrun by the next
SYNC) is NAKed so that the reader repeats it; a NAK from the reader makes us repeat the command; an echo that
never comes makes us repeat the command; an answer that never comes is asked for again with a NAK; each
T=0 time-extension byte (or a CCID time-extension status) restarts the answer timer up to a hard ceiling.
When the budget is spent, `ReaderError` with a French message.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import serial

from drivers.errors import ReaderError
from drivers.serial import ccid
from drivers.serial.frame import (
    NAK_FRAME,
    BadFrame,
    Frame,
    FrameDecoder,
    FrameError,
    Nak,
    Noise,
    SlotChange,
    TimeExtension,
    encode_frame,
)

__all__ = ["LinkLostError", "LinkTimeouts", "ReaderLink", "ReaderUnresponsiveError", "SerialLink"]

log = logging.getLogger(__name__)


class LinkLostError(ReaderError):
    """The serial device went away (unplugged, pty closed): the reader is gone until it comes back."""


class ReaderUnresponsiveError(ReaderError):
    """Every retry spent on silence or garbage: the reader is treated as gone (an RS-232 port does not vanish
    when its reader is unplugged) until it answers again."""


@dataclass(frozen=True)
class LinkTimeouts:
    echo_s: float = 0.5  # from the end of our write to the echo (Twin and PinPad echo at once)
    answer_s: float = 3.0  # from the echo to the answer; libccid's default serial read timeout
    ceiling_s: float = 60.0  # hard limit for one exchange, time extensions included
    retries: int = 3  # repeats of a command (NAK received, echo missing) and NAKs sent, each


LOST = object()  # put in a link's inbox by its receive thread when the port is gone


class ReaderLink(Protocol):
    """A serial reader's link as the backend drives it, whatever the line protocol: CCID in the Twin's framing
    (`SerialLink`) or GBP (`GemCoreLink`, which answers the same CCID commands)."""

    port: Any
    name: str
    lost: BaseException | None
    echo: bool  # whether an echo of each command is awaited
    echo_seen: bool | None  # whether the last exchange's command came back before its answer

    def command(self, kind: ccid.Command, data: bytes = b"", specific: bytes = b"\x00\x00\x00",
                answer_s: float | None = None) -> ccid.Response: ...

    def close(self) -> None: ...


class LineIO:
    """What `SerialLink` and `GemCoreLink` share: writing to the port, and forgetting what a previous exchange
    left in the inbox (late answers, repeated frames) before a new one."""

    port: Any
    name: str
    lost: BaseException | None
    _inbox: queue.Queue[object]

    def _write(self, data: bytes) -> None:
        if self.lost is not None:
            raise LinkLostError(f"lecteur série {self.name} débranché")
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError, TypeError, ValueError) as e:
            raise LinkLostError(f"écriture impossible sur {self.name} : {e}") from e

    def _drain_inbox(self) -> None:
        while True:
            try:
                if self._inbox.get_nowait() is LOST:
                    raise LinkLostError(f"lecteur série {self.name} débranché")
            except queue.Empty:
                return


class SerialLink(LineIO):
    """Exchanges on an open pyserial port. Thread-safe: one exchange at a time."""

    def __init__(
        self,
        port: Any,
        echo: bool,
        on_slot_change: Callable[[bool], None] = lambda present: None,
        on_lost: Callable[[BaseException | None], None] = lambda error: None,
        timeouts: LinkTimeouts = LinkTimeouts(),
        name: str = "serial",
    ) -> None:
        self.port = port
        self.echo = echo
        self.timeouts = timeouts
        self.name = name
        self._on_slot_change = on_slot_change
        self._on_lost = on_lost
        self._decoder = FrameDecoder(from_reader=True)
        self._inbox: queue.Queue[object] = queue.Queue()
        self._exchange_lock = threading.Lock()
        self._seq = 0
        self._closing = False
        self._resync = False  # set by an exchange that timed out: drop any half-received frame
        self.lost: BaseException | None = None
        self.stats = {"noise_bytes": 0, "bad_frames": 0, "naks_sent": 0, "naks_received": 0, "repeats": 0}
        self.echo_seen: bool | None = None  # whether the last exchange's command came back before its answer
        self._thread = threading.Thread(target=self._receive, name=f"serial-rx {name}", daemon=True)
        self._thread.start()

    # -- receiving -------------------------------------------------------------------------------------------

    def _receive(self) -> None:
        error: BaseException | None = None
        try:
            while not self._closing:
                data = self.port.read(1)
                if not data:
                    continue  # timeout of a port without cancel_read, or cancel_read on close
                waiting = self.port.in_waiting
                if waiting:
                    data += self.port.read(waiting)
                if self._resync:
                    self._resync = False
                    self._decoder.reset()
                for event in self._decoder.feed(data):
                    self._dispatch(event)
        except (serial.SerialException, OSError, TypeError, ValueError) as e:  # TypeError: port closed under read()
            error = e
        if not self._closing:
            self.lost = error or LinkLostError("port fermé")
            log.info("%s: port série perdu (%s)", self.name, error)
            self._inbox.put(LOST)
            self._on_lost(error)

    def _dispatch(self, event: object) -> None:
        if isinstance(event, SlotChange):
            log.debug("%s: carte %s", self.name, "insérée" if event.present else "retirée")
            self._on_slot_change(event.present)
        elif isinstance(event, Noise):
            self.stats["noise_bytes"] += len(event.data)
            log.debug("%s: %d octets parasites ignorés", self.name, len(event.data))
        else:
            self._inbox.put(event)

    # -- exchanging ------------------------------------------------------------------------------------------

    def next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def command(
        self, kind: ccid.Command, data: bytes = b"", specific: bytes = b"\x00\x00\x00", answer_s: float | None = None
    ) -> ccid.Response:
        """Send one CCID command, return the reader's answer (which may itself report a failed command)."""
        with self._exchange_lock:
            seq = self.next_seq()
            message = ccid.build(kind, seq, data, specific=specific)
            return self._exchange(message, ccid.ANSWER_TO[kind], answer_s or self.timeouts.answer_s)

    def _exchange(self, message: bytes, expect: int, answer_s: float) -> ccid.Response:
        t = self.timeouts
        frame = encode_frame(message)
        seq = message[6]
        self._drain_inbox()
        repeats = naks_sent = 0
        self.echo_seen = False
        start = time.monotonic()
        self._write(frame)
        awaiting_echo = self.echo
        deadline = start + (t.echo_s if awaiting_echo else answer_s)
        while True:
            now = time.monotonic()
            wait = min(deadline, start + t.ceiling_s) - now
            try:
                event = self._inbox.get(timeout=max(wait, 0)) if wait > 0 else self._inbox.get_nowait()
            except queue.Empty:
                self._resync = True  # a truncated frame must not swallow the next one
                if now - start >= t.ceiling_s:
                    raise ReaderUnresponsiveError(
                        f"lecteur série {self.name} : pas de réponse en {t.ceiling_s:.0f} s"
                    ) from None
                if awaiting_echo:
                    if repeats >= t.retries:
                        raise ReaderUnresponsiveError(f"lecteur série {self.name} : l'écho de la commande n'arrive pas "
                                          f"({t.retries + 1} envois) — modèle ou port mal configuré ?") from None
                    repeats += 1
                    self.stats["repeats"] += 1
                    self._write(frame)
                    deadline = time.monotonic() + t.echo_s
                    continue
                if naks_sent >= t.retries:
                    raise ReaderUnresponsiveError(f"lecteur série {self.name} muet : pas de réponse après "
                                      f"{naks_sent + 1} attentes de {answer_s:.1f} s") from None
                naks_sent += 1
                self.stats["naks_sent"] += 1
                self._write(NAK_FRAME)  # the answer may have been lost on the line: ask for it again
                deadline = time.monotonic() + answer_s
                continue
            if event is LOST:
                raise LinkLostError(f"lecteur série {self.name} débranché")
            if isinstance(event, TimeExtension):
                deadline = time.monotonic() + answer_s
            elif isinstance(event, Nak):
                self.stats["naks_received"] += 1
                if repeats >= t.retries:
                    raise ReaderUnresponsiveError(
                        f"lecteur série {self.name} : commande refusée {repeats + 1} fois (NAK)"
                    )
                repeats += 1
                self._write(frame)
                awaiting_echo = self.echo
                deadline = time.monotonic() + (t.echo_s if awaiting_echo else answer_s)
            elif isinstance(event, BadFrame):
                self.stats["bad_frames"] += 1
                if naks_sent >= t.retries:
                    raise ReaderUnresponsiveError(f"lecteur série {self.name} : trames corrompues ({event.reason})")
                naks_sent += 1
                self.stats["naks_sent"] += 1
                self._write(NAK_FRAME)
                deadline = time.monotonic() + answer_s
            elif isinstance(event, Frame):
                if event.raw == frame:  # our command, echoed
                    self.echo_seen = True
                    awaiting_echo = False
                    deadline = time.monotonic() + answer_s
                    continue
                try:
                    response = ccid.parse_response(event.message)
                except FrameError as e:
                    log.debug("%s: trame ignorée (%s)", self.name, e)
                    continue
                if response.seq != seq or response.type < 0x80:
                    log.debug("%s: réponse périmée ignorée (seq %d, attendu %d)", self.name, response.seq, seq)
                    continue
                if response.time_extension:
                    deadline = time.monotonic() + answer_s
                    continue
                if response.type != expect:
                    raise ReaderError(f"lecteur série {self.name} : réponse 0x{response.type:02X} inattendue "
                                      f"(0x{expect:02X} attendue)")
                if awaiting_echo:
                    log.debug("%s: réponse sans écho (modèle sans écho ?)", self.name)
                return response

    def close(self) -> None:
        """Stop the receive thread and close the port; an exchange waiting on this link fails at once. Idempotent."""
        self._closing = True
        if self.lost is None:
            self.lost = LinkLostError(f"lecteur série {self.name} fermé")
        self._inbox.put(LOST)
        cancel = getattr(self.port, "cancel_read", None)
        if cancel:
            with contextlib.suppress(serial.SerialException, OSError, TypeError, ValueError):
                cancel()
        self._thread.join(timeout=2)
        with contextlib.suppress(serial.SerialException, OSError):
            self.port.close()
