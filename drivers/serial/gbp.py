"""Gemplus Block Protocol (GBP), the line protocol of older GemCore serial readers (GemPC 410/413...).

A block is `NAD PCB LEN DATA EDC`, EDC the XOR of every preceding byte. The host sends NAD `42`, the reader
answers with NAD `24`. PCB: I-block `N(S) << 6` (one command, one answer, same N(S)); R-block
`80 | N(R) << 4 | error` ("send again": 1 = EDC error, 2 = other); S-block `C0 | type` (00 resynch, 01 IFS,
02 abort, 03 WTX), its response `E0 | type`. Like `frame.py`, the decoder is a pure state machine that never
raises on line noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.serial.frame import FrameError, lrc

__all__ = [
    "HOST_NAD",
    "READER_NAD",
    "BadBlock",
    "Block",
    "BlockDecoder",
    "encode_block",
    "i_block",
    "r_block",
    "s_block",
]

HOST_NAD = 0x42
READER_NAD = 0x24
I_BLOCK, R_BLOCK, S_BLOCK = 0x00, 0x80, 0xC0
S_RESPONSE = 0x20
S_RESYNCH, S_IFS, S_ABORT, S_WTX = 0x00, 0x01, 0x02, 0x03
EDC_ERROR, OTHER_ERROR = 0x01, 0x02
MAX_DATA = 255


def encode_block(nad: int, pcb: int, data: bytes = b"") -> bytes:
    if len(data) > MAX_DATA:
        raise FrameError(f"bloc GBP trop long ({len(data)} octets, {MAX_DATA} au plus)")
    body = bytes((nad, pcb, len(data))) + data
    return body + bytes((lrc(body),))


def i_block(nad: int, ns: int, data: bytes) -> bytes:
    return encode_block(nad, I_BLOCK | (ns & 1) << 6, data)


def r_block(nad: int, nr: int, error: int) -> bytes:
    return encode_block(nad, R_BLOCK | (nr & 1) << 4 | error)


def s_block(nad: int, kind: int, response: bool = False, data: bytes = b"") -> bytes:
    return encode_block(nad, S_BLOCK | (S_RESPONSE if response else 0) | kind, data)


@dataclass(frozen=True, slots=True)
class Block:
    nad: int
    pcb: int
    data: bytes

    @property
    def kind(self) -> int:
        return I_BLOCK if self.pcb & 0x80 == 0 else self.pcb & 0xC0

    @property
    def seq(self) -> int:
        """N(S) of an I-block, N(R) of an R-block."""
        return (self.pcb >> 6) & 1 if self.kind == I_BLOCK else (self.pcb >> 4) & 1

    @property
    def s_type(self) -> int:
        return self.pcb & 0x0F

    @property
    def s_response(self) -> bool:
        return bool(self.pcb & S_RESPONSE)


@dataclass(frozen=True, slots=True)
class BadBlock:
    reason: str


class BlockDecoder:
    """Blocks addressed with `nad` (the peer's); any other byte between blocks is skipped."""

    def __init__(self, nad: int) -> None:
        self.nad = nad
        self._buf = bytearray()
        self.skipped = 0

    def reset(self) -> None:
        self._buf.clear()

    @property
    def idle(self) -> bool:
        return not self._buf

    def feed(self, data: bytes) -> list[Block | BadBlock]:
        out: list[Block | BadBlock] = []
        for byte in data:
            if not self._buf and byte != self.nad:
                self.skipped += 1
                continue
            self._buf.append(byte)
            if len(self._buf) >= 3 and len(self._buf) == self._buf[2] + 4:
                raw = bytes(self._buf)
                self._buf.clear()
                if lrc(raw):
                    out.append(BadBlock(f"EDC incorrect (bloc de {len(raw)} octets)"))
                else:
                    out.append(Block(raw[0], raw[1], raw[3:-1]))
        return out
