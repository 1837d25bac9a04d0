"""The serving loop the simulated serial readers share: read what the host sends, decode, answer, until stopped.

One thread blocks on the port (no polling); `stop()` cancels the blocking read where pyserial can, and
closing the port ends it otherwise. A line that goes away (pty closed, unplugged) ends serving quietly.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from typing import Any, Self

import serial

__all__ = ["LineSimulator"]

log = logging.getLogger(__name__)


class LineSimulator:
    """Subclasses set `port`, `_decoder` (with `feed(bytes) -> events`) and implement `_handle(event)`;
    they call `super().__init__()` first."""

    thread_name = "sim-serial-line"
    port: Any
    _decoder: Any

    def __init__(self) -> None:
        self.log: deque[tuple[str, bytes]] = deque(maxlen=2000)  # ("in"|"out", raw), latest traffic
        self.stopped = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None

    def _handle(self, event: Any) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.serve, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        """Answer commands until `stop()` or until the line goes away."""
        try:
            while not self._closing:
                data = self.port.read(1)
                if not data:
                    continue
                waiting = self.port.in_waiting
                if waiting:
                    data += self.port.read(waiting)
                self.log.append(("in", data))
                for event in self._decoder.feed(data):
                    self._handle(event)
        except (serial.SerialException, OSError, TypeError, ValueError) as e:
            if not self._closing:
                log.info("%s : ligne perdue (%s)", self.thread_name, e)
        finally:
            self.stopped.set()

    def stop(self) -> None:
        self._closing = True
        cancel = getattr(self.port, "cancel_read", None)
        if cancel:
            with contextlib.suppress(serial.SerialException, OSError, TypeError, ValueError):
                cancel()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        with contextlib.suppress(serial.SerialException, OSError):
            self.port.close()
