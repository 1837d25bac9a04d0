"""Issues 15.2 and 15.3: "page ouverte" only once the browser fetched the one-shot page; a browser that fails,
dies or has no display is a French error and a journal entry; the desk's browser window is closed when the desk
locks, the staff card leaves or the Vitale card leaves.

The "browser" is a small real program given as `webps.browser`: it fetches the URL it is handed (as Chromium
would), or exits without fetching, then stays up like a window until it is closed. Headless Chromium itself is
driven by test_service_webps.py.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.audit import audit_dir, read_entries
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from kiosk.desk.events import EventKind, Reason
from tests.support.patience import wait_until

# The desk hands the browser a private launcher page that forwards to the one-shot URL (as Chromium follows it).
FETCH_THEN_STAY = (
    "import re, sys, time, urllib.request; page = urllib.request.urlopen(sys.argv[1]).read().decode(); "
    "target = re.search(r'url=([^\"]+)\"', page); "
    "urllib.request.urlopen(target.group(1) if target else sys.argv[1]).read(); time.sleep(600)"
)
EXIT_NOW = "import sys; sys.exit({code})"



@pytest.fixture
def desk(tmp_path: Path):
    with DemoWorld() as world:
        c = world.runtime.controller
        events: list = []
        c.add_listener(lambda view, event: events.append(event))
        world.backend.insert(STAFF_READER, cards.demo_cpe())
        wait_until(lambda: c.view().staff_phase.value == "pin_required", message="not reached: PIN asked")
        c.submit_pin(DEMO_PIN)
        wait_until(lambda: c.view().is_open, message="not reached: desk open")
        world.backend.insert(VITALE_READER, cards.demo_vitale_child())
        wait_until(lambda: bool(c.view().rows) and all(r.settled for r in c.view().rows),
                   message="not reached: answers")
        c.wait_idle(60)
        yield world, c, events, tmp_path


def _browser(world: DemoWorld, tmp_path: Path, code: str) -> Path:
    """Make `webps.browser` a Python one-liner; its pid is written where the test can see it."""
    pidfile = tmp_path / "browser.pid"
    wrapper = ["sh", "-c", f'echo $$ > "{pidfile}"; exec "$@"', "browser", sys.executable, "-c", code]
    ports = world.runtime.controller.ports
    ports.config = dataclasses.replace(ports.config, webps=dataclasses.replace(ports.config.webps, browser=wrapper))
    ports.page_fetch_s = 8.0
    return pidfile


def _alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text())
    except (FileNotFoundError, ValueError):
        return False
    try:  # the process can end between any two looks: a vanished /proc entry is "not alive", not an error
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return status not in ("Z", "X")


def _journal(world: DemoWorld, action: str) -> list[str]:
    return [e["outcome"] for e in read_entries(audit_dir(world.config)) if e["action"] == action]


def test_page_opened_only_once_fetched_then_closed_when_the_desk_locks(desk) -> None:
    world, c, events, tmp_path = desk
    pidfile = _browser(world, tmp_path, FETCH_THEN_STAY)
    c.open_page(1, "DossierPatient")
    c.wait_idle(60)
    assert [e.kind for e in events if e.kind in (EventKind.PAGE_OPENED, EventKind.ACTION_FAILED)] == [
        EventKind.PAGE_OPENED
    ]
    assert _journal(world, "page_opened") == ["ok"] and _alive(pidfile)
    c.lock()  # V: the window goes with the patient's data
    wait_until(lambda: not _alive(pidfile), message="not reached: browser closed")
    assert EventKind.PAGE_CLOSED in [e.kind for e in events] and _journal(world, "page_closed") == ["ok"]


@pytest.mark.parametrize("leaves", ["vitale", "staff"])
def test_the_window_closes_when_a_card_leaves(desk, leaves) -> None:
    world, c, events, tmp_path = desk
    pidfile = _browser(world, tmp_path, FETCH_THEN_STAY)
    c.open_page(1, "DossierPatient")
    c.wait_idle(60)
    assert _alive(pidfile)
    world.backend.remove(VITALE_READER if leaves == "vitale" else STAFF_READER)
    wait_until(lambda: not _alive(pidfile), message="not reached: browser closed")
    assert EventKind.PAGE_CLOSED in [e.kind for e in events]


@pytest.mark.parametrize(("code", "display", "reason"), [
    (3, ":0", Reason.BROWSER_FAILED),  # the browser died
    (1, None, Reason.NO_DISPLAY),  # no display to show it on
    (0, ":0", Reason.BROWSER_CLOSED),  # it left without asking for the page
])
def test_a_browser_that_never_fetches_is_an_error_not_a_success(desk, monkeypatch, code, display, reason) -> None:
    world, c, events, tmp_path = desk
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    if display:
        monkeypatch.setenv("DISPLAY", display)
    _browser(world, tmp_path, EXIT_NOW.format(code=code))
    c.open_page(1, "DossierPatient")
    c.wait_idle(60)
    assert EventKind.PAGE_OPENED not in [e.kind for e in events]
    failed = [e for e in events if e.kind is EventKind.ACTION_FAILED]
    assert len(failed) == 1 and failed[0].problem is not None and failed[0].problem.reason is reason
    said = c.texts.problem(failed[0].problem)
    assert said and "Traceback" not in said and _journal(world, "page_opened") == ["error"]
    entry = next(e for e in read_entries(audit_dir(world.config)) if e["action"] == "page_opened")
    assert entry["detail"]["reason"] == reason.value
