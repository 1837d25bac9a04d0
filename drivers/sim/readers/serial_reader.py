"""A simulated serial CCID reader (GemPC Twin family) serving a `VirtualCard` over a serial line.

It speaks the protocol of `drivers/serial/frame.py` from the reader's side, faithfully enough for Debian's
`libccidtwin` inside pcscd (the cross-check in tests/integration) as well as for the kiosk's own driver:
- every command frame is echoed first when `echo` is on (GemPC Twin, PinPad), then answered;
- a damaged command frame is answered `03 15 16` (NAK); a NAK from the host repeats the last answer;
- card movements are notified `50 03` / `50 02`: at once in asynchronous mode (the kiosk's driver selects it
  with Escape `01 01 00`), or after the next command's echo in synchronous mode (Escape `01 01 01`, libccid);
- PowerOn (ATR), PowerOff, GetSlotStatus, XfrBlock (T=0 TPDU level: the payload goes to the card as is,
  and a PPS request is accepted), Escape (`02` firmware, `01 01 xx` notification mode), Set/GetParameters;
- `line_rate`: a pty has no baud rate; this makes every byte take its 8N2 wire time (benchmarks);
- `time_extensions` T=0 time-extension bytes (`80`) before each card answer, and `LineNoise` to damage what
  goes out (corrupted bytes, garbage between frames, lost echoes, truncated answers, a silent reader).

Give it a port path, a pyserial URL or an already open pyserial object; one end of a `socat` pty pair is the
usual line: `socat pty,raw,echo=0,link=/tmp/reader pty,raw,echo=0,link=/tmp/host`.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from drivers.serial import ccid
from drivers.serial.frame import (
    CTRL_ACK,
    NAK_FRAME,
    SYNC,
    BadFrame,
    Frame,
    FrameDecoder,
    Nak,
    lrc,
)
from drivers.sim.readers.serial_line import LineSimulator
from drivers.sim.virtual_cards.vcard import VirtualCard

__all__ = ["DEFAULT_FIRMWARE", "LineNoise", "PtyPair", "SimulatedSerialReader"]

log = logging.getLogger(__name__)

DEFAULT_FIRMWARE = b"GemPC Twin simulateur kiosk 1.00"
T0_PARAMETERS = bytes((0x11, 0x00, 0x00, 0x0A, 0x00))  # Fi/Di, TCCKS, guard time, WI, clock stop
ICC_MUTE = 0xFE
CMD_NOT_SUPPORTED = 0x00
BAD_SLOT = 0x05  # bError: offset of the bad field (bSlot)
COMMANDS = frozenset(ccid.Command)  # the message types the reader knows (IntEnum: `kind in COMMANDS` for a byte)


@dataclass
class LineNoise:
    """Probabilities (0..1) of damage applied to what the reader sends; `seed` makes a run repeatable."""

    corrupt: float = 0.0  # flip one bit of an answer frame
    garbage: float = 0.0  # send 1..8 random bytes before an answer (never 03/50: those start real sequences)
    drop_echo: float = 0.0  # the echo never comes
    truncate: float = 0.0  # only the first part of the answer comes
    silent: bool = False  # read commands, answer nothing
    seed: int | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def chance(self, p: float) -> bool:
        return p > 0 and self.rng.random() < p

    def damage(self, data: bytes, junk_ok: Callable[[int], bool]) -> bytes:
        """`data` as the line delivers it: maybe one bit flipped, maybe cut short, maybe after 1..8 random bytes
        (those `junk_ok` accepts: a protocol's start-of-block bytes are left out)."""
        out = bytearray(data)
        if self.chance(self.corrupt):
            i = self.rng.randrange(len(out))
            out[i] ^= 1 << self.rng.randrange(8)
        if self.chance(self.truncate):
            out = out[: self.rng.randrange(1, len(out))]
        if self.chance(self.garbage):
            out = bytearray(b for b in self.rng.randbytes(self.rng.randint(1, 8)) if junk_ok(b)) + out
        return bytes(out)


class SimulatedSerialReader(LineSimulator):
    """Run with `start()` (a thread) or `serve()` (blocking); change the card with `insert()` / `remove()`."""

    thread_name = "sim-serial-reader"

    def __init__(
        self,
        port: Any,
        card: VirtualCard | None = None,
        echo: bool = True,
        firmware: bytes = DEFAULT_FIRMWARE,
        time_extensions: int = 0,
        noise: LineNoise | None = None,
        line_rate: int | None = None,
    ) -> None:
        super().__init__()
        if isinstance(port, str):
            from drivers.serial.port import open_port

            port = open_port(port)
        self.port = port
        self.card = card
        self.echo = echo
        self.firmware = firmware
        self.time_extensions = time_extensions
        self.noise = noise or LineNoise()
        self.line_rate = line_rate  # baud to emulate on a pty (which has none): bytes arrive after their wire time
        self.synchronous = False  # notification mode (Escape 01 01 xx)
        self.powered = False
        self.parameters = T0_PARAMETERS
        self._pending: list[bytes] = []  # notifications waiting for the next echo (synchronous mode)
        self._last_answer = b""
        self._write_lock = threading.Lock()
        self._decoder = FrameDecoder(from_reader=False)

    # -- card movements --------------------------------------------------------------------------------------

    def insert(self, card: VirtualCard | None = None) -> None:
        with self._write_lock:
            if card is not None:
                self.card = card
            if self.card is None:
                raise ValueError("no card to insert")
            self.powered = False
            self._notify(b"\x50\x03")

    def remove(self) -> None:
        with self._write_lock:
            self.card = None
            self.powered = False
            self._notify(b"\x50\x02")

    def _notify(self, sequence: bytes) -> None:
        if self.synchronous:
            self._pending.append(sequence)
        else:
            self._send(sequence)

    # -- serving ---------------------------------------------------------------------------------------------

    def _wire(self, n: int) -> None:
        """Wait as long as `n` bytes take on a real line (11 bits each at 8N2)."""
        if self.line_rate:
            time.sleep(n * 11 / self.line_rate)

    def _send(self, data: bytes) -> None:
        self._wire(len(data))
        self.log.append(("out", data))
        self.port.write(data)
        self.port.flush()

    def _handle(self, event: object) -> None:
        if self.noise.silent:
            return
        with self._write_lock:
            if isinstance(event, BadFrame):
                self._send(NAK_FRAME)
            elif isinstance(event, Nak):
                if self._last_answer:
                    self._send(self._last_answer)
            elif isinstance(event, Frame):
                self._wire(len(event.raw))  # the command's own time on the wire
                if self.echo and not self.noise.chance(self.noise.drop_echo):
                    self._send(event.raw)
                for sequence in self._pending:
                    self._send(sequence)
                self._pending.clear()
                answer = self._frame(self.answer(event.message))
                self._last_answer = answer
                self._send(self._damaged(answer))

    def _damaged(self, frame: bytes) -> bytes:
        return self.noise.damage(frame, lambda b: b not in (SYNC, 0x50) and b < 0x80)

    @staticmethod
    def _frame(message: bytes) -> bytes:
        body = bytes((SYNC, CTRL_ACK)) + message
        return body + bytes((lrc(body),))

    # -- CCID ------------------------------------------------------------------------------------------------

    def _icc(self) -> int:
        if self.card is None:
            return ccid.IccStatus.ABSENT
        return ccid.IccStatus.ACTIVE if self.powered else ccid.IccStatus.INACTIVE

    @staticmethod
    def _reply(kind: int, seq: int, status: int, error: int = 0, specific: int = 0, data: bytes = b"") -> bytes:
        return bytes((kind,)) + len(data).to_bytes(4, "little") + bytes((0, seq, status, error, specific)) + data

    def answer(self, message: bytes) -> bytes:
        """The reader's CCID answer to one host message (unframed), as it would go on the line."""
        kind, slot, seq = message[0], message[5], message[6]
        data = message[10:]
        expected = ccid.ANSWER_TO.get(ccid.Command(kind)) if kind in COMMANDS else None
        if slot != 0:
            return self._reply(expected or ccid.ResponseType.SLOT_STATUS, seq, 0x40 | self._icc(), BAD_SLOT)
        if kind == ccid.Command.POWER_ON:
            if self.card is None:
                return self._reply(ccid.ResponseType.DATA_BLOCK, seq, 0x40 | self._icc(), ICC_MUTE)
            self.card.reset()
            self.powered = True
            self.parameters = T0_PARAMETERS
            return self._reply(ccid.ResponseType.DATA_BLOCK, seq, self._icc(), data=self.card.atr)
        if kind == ccid.Command.POWER_OFF:
            self.powered = False
            return self._reply(ccid.ResponseType.SLOT_STATUS, seq, self._icc(), specific=0x01)  # clock stopped
        if kind == ccid.Command.GET_SLOT_STATUS:
            return self._reply(ccid.ResponseType.SLOT_STATUS, seq, self._icc())
        if kind == ccid.Command.XFR_BLOCK:
            return self._xfr(seq, data)
        if kind == ccid.Command.ESCAPE:
            return self._escape(seq, data)
        if kind == ccid.Command.SET_PARAMETERS:
            if self.card is None:
                return self._reply(ccid.ResponseType.PARAMETERS, seq, 0x40 | self._icc(), ICC_MUTE)
            self.parameters = data or self.parameters
            return self._reply(
                ccid.ResponseType.PARAMETERS, seq, self._icc(), specific=message[7], data=self.parameters
            )
        if kind == ccid.Command.GET_PARAMETERS:
            return self._reply(ccid.ResponseType.PARAMETERS, seq, self._icc(), data=self.parameters)
        return self._reply(ccid.ResponseType.SLOT_STATUS, seq, 0x40 | self._icc(), CMD_NOT_SUPPORTED)

    def _xfr(self, seq: int, tpdu: bytes) -> bytes:
        if self.card is None or not self.powered:
            return self._reply(ccid.ResponseType.DATA_BLOCK, seq, 0x40 | self._icc(), ICC_MUTE)
        if tpdu[:1] == b"\xff":  # PPS request (libccid negotiates TA1 itself): accept it as asked
            return self._reply(ccid.ResponseType.DATA_BLOCK, seq, self._icc(), data=tpdu)
        for _ in range(self.time_extensions):
            self._send(b"\x80")
        try:
            response = self.card.process(tpdu)
        except Exception:
            log.exception("carte virtuelle en erreur")
            response = b"\x6f\x00"
        return self._reply(ccid.ResponseType.DATA_BLOCK, seq, self._icc(), data=response)

    def _escape(self, seq: int, data: bytes) -> bytes:
        if data == b"\x02":
            return self._reply(ccid.ResponseType.ESCAPE, seq, self._icc(), data=self.firmware)
        if len(data) == 3 and data[:2] == b"\x01\x01":
            self.synchronous = data[2] == 0x01
            return self._reply(ccid.ResponseType.ESCAPE, seq, self._icc())
        return self._reply(ccid.ResponseType.ESCAPE, seq, 0x40 | self._icc(), CMD_NOT_SUPPORTED)


class PtyPair:
    """Two linked pseudo-terminals made by socat, reachable through stable symlinks (`reader`, `host`).

    Killing it makes both ends vanish, as unplugging a USB serial adapter does; starting a new one on the
    same links brings the line back (with new /dev/pts numbers behind the links)."""

    def __init__(self, reader: str, host: str) -> None:
        self.reader = reader
        self.host = host
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 5.0) -> PtyPair:
        socat = shutil.which("socat")
        if not socat:
            raise RuntimeError("socat is not installed (Debian package socat)")
        self.process = subprocess.Popen(
            [socat, "-d", "-d", f"pty,raw,echo=0,link={self.reader}", f"pty,raw,echo=0,link={self.host}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while not (os.path.exists(self.reader) and os.path.exists(self.host)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                self.stop()
                raise RuntimeError(f"socat did not create the pty pair: {err}")
            time.sleep(0.01)
        return self

    def device(self, end: str) -> str:
        """The /dev/pts/N behind one end's link (what a pcscd reader.conf entry must name)."""
        return os.path.realpath(self.reader if end == "reader" else self.host)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stderr:
            self.process.stderr.close()
        self.process = None
        for link in (self.reader, self.host):
            if os.path.islink(link):
                os.unlink(link)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
