"""Opening the page without a disk: a one-shot loopback URL behind a random token, served once, expiring."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kiosk.config import parse_config
from kiosk.teleservices.webps import BrowserError, OneShotPage, open_page
from tests.support.patience import PATIENCE_S

NIR = "255069999999934"
# A "browser" that opens the launcher file it is given and follows its refresh, as Chromium would, keeping nothing.
FOLLOW = ("import re, sys, urllib.request; page = urllib.request.urlopen(sys.argv[-1]).read().decode(); "
          "url = re.search(r'url=([^\"]+)', page).group(1); ")
FETCHER = FOLLOW + "urllib.request.urlopen(url, timeout=10).read()"


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def test_served_once_then_gone() -> None:
    with OneShotPage("<p>secret</p>", ttl_s=30) as page:
        assert page.url.startswith("http://127.0.0.1:") and len(page.token) >= 40
        wrong = page.url.rsplit("/", 1)[0] + "/" + "x" * len(page.token)
        assert _get(wrong)[0] == 404
        status, body, headers = _get(page.url)
        assert (status, body) == (200, b"<p>secret</p>")
        assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
        assert headers["Content-Type"].startswith("application/xhtml+xml")
        assert page.served and page.wait(0)
        assert _get(page.url)[0] == 404


def test_expires_unserved() -> None:
    page = OneShotPage("<p>secret</p>", ttl_s=0.3).start()
    url = page.url
    assert not page.wait(1.0)
    assert page.expired
    try:
        status: int | None = _get(url)[0]
    except OSError:  # the server has stopped listening
        status = None
    assert status in (None, 404)


def _config(tmp_path: Path, browser: list[str]):  # type: ignore[no-untyped-def]
    config, _ = parse_config(f'state_dir = "{tmp_path}"\n[webps]\nbrowser = {json.dumps(browser)}\n')
    return config


def test_open_page_hands_a_token_url_to_the_browser(tmp_path: Path) -> None:
    opened = open_page(_config(tmp_path, [sys.executable, "-c", FETCHER]), "DossierPatient", NIR, ttl_s=20)
    assert opened.served
    assert opened.process.wait(PATIENCE_S) == 0
    assert opened.describe()["ins"] == "2550...34"
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and NIR.encode() in p.read_bytes()]


def test_open_page_without_wait_returns_at_once_and_the_page_waits(tmp_path: Path) -> None:
    gate = tmp_path / "gate"  # the "browser" fetches only once the test opens the gate: no race with the clock
    held = ("import pathlib, time\n"
            f"deadline = time.monotonic() + {PATIENCE_S}\n"
            f"while not pathlib.Path({str(gate)!r}).exists() and time.monotonic() < deadline:\n"
            "    time.sleep(0.05)\n"
            + FOLLOW + "urllib.request.urlopen(url).read()\n")
    opened = open_page(_config(tmp_path, [sys.executable, "-c", held]), "TableauDeBord", wait=False,
                       ttl_s=PATIENCE_S * 2)
    assert not opened.served  # open_page returned while the browser was still held
    gate.touch()
    assert opened.wait(PATIENCE_S)


def test_missing_or_failing_browser(tmp_path: Path) -> None:
    with pytest.raises(BrowserError, match="introuvable"):
        open_page(_config(tmp_path, ["/nonexistent/chromium"]), "TableauDeBord")
    opened = open_page(_config(tmp_path, [sys.executable, "-c", "raise SystemExit(4)"]), "TableauDeBord",
                       ttl_s=PATIENCE_S * 2)
    assert not opened.served and opened.process.returncode == 4
    assert not opened.page.expired  # it returned when the browser failed, long before the page's end of life
    opened.page.close()


def test_cli_link_open(run_kiosk, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'state_dir = "{tmp_path}/state"\n[webps]\nbrowser = {json.dumps([sys.executable, "-c", FETCHER])}\n'
    )
    done = run_kiosk("link", "DossierPatient", "--ins", NIR, "--open", "--json", config=config)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["served"] is True and data["ins"] == "2550...34" and NIR not in done.stdout + done.stderr
    config.write_text(f'state_dir = "{tmp_path}/state"\n[webps]\nbrowser = ["{sys.executable}", "-c", "pass"]\n')
    done = run_kiosk("link", "TableauDeBord", "--open", "--ttl", "1", config=config)
    assert done.returncode == 3 and "expirée" in done.stderr
    config.write_text(
        f'state_dir = "{tmp_path}/state"\n[webps]\nbrowser = ["{sys.executable}", "-c", "raise SystemExit(5)"]\n'
    )
    done = run_kiosk("link", "TableauDeBord", "--open", config=config)
    assert done.returncode == 3 and "code 5" in done.stderr


def test_the_token_is_not_in_the_browsers_argv(tmp_path: Path) -> None:
    """Issue 14, point 11. Reproduction: the one-shot URL (with its token) was the browser's last argument,
    readable by any local user in /proc/PID/cmdline, who could fetch the page first."""
    import stat

    gate = tmp_path / "gate"  # the "browser" fetches once the test has looked at its argv and launcher
    peek = ("import pathlib, time\n"
            f"deadline = time.monotonic() + {PATIENCE_S}\n"
            f"while not pathlib.Path({str(gate)!r}).exists() and time.monotonic() < deadline:\n"
            "    time.sleep(0.05)\n"
            + FOLLOW + "urllib.request.urlopen(url).read()\n")
    opened = open_page(_config(tmp_path, [sys.executable, "-c", peek]), "DossierPatient", NIR, ttl_s=PATIENCE_S * 2,
                       wait=False)
    deadline = time.monotonic() + PATIENCE_S
    while b"-c" not in (cmdline := Path(f"/proc/{opened.process.pid}/cmdline").read_bytes()):
        assert time.monotonic() < deadline, "the browser never started"  # between fork and exec, or not yet
        time.sleep(0.01)
    assert opened.page.token.encode() not in cmdline and b"file://" in cmdline
    launcher = Path(cmdline.split(b"\0")[-2].decode()[len("file://"):])
    assert stat.S_IMODE(launcher.stat().st_mode) == 0o600 and stat.S_IMODE(launcher.parent.stat().st_mode) == 0o700
    assert NIR.encode() not in launcher.read_bytes()
    gate.touch()
    assert opened.wait(PATIENCE_S) and opened.served
    assert not launcher.parent.exists()  # burnt with the page
