"""ESC/POS receipt printers: the job's bytes built by python-escpos, sent by us with deadlines, then confirmed.

The byte stream: ESC @ (initialise), ESC t 16 (code page WPC1252: every French letter, œ and € included), the
lines (the first in bold), the QR code (`printer.qr = "native"`: GS ( k, drawn by the printer; `"image"`: a raster
image GS v 0 for printers without a QR engine), then feed and GS V (cut).

Transports, by `printer.kind` and `printer.target`:
  escpos-network  HOST[:PORT]        raw TCP, port 9100 by default ([::1]:9100 for IPv6)
  escpos-serial   DEVICE or a pyserial URL, at `printer.baudrate` (8N1)
  escpos-usb      VID:PID in hex (04b8:0e15), through python-escpos' USB printer (pyusb)
  file            PATH: the bytes written to a file or a device node (/dev/usb/lp0); no status read back
Every write and read is bounded by `printer.timeout_s`: a printer that stops taking bytes (flow control, buffer
full, paper jam) gives NOT_READING instead of hanging the desk. With `printer.confirm` (default) the kiosk asks
the printer's real-time status (DLE EOT 4 before the job: paper; DLE EOT 1 after it: on line) and needs an answer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.appliance.printing.errors import PrinterError, PrintFailure
from kiosk.appliance.printing.job import PrintJob, fold
from kiosk.config.printer_targets import parse_hostport, parse_usb_id

__all__ = ["escpos_bytes", "print_escpos", "printer_status"]

log = logging.getLogger(__name__)

CODEPAGE, CODEC = "CP1252", "cp1252"  # python-escpos' name (ESC t 16 in its default profile), Python's codec
QR_MODULE_DOTS = 6
SEND_BUFFER = 32 * 1024  # bytes
DLE_EOT_PRINTER, DLE_EOT_PAPER = b"\x10\x04\x01", b"\x10\x04\x04"
STATUS_FIXED_MASK, STATUS_FIXED = 0x93, 0x12  # bits 0,1,4,7 of every DLE EOT answer are 0,1,1,0
OFFLINE_BIT = 0x08  # DLE EOT 1
PAPER_END_BITS = 0x60  # DLE EOT 4


def escpos_bytes(job: PrintJob, qr: str = "native") -> bytes:
    from escpos.constants import QR_ECLEVEL_M
    from escpos.printer import Dummy

    p = Dummy()
    p.hw("INIT")
    p.charcode(CODEPAGE)
    for i, line in enumerate(job.lines):
        if i == 0:
            p.set(bold=True)
        p.textln(fold(line, CODEC))
        if i == 0:
            p.set(bold=False)
    if job.qr:
        if qr == "image":
            p.qr(job.qr, ec=QR_ECLEVEL_M, size=QR_MODULE_DOTS, native=False,
                 image_arguments={"impl": "bitImageRaster", "center": False})
        else:
            p.qr(job.qr, ec=QR_ECLEVEL_M, size=QR_MODULE_DOTS, native=True)
    p.cut()
    return bytes(p.output)


class _Link(Protocol):
    def write(self, data: bytes, deadline: float) -> None: ...

    def read1(self, deadline: float) -> bytes: ...

    def close(self) -> None: ...


@dataclass
class _SocketLink:
    sock: socket.socket

    def write(self, data: bytes, deadline: float) -> None:
        self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise PrinterError(PrintFailure.NOT_READING) from None

    def read1(self, deadline: float) -> bytes:
        self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            return self.sock.recv(1)
        except TimeoutError:
            return b""

    def close(self) -> None:
        self.sock.close()


@dataclass
class _SerialLink:
    port: Any  # serial.Serial

    def write(self, data: bytes, deadline: float) -> None:
        import serial

        self.port.write_timeout = max(deadline - time.monotonic(), 0.001)
        try:
            self.port.write(data)
        except serial.SerialTimeoutException:
            raise PrinterError(PrintFailure.NOT_READING) from None

    def read1(self, deadline: float) -> bytes:
        self.port.timeout = max(deadline - time.monotonic(), 0.001)
        return bytes(self.port.read(1))

    def close(self) -> None:
        self.port.close()


@dataclass
class _UsbLink:
    printer: Any  # escpos.printer.Usb, opened

    def write(self, data: bytes, deadline: float) -> None:
        import usb.core

        self.printer.timeout = max(int((deadline - time.monotonic()) * 1000), 1)
        try:
            self.printer._raw(data)  # noqa: SLF001 -- python-escpos' USB write, its only raw one (endpoint found, kernel driver detached)
        except usb.core.USBTimeoutError:
            raise PrinterError(PrintFailure.NOT_READING) from None

    def read1(self, deadline: float) -> bytes:
        import usb.core

        try:
            return bytes(
                self.printer.device.read(self.printer.in_ep, 16, max(int((deadline - time.monotonic()) * 1000), 1))
            )[:1]
        except usb.core.USBTimeoutError:
            return b""

    def close(self) -> None:
        self.printer.close()


@dataclass
class _FileLink:
    fd: int

    def write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            if not select.select([], [self.fd], [], max(deadline - time.monotonic(), 0))[1]:
                raise PrinterError(PrintFailure.NOT_READING)
            view = view[os.write(self.fd, view):]

    def read1(self, deadline: float) -> bytes:
        return b""

    def close(self) -> None:
        os.close(self.fd)


def print_escpos(kind: str, target: str, job: PrintJob, *, timeout_s: float, qr: str = "native",
                 confirm: bool = True, baudrate: int = 9600) -> None:
    data = escpos_bytes(job, qr)
    deadline = time.monotonic() + timeout_s
    ask = confirm and kind != "file"
    with _connected(kind, target, timeout_s, baudrate) as link:
        if ask:
            _check(_status(link, DLE_EOT_PAPER, deadline), PAPER_END_BITS, PrintFailure.PAPER_OUT)
        link.write(data, deadline)
        if ask:
            _check(_status(link, DLE_EOT_PRINTER, deadline), OFFLINE_BIT, PrintFailure.OFFLINE)
    log.info("impression ESC/POS : %d octets envoyés à %s", len(data), target)


def printer_status(kind: str, target: str, *, timeout_s: float, baudrate: int = 9600) -> str:
    """Paper and on-line status asked (DLE EOT 4 and 1), nothing printed: what `kiosk doctor` does."""
    if kind == "file":
        return f"{target} (pas d'état pour une sortie fichier)"
    deadline = time.monotonic() + timeout_s
    with _connected(kind, target, timeout_s, baudrate) as link:
        _check(_status(link, DLE_EOT_PAPER, deadline), PAPER_END_BITS, PrintFailure.PAPER_OUT)
        _check(_status(link, DLE_EOT_PRINTER, deadline), OFFLINE_BIT, PrintFailure.OFFLINE)
    return f"{target} en ligne, papier présent"


@contextlib.contextmanager
def _connected(kind: str, target: str, timeout_s: float, baudrate: int) -> Iterator[_Link]:
    """The open link, closed on the way out; an OSError while using it is an unreachable printer."""
    link = _open(kind, target, timeout_s, baudrate)
    try:
        yield link
    except OSError as e:
        raise PrinterError(PrintFailure.UNREACHABLE, f"{target} ({os.strerror(e.errno) if e.errno else e})") from None
    finally:
        link.close()


def _status(link: _Link, request: bytes, deadline: float) -> int:
    link.write(request, deadline)
    answer = link.read1(deadline)
    if not answer:
        raise PrinterError(PrintFailure.NO_ANSWER, "pas de réponse à la demande d'état (DLE EOT)")
    if answer[0] & STATUS_FIXED_MASK != STATUS_FIXED:
        raise PrinterError(PrintFailure.NO_ANSWER, f"réponse d'état illisible (0x{answer[0]:02x})")
    return answer[0]


def _check(status: int, bits: int, failure: PrintFailure) -> None:
    if status & bits:
        raise PrinterError(failure)


def _open(kind: str, target: str, timeout_s: float, baudrate: int) -> _Link:
    try:
        if kind == "escpos-network":
            host, port = parse_hostport(target)
            sock = socket.create_connection((host, port), timeout=timeout_s)
            # a bounded send buffer (no autotuning to megabytes): a printer that stops reading is felt as a
            # blocked write within the timeout, not hidden by the kernel holding the whole job
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
            return _SocketLink(sock)
        if kind == "escpos-serial":
            import serial

            return _SerialLink(serial.serial_for_url(target, baudrate=baudrate, timeout=timeout_s,
                                                     write_timeout=timeout_s, exclusive=True))
        if kind == "escpos-usb":
            return _UsbLink(_usb(target, timeout_s))
        if kind == "file":
            return _FileLink(
                os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
            )
    except PrinterError:
        raise
    except ValueError as e:
        raise PrinterError(PrintFailure.BAD_TARGET, str(e)) from None
    except Exception as e:  # noqa: BLE001 - socket, pyserial and pyusb each raise their own kinds: one answer
        raise PrinterError(PrintFailure.UNREACHABLE, f"{target} ({_why(e)})") from None
    raise PrinterError(PrintFailure.BAD_TARGET, f"type d'imprimante ESC/POS inconnu : {kind}")


def _usb(target: str, timeout_s: float) -> Any:
    from escpos.printer import Usb

    vid, pid = parse_usb_id(target)
    printer = Usb(vid, pid, timeout=int(timeout_s * 1000))
    printer.open()
    if printer.device is None:
        raise PrinterError(PrintFailure.UNREACHABLE, f"aucune imprimante USB {target} branchée")
    return printer


def _why(e: BaseException) -> str:
    errno = getattr(e, "errno", None)
    return os.strerror(errno) if isinstance(errno, int) else type(e).__name__
