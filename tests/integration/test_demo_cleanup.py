"""`kiosk demo` leaves nothing behind (issue 14, point 11): its private directory (test PKI, the printer file,
mode 0600) is removed on SIGTERM and SIGHUP as on a normal exit."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.patience import wait_until


def _wait(condition, what: str, timeout: float = 120) -> None:
    wait_until(condition, timeout, message=what)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_demo_removes_its_private_directory_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), KIOSK_CONFIG=str(tmp_path / "none.toml"))
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "demo", "--headless", "--json"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline()  # the desk's first event: the world is up
        workdirs = list(runtime.glob("kiosk-demo-*"))
        assert len(workdirs) == 1 and stat.S_IMODE(workdirs[0].stat().st_mode) == 0o700
        printer = workdirs[0] / "imprimante.bin"
        if printer.exists():
            assert stat.S_IMODE(printer.stat().st_mode) == 0o600
        proc.send_signal(sig)
        proc.communicate(timeout=120)
        assert not list(runtime.glob("kiosk-demo-*")), "the demo's private directory was left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
