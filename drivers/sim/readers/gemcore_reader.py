"""A simulated GemCore reader (GBP line protocol) serving a `VirtualCard`: the second serial protocol's
counterpart of `serial_reader.py`, checked by the same kind of tests.

It answers I-blocks with the same N(S), repeats its last block on an R-block (and on an I-block it already
answered: the host did not get the answer), NAKs damaged blocks with an R-block, resynchronises on S(RESYNCH),
and can ask for time extensions (S(WTX) requests) before card answers. GemCore commands: `17` status, `12 xx`
reset (ATR), `11` power down, `13` / `14` / `15` APDU exchanges, `0A xx` line speed, `22 05 3F E0 10` OS
version. It never notifies card movements: GemCore readers do not.
"""

from __future__ import annotations

from typing import Any

from drivers.serial.gbp import (
    EDC_ERROR,
    HOST_NAD,
    I_BLOCK,
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
from drivers.sim.readers.serial_line import LineSimulator
from drivers.sim.readers.serial_reader import LineNoise
from drivers.sim.virtual_cards.vcard import VirtualCard

__all__ = ["GEMCORE_VERSION", "SimulatedGemCoreReader"]


GEMCORE_VERSION = b"GemCore-R1.21-GM"
OK, OK_SW, NO_CARD, UNKNOWN = 0x00, 0xE7, 0xFB, 0x01


class SimulatedGemCoreReader(LineSimulator):
    thread_name = "sim-gemcore-reader"

    def __init__(self, port: Any, card: VirtualCard | None = None, time_extensions: int = 0,
                 noise: LineNoise | None = None) -> None:
        super().__init__()
        if isinstance(port, str):
            from drivers.serial.port import open_port

            port = open_port(port, 9600)
        self.port = port
        self.card = card
        self.powered = False
        self.time_extensions = time_extensions
        self.noise = noise or LineNoise()
        self._decoder = BlockDecoder(HOST_NAD)
        self._last: bytes = b""
        self._last_seq: int | None = None

    def insert(self, card: VirtualCard | None = None) -> None:
        self.card = card or self.card
        self.powered = False

    def remove(self) -> None:
        self.card = None
        self.powered = False

    def _send(self, block: bytes, remember: bool = True) -> None:
        if remember:
            self._last = block
        out = self.noise.damage(block, lambda b: b != READER_NAD)
        self.log.append(("out", out))
        self.port.write(out)
        self.port.flush()

    def _handle(self, event: Block | BadBlock) -> None:
        if self.noise.silent:
            return
        if isinstance(event, BadBlock):
            self._send(
                r_block(READER_NAD, 0 if self._last_seq is None else self._last_seq ^ 1, EDC_ERROR), remember=False
            )
        elif event.kind == R_BLOCK:
            if self._last:
                self._send(self._last)
        elif event.kind == S_BLOCK:
            if event.s_type == S_RESYNCH and not event.s_response:
                self._last_seq, self._last = None, b""
                self._send(s_block(READER_NAD, S_RESYNCH, response=True), remember=False)
        elif event.kind == I_BLOCK:
            if event.seq == self._last_seq and self._last:
                self._send(self._last)  # already done: the host missed the answer
                return
            reply = self.command(event.data)
            self._last_seq = event.seq
            self._send(i_block(READER_NAD, event.seq, reply))

    def command(self, data: bytes) -> bytes:
        """The reader's reply to one GemCore command (the I-block's data), before it is framed."""
        ins, body = (data[0], data[1:]) if data else (None, b"")
        if ins == 0x17:
            return bytes((OK, (0x04 if self.card else 0) | (0x02 if self.card and self.powered else 0)))
        if ins == 0x12:
            if self.card is None:
                return bytes((NO_CARD,))
            self.card.reset()
            self.powered = True
            return bytes((OK,)) + self.card.atr
        if ins == 0x11:
            self.powered = False
            return bytes((OK,))
        if ins in (0x13, 0x14, 0x15):
            if self.card is None or not self.powered:
                return bytes((NO_CARD,))
            for _ in range(self.time_extensions):
                self._send(s_block(READER_NAD, S_WTX, data=b"\x01"), remember=False)
            response = self.card.process(body)
            return bytes((OK if response[-2:] == b"\x90\x00" else OK_SW,)) + response
        if ins == 0x0A:
            return bytes((OK,))
        if data == bytes.fromhex("22053FE010"):
            return bytes((OK,)) + GEMCORE_VERSION
        return bytes((UNKNOWN,))
