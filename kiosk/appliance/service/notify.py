"""systemd's notify protocol, spoken directly: one datagram to $NOTIFY_SOCKET per state change.

No libsystemd binding is needed for three messages (READY=1, WATCHDOG=1, STATUS=...). An abstract socket
is named with a leading "@". Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op.
"""

from __future__ import annotations

import os
import socket

__all__ = ["Notifier", "watchdog_interval_s"]


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        raw = os.environ.get("NOTIFY_SOCKET", "") if address is None else address
        self._address = "\0" + raw[1:] if raw.startswith("@") else raw
        self._sock: socket.socket | None = None
        if self._address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, *fields: str) -> bool:
        """Send "K=V" lines in one datagram; False when not under systemd or the manager is gone."""
        if self._sock is None:
            return False
        try:
            # Never block: a manager whose queue is full must not hang the main loop (nor its stop).
            self._sock.sendto("\n".join(fields).encode(), socket.MSG_DONTWAIT, self._address)
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval_s() -> float | None:
    """Half of WatchdogSec (systemd passes $WATCHDOG_USEC, and $WATCHDOG_PID when it is meant for us)."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000
