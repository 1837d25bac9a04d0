"""The real TUI in a real terminal (tmux): `kiosk demo` driven with the demo's function keys, and `kiosk run`
starting on configured readers. Skipped, with the reason, where tmux is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import ROOT
from tests.support.patience import PATIENCE_S, wait_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux absent (apt-get install tmux)")


class Tmux:
    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.socket = f"kiosk-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        full = f"cd {ROOT} && unset COLUMNS LINES && export {exports} TERM=xterm-256color && exec {command}"
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-x", "132", "-y", "40", full], check=True)
        subprocess.run(
            ["tmux", "-L", self.socket, "resize-window", "-x", "132", "-y", "40"], capture_output=True, check=False
        )

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "capture-pane", "-p"], capture_output=True, text=True, check=False
        )
        return out.stdout

    def wait(self, text: str, timeout: float = PATIENCE_S) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", *keys], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


def test_kiosk_demo_tui_with_function_keys(tmp_path) -> None:
    t = Tmux(f"{sys.executable} -m kiosk demo", {"KIOSK_CONFIG": str(tmp_path / "none.toml")})
    try:
        t.wait("Insérez votre carte professionnelle")
        t.keys("F2")
        t.wait("Code porteur de Claire ACCUEIL")
        t.keys("1", "2", "3", "4", "Enter")
        t.wait("Insérez la carte Vitale")
        t.keys("F3")
        screen = t.wait("ouvert, autorisé")
        assert "ADRTROIS DOMINIQUE" in screen and "26/02/1997" in screen
        t.keys("F4")
        t.wait("Insérez la carte Vitale")
        assert "ADRTROIS" not in t.screen()
        t.keys("F2")
        t.wait("Insérez votre carte professionnelle")
    finally:
        t.close()


def test_kiosk_run_tui_starts_on_configured_readers(tmp_path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[ui]\ntheme = "plain"\ntexts = {{ "waiting.staff" = "Badgez ici" }}\n'
        '[[readers]]\nname = "vitale"\nrole = "patient"\nbackend = "sim"\n'
    )
    t = Tmux(f"{sys.executable} -m kiosk run", {"KIOSK_CONFIG": str(config), "PYTHONUNBUFFERED": "1"})
    try:
        t.wait("Badgez ici")
        t.keys("d")  # no dialog on a locked desk: nothing happens, and F12 gives the diagnostics
        t.keys("F12")
        t.wait("Diagnostic de la borne")
        t.wait("Lecteur vitale", timeout=60)
        # A lone Escape (the quiet driver polls only while a sequence is half-read) closes the diagnostics,
        # and Ctrl+Q ends the program (the session ends with it).
        t.keys("Escape")
        t.wait("Badgez ici")
        t.keys("C-q")
        has_session = ["tmux", "-L", t.socket, "has-session"]
        wait_until(lambda: subprocess.run(has_session, capture_output=True, check=False).returncode, 30, 0.1,
                   "Ctrl+Q did not quit")
    finally:
        t.close()
