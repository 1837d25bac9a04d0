"""GemCore readers (GemPC 410/413...) over GBP, presented with the CCID command set the backend speaks.

`GemCoreLink` has `SerialLink`'s interface (`command()` returning `ccid.Response`, `close()`, `lost`, `stats`)
so that `backend.py` drives both protocols alike: PowerOn is GemCore `12 23` (reset with automatic PPS),
PowerOff `11`, GetSlotStatus `17`, XfrBlock `13` / `14` / `15` by APDU case (ISO out, ISO in, exchange),
Escape `02` reads the OS version. Reply status byte: `00` ok, `E7` ok with SW != 9000, `FB` no card.

GemCore readers do not notify card movements, so this is the one place that polls: the `17` status, every
`poll_s`, on the serial line only (the card itself is not touched). The line starts at 9600 baud and is moved
to 38400 with `0A 02`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from drivers.errors import ReaderError
from drivers.serial import ccid
from drivers.serial.gbp import (
    EDC_ERROR,
    HOST_NAD,
    I_BLOCK,
    OTHER_ERROR,
    R_BLOCK,
    READER_NAD,
    S_BLOCK,
    S_RESYNCH,
    S_WTX,
    BadBlock,
    Block,
    BlockDecoder,
    i_block,
    r_block,
    s_block,
)
from drivers.serial.link import LOST, LineIO, LinkLostError, LinkTimeouts, ReaderUnresponsiveError
from drivers.serial.port import open_port

__all__ = ["OS_VERSION", "POLL_S", "GemCoreLink"]

log = logging.getLogger(__name__)

POLL_S = 0.5  # card status poll period: GemCore has no card-movement notification
POLL_ANSWER_S = 0.5  # a status answer is immediate; a poll gives up after this, without retries
POLL_FAILURES = 3  # unanswered polls in a row before the reader counts as gone
OS_VERSION = bytes.fromhex("22053FE010")  # read the OS version string from the reader's memory
OK, OK_SW, NO_CARD = 0x00, 0xE7, 0xFB


def _apdu_case_command(apdu: bytes) -> int:
    """GemCore instruction for a T=0 APDU: 13 (ISO out, case 2), 14 (ISO in, cases 1 and 3), 15 (case 4)."""
    if len(apdu) <= 4:
        return 0x14
    if len(apdu) == 5:
        return 0x13
    return 0x14 if len(apdu) == 5 + apdu[4] else 0x15


class GemCoreLink(LineIO):
    def __init__(
        self,
        port: Any,
        on_slot_change: Callable[[bool], None] = lambda present: None,
        on_lost: Callable[[BaseException | None], None] = lambda error: None,
        timeouts: LinkTimeouts | None = None,
        name: str = "gemcore",
        poll_s: float = POLL_S,
    ) -> None:
        self.port = port
        self.echo = False  # GBP has no echo: attributes kept for the backend's CCID start-up
        self.echo_seen: bool | None = False
        self.timeouts = timeouts or LinkTimeouts()
        self.name = name
        self.poll_s = poll_s
        self.stats = {"noise_bytes": 0, "bad_frames": 0, "naks_sent": 0, "naks_received": 0, "repeats": 0, "polls": 0}
        self.lost: BaseException | None = None
        self._on_slot_change = on_slot_change
        self._on_lost = on_lost
        self._decoder = BlockDecoder(READER_NAD)
        self._inbox: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._ns = 0
        self._closing = False
        self._closed = threading.Event()
        self._state: int | None = None  # last `17` status byte seen (bit 2 present, bit 1 powered)
        self._rx = threading.Thread(target=self._receive, name=f"serial-rx {name}", daemon=True)
        self._rx.start()
        self._poller = threading.Thread(target=self._poll, name=f"serial-poll {name}", daemon=True)

    def start_polling(self) -> None:
        """Watch the card status (after the line speed is settled)."""
        self._poller.start()

    @classmethod
    def open(cls, port: str, **kwargs: Any) -> GemCoreLink:
        """Open at 9600 baud, then move the reader and the line to 38400 (`0A 02`)."""
        dev = open_port(port, 9600)
        dev.stopbits = serial.STOPBITS_ONE
        link = cls(dev, **kwargs)
        try:
            link._exchange(b"\x0a\x02", answer_s=0.5)
        except ReaderError:  # already at 38400 (it cannot hear us at 9600): carry on at 38400
            pass
        with contextlib.suppress(serial.SerialException, OSError, ValueError):
            dev.baudrate = 38400
        link.start_polling()
        return link

    # -- receiving and polling ---------------------------------------------------------------------------

    def _receive(self) -> None:
        error: BaseException | None = None
        try:
            while not self._closing:
                data = self.port.read(1)
                if not data:
                    continue
                if self.port.in_waiting:
                    data += self.port.read(self.port.in_waiting)
                if self._reset_decoder:
                    self._reset_decoder = False
                    self._decoder.reset()
                for event in self._decoder.feed(data):
                    self._inbox.put(event)
                self.stats["noise_bytes"] = self._decoder.skipped
        except (serial.SerialException, OSError, TypeError, ValueError) as e:
            error = e
        if not self._closing:
            self.lost = error or LinkLostError("port fermé")
            self._inbox.put(LOST)
            self._closed.set()
            self._on_lost(error)

    def _poll(self) -> None:
        failures = 0
        while not self._closed.wait(self.poll_s):
            try:
                self.stats["polls"] += 1
                self._status(poll=True)
                failures = 0
            except LinkLostError:
                return
            except ReaderError as e:
                failures += 1
                log.debug("%s: état de la carte illisible (%s)", self.name, e)
                if failures >= POLL_FAILURES:  # unplugged from a port that stays (RS-232), or switched off
                    self._on_lost(ReaderUnresponsiveError(f"lecteur série {self.name} : plus de réponse"))
                    return

    def _status(self, poll: bool = False) -> int:
        """`17`, and the card movement it reveals reported like a notification."""
        reply = self._exchange(b"\x17", answer_s=min(POLL_ANSWER_S, self.timeouts.answer_s), patient=False) if poll \
            else self._exchange(b"\x17")
        if reply[:1] != b"\x00" or len(reply) < 2:
            raise ReaderError(f"lecteur {self.name} : état illisible ({reply.hex()})")
        self._observe(reply[1])
        return reply[1]

    def _observe(self, state: int) -> None:
        before, self._state = self._state, state
        if before is None:
            return
        was, now = bool(before & 0x04), bool(state & 0x04)
        if was != now:
            self._on_slot_change(now)
        elif now and before & 0x02 and not state & 0x02 and not self._powering_off:
            self._on_slot_change(True)  # powered card now unpowered: pulled out and put back between polls

    _powering_off = False

    # -- GBP exchange --------------------------------------------------------------------------------------

    def _exchange(self, data: bytes, answer_s: float | None = None, patient: bool = True) -> bytes:
        """One GemCore command in an I-block, its reply I-block's data. R-blocks ask for repeats, WTX is
        granted, and one resynchronisation is tried before giving up (not when `patient` is False: a status
        poll must not hold the line for long when the reader is silent)."""
        with self._lock:
            self._drain_inbox()
            try:
                if self._unsure:
                    self._resynchronise(answer_s or self.timeouts.answer_s)
                return self._transact(data, answer_s or self.timeouts.answer_s, patient)
            except ReaderError:
                # With one sequence bit, a command whose answer was lost would make the next one look like
                # its repeat (and get the old answer back): resynchronise both sides first.
                self._unsure = True
                raise

    _unsure = False
    _reset_decoder = False  # set by the exchange thread, acted on by the receive thread (which owns the decoder)

    def _resynchronise(self, wait_s: float) -> None:
        for _ in range(self.timeouts.retries + 1):
            self._write(s_block(HOST_NAD, S_RESYNCH))
            deadline = time.monotonic() + wait_s
            while (left := deadline - time.monotonic()) > 0:
                try:
                    event = self._inbox.get(timeout=left)
                except queue.Empty:
                    break
                if event is LOST:
                    raise LinkLostError(f"lecteur série {self.name} débranché")
                if (
                    isinstance(event, Block)
                    and event.kind == S_BLOCK
                    and event.s_type == S_RESYNCH
                    and event.s_response
                ):
                    self._ns, self._unsure = 0, False
                    return
            self._reset_decoder = True
        raise ReaderUnresponsiveError(f"lecteur série {self.name} : resynchronisation GBP sans réponse")

    def _transact(self, data: bytes, wait_s: float, patient: bool) -> bytes:
        t = self.timeouts
        max_retries = t.retries if patient else 0
        block = i_block(HOST_NAD, self._ns, data)
        start = time.monotonic()
        self._write(block)
        deadline = start + wait_s
        retries = resynchs = 0
        while True:
            left = min(deadline, start + t.ceiling_s) - time.monotonic()
            try:
                event = self._inbox.get(timeout=left) if left > 0 else self._inbox.get_nowait()
            except queue.Empty:
                self._reset_decoder = True  # a truncated block must not swallow the next one
                if time.monotonic() - start >= t.ceiling_s:
                    raise ReaderUnresponsiveError(
                        f"lecteur série {self.name} : pas de réponse en {t.ceiling_s:.0f} s"
                    ) from None
                event = None
            if event is LOST:
                raise LinkLostError(f"lecteur série {self.name} débranché")
            if isinstance(event, Block) and event.kind == I_BLOCK and event.seq == self._ns:
                self._ns ^= 1
                return event.data
            if isinstance(event, Block) and event.kind == I_BLOCK and retries < max_retries:
                retries += 1  # its previous answer again: our block never reached it
                self.stats["repeats"] += 1
                self._write(block)
                deadline = time.monotonic() + wait_s
                continue
            if isinstance(event, Block) and event.kind == S_BLOCK:
                if event.s_type == S_WTX and not event.s_response:
                    self._write(s_block(HOST_NAD, S_WTX, response=True, data=event.data))
                    deadline = time.monotonic() + wait_s
                elif event.s_type == S_RESYNCH and event.s_response:
                    self._ns = 0
                    block = i_block(HOST_NAD, 0, data)
                    self._write(block)
                    deadline = time.monotonic() + wait_s
                continue
            if retries < max_retries:
                retries += 1
                if isinstance(event, Block) and event.kind == R_BLOCK:
                    self.stats["naks_received"] += 1
                    self.stats["repeats"] += 1
                    self._write(block)  # the reader did not get our block
                else:  # nothing, a damaged block or an I-block out of sequence: ask for the answer again
                    if isinstance(event, BadBlock):
                        self.stats["bad_frames"] += 1
                    self.stats["naks_sent"] += 1
                    self._write(r_block(HOST_NAD, self._ns, EDC_ERROR if isinstance(event, BadBlock) else OTHER_ERROR))
                deadline = time.monotonic() + wait_s
                continue
            if resynchs == 0 and patient:
                resynchs += 1
                retries = 0
                self._write(s_block(HOST_NAD, S_RESYNCH))
                deadline = time.monotonic() + wait_s
                continue
            raise ReaderUnresponsiveError(f"lecteur série {self.name} muet ou brouillé : pas de réponse valable "
                              f"après {t.retries} reprises et une resynchronisation")
    # -- the CCID command set ----------------------------------------------------------------------------

    def command(self, kind: ccid.Command, data: bytes = b"", specific: bytes = b"\x00\x00\x00",
                answer_s: float | None = None) -> ccid.Response:
        if kind == ccid.Command.GET_SLOT_STATUS:
            return self._response(ccid.ResponseType.SLOT_STATUS, self._status())
        if kind == ccid.Command.POWER_ON:
            reply = self._exchange(b"\x12\x23", answer_s)
            if reply[:1] == bytes((OK,)) and len(reply) > 1:
                self._state = 0x06
                return self._response(ccid.ResponseType.DATA_BLOCK, 0x06, data=reply[1:])
            return self._failure(ccid.ResponseType.DATA_BLOCK)
        if kind == ccid.Command.POWER_OFF:
            self._powering_off = True
            try:
                self._exchange(b"\x11", answer_s)
                return self._response(ccid.ResponseType.SLOT_STATUS, self._status())
            finally:
                self._powering_off = False
        if kind == ccid.Command.XFR_BLOCK:
            reply = self._exchange(bytes((_apdu_case_command(data),)) + data, answer_s)
            if reply[:1] in (bytes((OK,)), bytes((OK_SW,))):
                return self._response(ccid.ResponseType.DATA_BLOCK, self._state or 0x06, data=reply[1:])
            return self._failure(ccid.ResponseType.DATA_BLOCK)
        if kind == ccid.Command.ESCAPE:
            if data[:2] == b"\x01\x01":  # CCID notification mode: GemCore has none
                return self._response(ccid.ResponseType.ESCAPE, self._state or 0)
            reply = self._exchange(OS_VERSION if data == b"\x02" else data, answer_s)
            if reply[:1] != bytes((OK,)):
                return self._response(ccid.ResponseType.ESCAPE, self._state or 0, error=0x00, failed=True)
            return self._response(ccid.ResponseType.ESCAPE, self._state or 0, data=reply[1:])
        return self._response(ccid.ResponseType.SLOT_STATUS, self._state or 0, error=0x00, failed=True)

    def _failure(self, kind: int) -> ccid.Response:
        """A refused card operation: the status byte tells whether the card is there at all."""
        state = self._status()
        return self._response(kind, state, error=0xFE, failed=True)

    @staticmethod
    def _response(kind: int, state: int, data: bytes = b"", error: int = 0, failed: bool = False) -> ccid.Response:
        icc = ccid.IccStatus.ABSENT if not state & 0x04 else (
            ccid.IccStatus.ACTIVE if state & 0x02 else ccid.IccStatus.INACTIVE)
        return ccid.Response(kind, 0, 0, int(icc) | (0x40 if failed else 0), error, 0, data)

    def close(self) -> None:
        self._closing = True
        self._closed.set()
        if self.lost is None:
            self.lost = LinkLostError(f"lecteur série {self.name} fermé")
        self._inbox.put(LOST)
        cancel = getattr(self.port, "cancel_read", None)
        if cancel:
            with contextlib.suppress(serial.SerialException, OSError, TypeError, ValueError):
                cancel()
        self._rx.join(timeout=2)
        if self._poller.is_alive() and self._poller is not threading.current_thread():
            self._poller.join(timeout=2)
        with contextlib.suppress(serial.SerialException, OSError):
            self.port.close()
