"""Serial CCID line framing (GemPC Twin family), as a pure state machine: bytes in, events out, no I/O.

Host -> reader:  SYNC 03, CTRL 06 (ACK), the 10-byte CCID header and its data, LRC.
Reader -> host:  the same frame layout, plus single-purpose sequences between frames:
  `03 15 16`  NAK: "your last frame was damaged, send it again" (either direction);
  `50 02` / `50 03`  card removed / inserted (RDR_to_PC_NotifySlotChange);
  one byte `80`..`FF`  T=0 time extension: the card is still working.
LRC is the XOR of every preceding byte of the frame, SYNC and CTRL included.

The decoder never raises on line noise: it reports what it skipped (`Noise`) or what it could not accept
(`BadFrame`) and resynchronises on the next SYNC, so that the link layer decides to NAK, retry or give up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from drivers.errors import ReaderError

__all__ = [
    "CTRL_ACK", "CTRL_NAK", "HEADER_SIZE", "MAX_MESSAGE", "NAK_FRAME", "SYNC",
    "BadFrame", "Frame", "FrameDecoder", "FrameError", "Nak", "Noise", "SlotChange", "TimeExtension",
    "decode_frame", "encode_frame", "lrc",
]

SYNC = 0x03
CTRL_ACK = 0x06
CTRL_NAK = 0x15
NOTIFY_SLOT_CHANGE = 0x50
CARD_ABSENT = 0x02
CARD_PRESENT = 0x03
HEADER_SIZE = 10  # CCID message header
MAX_MESSAGE = 271  # largest CCID message (header + data) the Twin family accepts
NAK_FRAME = bytes((SYNC, CTRL_NAK, SYNC ^ CTRL_NAK))


class FrameError(ReaderError):
    """A frame that cannot be what the protocol allows (too long, bad LRC, not a frame)."""


def lrc(data: bytes) -> int:
    """XOR of all bytes."""
    return reduce(lambda a, b: a ^ b, data, 0)


def encode_frame(message: bytes) -> bytes:
    """Wrap one CCID message (header + data) into a line frame."""
    if len(message) < HEADER_SIZE:
        raise FrameError(f"message CCID trop court ({len(message)} octets, {HEADER_SIZE} au moins)")
    if len(message) > MAX_MESSAGE:
        raise FrameError(f"message CCID trop long ({len(message)} octets, {MAX_MESSAGE} au plus)")
    if int.from_bytes(message[1:5], "little") != len(message) - HEADER_SIZE:
        raise FrameError("longueur annoncée dans l'en-tête CCID différente des données")
    body = bytes((SYNC, CTRL_ACK)) + message
    return body + bytes((lrc(body),))


@dataclass(frozen=True, slots=True)
class Frame:
    """A complete, checked CCID message (header + data), without SYNC/CTRL/LRC."""

    message: bytes
    raw: bytes  # the frame exactly as on the line (to recognise an echo)


@dataclass(frozen=True, slots=True)
class Nak:
    """The peer asks for the last frame again."""


@dataclass(frozen=True, slots=True)
class SlotChange:
    present: bool


@dataclass(frozen=True, slots=True)
class TimeExtension:
    value: int


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame started (SYNC seen) but cannot be accepted: the peer should be NAKed."""

    reason: str


@dataclass(frozen=True, slots=True)
class Noise:
    """Bytes that belong to no frame, skipped."""

    data: bytes


Event = Frame | Nak | SlotChange | TimeExtension | BadFrame | Noise

_IDLE, _CTRL, _NAK_LRC, _HEADER, _BODY, _SLOT = range(6)


class FrameDecoder:
    """Incremental decoder. `from_reader=True` also accepts the reader's slot-change and time-extension bytes
    between frames (a host never sends those)."""

    def __init__(self, from_reader: bool = True) -> None:
        self.from_reader = from_reader
        self._state = _IDLE
        self._buf = bytearray()
        self._noise = bytearray()
        self._need = 0

    def reset(self) -> None:
        self._state = _IDLE
        self._buf.clear()
        self._noise.clear()

    @property
    def idle(self) -> bool:
        """True between frames (nothing partial buffered)."""
        return self._state == _IDLE

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for byte in data:
            self._step(byte, events)
        self._start(events)
        return events

    def _start(self, events: list[Event]) -> None:
        """Report skipped bytes before whatever comes next, so events stay in line order."""
        if self._noise:
            events.append(Noise(bytes(self._noise)))
            self._noise.clear()

    def _step(self, byte: int, events: list[Event]) -> None:
        state = self._state
        if state == _IDLE:
            if byte == SYNC:
                self._start(events)
                self._buf = bytearray((byte,))
                self._state = _CTRL
            elif self.from_reader and byte == NOTIFY_SLOT_CHANGE:
                self._start(events)
                self._state = _SLOT
            elif self.from_reader and byte >= 0x80:
                self._start(events)
                events.append(TimeExtension(byte))
            else:
                self._noise.append(byte)
        elif state == _SLOT:
            self._state = _IDLE
            if byte in (CARD_ABSENT, CARD_PRESENT):
                events.append(SlotChange(byte == CARD_PRESENT))
            else:
                self._noise.extend((NOTIFY_SLOT_CHANGE, byte))
        elif state == _CTRL:
            if byte == CTRL_ACK:
                self._buf.append(byte)
                self._state = _HEADER
                self._need = HEADER_SIZE
            elif byte == CTRL_NAK:
                self._state = _NAK_LRC
            else:
                self._noise.append(SYNC)
                self._state = _IDLE
                self._step(byte, events)  # the byte after a stray SYNC may start something real
        elif state == _NAK_LRC:
            self._state = _IDLE
            if byte == SYNC ^ CTRL_NAK:
                events.append(Nak())
            else:
                events.append(BadFrame("NAK mal formé"))
                if byte == SYNC:
                    self._step(byte, events)
        elif state == _HEADER:
            self._buf.append(byte)
            self._need -= 1
            if self._need == 0:
                length = int.from_bytes(self._buf[3:7], "little")
                if length > MAX_MESSAGE - HEADER_SIZE:
                    events.append(BadFrame(f"longueur de trame impossible ({length} octets de données)"))
                    self._state = _IDLE
                    self._buf.clear()
                    return
                self._need = length + 1  # data + LRC
                self._state = _BODY
        elif state == _BODY:
            self._buf.append(byte)
            self._need -= 1
            if self._need == 0:
                self._state = _IDLE
                raw = bytes(self._buf)
                self._buf.clear()
                if lrc(raw) != 0:
                    events.append(BadFrame(f"LRC incorrect (attendu {lrc(raw[:-1]):02X}, reçu {raw[-1]:02X})"))
                else:
                    events.append(Frame(raw[2:-1], raw))


def decode_frame(raw: bytes) -> bytes:
    """Check one complete line frame and return its CCID message; `FrameError` if it is anything else."""
    decoder = FrameDecoder(from_reader=False)
    events = decoder.feed(raw)
    if len(events) == 1 and isinstance(events[0], Frame) and decoder.idle:
        return events[0].message
    bad = next((e.reason for e in events if isinstance(e, BadFrame)), None)
    if bad:
        raise FrameError(bad)
    raise FrameError("trame tronquée" if not decoder.idle else "pas une trame CCID série")
