"""sd_notify spoken to a real AF_UNIX datagram socket, as systemd listens."""

from __future__ import annotations

import os
import socket

from kiosk.appliance.service.notify import Notifier, watchdog_interval_s


def _listener(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(2)
    return s


def test_ready_watchdog_status_reach_the_socket(tmp_path) -> None:
    path = str(tmp_path / "notify")
    with _listener(path) as server:
        n = Notifier(path)
        assert n.enabled and n.ready("prêt")
        assert server.recv(4096) == b"READY=1\nSTATUS=pr\xc3\xaat"
        n.watchdog()
        assert server.recv(4096) == b"WATCHDOG=1"
        n.status("poste ouvert")
        assert server.recv(4096).decode() == "STATUS=poste ouvert"
        n.close()


def test_abstract_socket_name(tmp_path) -> None:
    name = f"kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(2)
        assert Notifier("@" + name).watchdog()
        assert server.recv(100) == b"WATCHDOG=1"


def test_outside_systemd_everything_is_a_no_op(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled and n.ready() is False
    gone = Notifier(str(tmp_path / "nobody-listens"))
    assert gone.watchdog() is False  # the manager went away: never an exception in the main loop


def test_watchdog_interval_is_half_of_watchdog_sec(monkeypatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval_s() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_interval_s() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval_s() is None
