"""Opening a serial port given as a device path or any pyserial URL, and waiting for it to come back.

Line settings are the Twin family's (readers.md): 8 data bits, 2 stop bits, no parity, raw, RTS low (a high
RTS makes the reader send its plug-and-play string). Devices are opened exclusively (`flock`), so that pcscd's
libccidtwin and this driver never share a line by mistake.

Waiting for an unplugged device does not poll: a device path is watched with inotify (watchdog) on its
directory, or on its nearest existing ancestor while that directory is missing (/dev/serial/by-id vanishes
with the last USB adapter). devpts does not report new ptys to inotify, so a slow safety re-check backs the
watch up. A URL (socket://, rfc2217://) has nothing to watch: reconnection is tried with a capped back-off.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import serial

from drivers.errors import ReaderError

__all__ = ["is_url", "open_port", "wait_for_device"]

log = logging.getLogger(__name__)

SAFETY_RECHECK_S = 10.0  # for filesystems whose inotify stays silent (devpts)
URL_BACKOFF_S = (0.5, 10.0)  # first and longest wait between reconnections to a URL


def is_url(port: str) -> bool:
    return "://" in port


def open_port(port: str, baud: int = 115200) -> Any:
    """An open pyserial port object; `ReaderError` (French message) if it cannot be opened."""
    try:
        if is_url(port):
            dev = serial.serial_for_url(port, do_not_open=True)
        else:
            dev = serial.Serial()
            dev.port = port
            dev.exclusive = True
        dev.baudrate = baud
        dev.bytesize = serial.EIGHTBITS
        dev.parity = serial.PARITY_NONE
        dev.stopbits = serial.STOPBITS_TWO
        dev.xonxoff = dev.rtscts = dev.dsrdtr = False
        # Blocking reads woken by cancel_read(); handlers without it wake every second to notice a close.
        dev.timeout = None if hasattr(dev, "cancel_read") else 1.0
        dev.rts = False
        dev.open()
    except (serial.SerialException, OSError, ValueError) as e:
        raise ReaderError(f"impossible d'ouvrir le port série {port} : {e}") from e
    try:
        dev.reset_input_buffer()
    except (serial.SerialException, OSError):
        pass
    return dev


def wait_for_device(port: str, stop: threading.Event, wake: threading.Event, attempt: int = 0) -> bool:
    """Block until `port` may be openable again; False once `stop` is set. Whoever sets `stop` sets `wake`
    too (one event to sleep on for both reasons)."""
    if stop.is_set():
        return False
    wake.clear()
    if is_url(port) or _exists(Path(port)):
        # A URL, or a device present but not openable yet (udev settling, permissions, held by another).
        low, high = URL_BACKOFF_S
        wake.wait(min(high, low * (2 ** min(attempt, 10))))
        return not stop.is_set()
    return _watch_until_exists(Path(port), stop, wake)


def _exists(path: Path) -> bool:
    return os.path.exists(path)  # follows symlinks: a dangling socat link is "absent"


def _watch_until_exists(path: Path, stop: threading.Event, wake: threading.Event) -> bool:
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    class Wake(FileSystemEventHandler):
        def on_any_event(self, event: Any) -> None:
            wake.set()

    while not stop.is_set():
        watched = _nearest_directory(path)
        observer = Observer()
        try:
            observer.schedule(Wake(), str(watched), recursive=False)
            observer.start()
        except OSError as e:  # no inotify (container limits): the safety re-check still works
            log.debug("pas de surveillance inotify de %s : %s", watched, e)
        try:
            if _exists(path):
                return True
            wake.wait(SAFETY_RECHECK_S)
            wake.clear()
            if _exists(path):
                return not stop.is_set()
        finally:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout=2)
    return False


def _nearest_directory(path: Path) -> Path:
    """The device's directory, or its closest existing ancestor (watch it until the directory appears)."""
    parent = path.absolute().parent
    while not parent.is_dir() and parent != parent.parent:
        parent = parent.parent
    return parent
