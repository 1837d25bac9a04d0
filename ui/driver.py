"""A Linux terminal driver that sleeps while the desk is idle.

Textual's LinuxDriver polls its input every 0.1 s (ten wake-ups a second, all day, on a Raspberry Pi whose
desk is idle most of the time). This one blocks until a key arrives; it polls only while an escape sequence
is half-read (the parser's own timeout decides whether a lone ESC is the Escape key), and a self-pipe wakes
it when input is disabled (suspend, exit).
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder

from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

__all__ = ["QuietLinuxDriver"]


class QuietLinuxDriver(LinuxDriver):
    def run_input_thread(self) -> None:
        wake_r, self._wake_w = os.pipe()
        self._closing = False
        selector = selectors.DefaultSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        try:
            while not self.exit_event.is_set() and not self._closing:
                pending = parser._timeout_time is not None  # noqa: SLF001 -- textual has no public test; an ESC waiting to be told from a sequence
                for key, _ in selector.select(0.1 if pending else None):
                    if key.fd == wake_r:
                        continue
                    data = decode(os.read(self.fileno, 4096))
                    for event in parser.feed(data):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()
            os.close(wake_r)
            os.close(self._wake_w)

    def disable_input(self) -> None:
        self._closing = True
        wake = getattr(self, "_wake_w", None)
        if wake is not None:
            try:
                os.write(wake, b"x")
            except OSError:  # already closed: the thread has ended
                pass
        super().disable_input()
        self._closing = False
