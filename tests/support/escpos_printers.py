"""Receipt printer stand-ins for the tests: a raw TCP port (the network kind's port 9100) and a pty (the serial
kind). Both keep every byte received, answer DLE EOT status requests like an Epson printer (settable status
bytes, or no answer at all), and can stop reading, as a printer does when its buffer is full."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty
from dataclasses import dataclass, field

from tests.support.escpos_reader import EscPosReader, Receipt

READY = 0x12  # DLE EOT 1 and 4 answers with only the fixed bits: on line, paper present
OFFLINE = READY | 0x08  # DLE EOT 1 bit 3
PAPER_END = READY | 0x60  # DLE EOT 4 bits 5 and 6


@dataclass
class Behaviour:
    printer_status: int = READY
    paper_status: int = READY
    mute: bool = False  # never answers status requests (a one-way printer)
    stalled: bool = False  # never reads: its buffer is full and flow control holds the sender

    def answers(self, requests: list[int]) -> bytes:
        if self.mute:
            return b""
        return bytes(self.paper_status if n == 4 else self.printer_status for n in requests)


@dataclass
class _Stand:
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: bytearray = field(default_factory=bytearray)
    _reader: EscPosReader = field(default_factory=EscPosReader)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _take(self, data: bytes) -> bytes:
        self.received += data
        return self.behaviour.answers(self._reader.feed(data))

    def receipt(self) -> Receipt:
        return self._reader.close()

    def wait_bytes(self, count: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{count} bytes expected, {len(self.received)} received"
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)


@dataclass
class NetworkPrinter(_Stand):
    """`target` is 127.0.0.1:PORT. One connection at a time, like a JetDirect port."""

    server: socket.socket = field(default_factory=socket.socket)

    def __post_init__(self) -> None:
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # small, so a stalled printer is felt early
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.server.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.1)
                while not self._stop.is_set():
                    if self.behaviour.stalled:
                        time.sleep(0.05)
                        continue
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    if not data:
                        break
                    conn.sendall(self._take(data))

    def stop(self) -> None:
        super().stop()
        self.server.close()


@dataclass
class SerialPrinter(_Stand):
    """`target` is the pty's slave device (/dev/pts/N), opened by the kiosk like a USB-serial adapter."""

    master: int = -1
    slave: int = -1

    def __post_init__(self) -> None:
        self.master, self.slave = os.openpty()  # the slave stays open here: the kiosk closing it is no hang-up
        tty.setraw(self.slave)  # no echo, no newline translation, whatever the kiosk sets
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def target(self) -> str:
        return os.ttyname(self.slave)

    def _serve(self) -> None:
        while not self._stop.is_set():
            if self.behaviour.stalled or not select.select([self.master], [], [], 0.1)[0]:
                time.sleep(0.02)
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                continue
            answer = self._take(data)
            if answer:
                os.write(self.master, answer)

    def stop(self) -> None:
        super().stop()
        os.close(self.master)
        os.close(self.slave)
