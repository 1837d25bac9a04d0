"""tests/unit is the fast loop: pure code, no process, no server. A test that needs one belongs in
tests/integration; this guard says so instead of letting the unit run slow down unnoticed."""

from __future__ import annotations

import socket
import subprocess

import pytest


def _refuse(what: str):  # type: ignore[no-untyped-def]
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a unit test {what}: move it to tests/integration")

    return refuse


@pytest.fixture(autouse=True)
def _no_process_nor_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("starts a process"))
    monkeypatch.setattr(socket.socket, "listen", _refuse("starts a server"))
