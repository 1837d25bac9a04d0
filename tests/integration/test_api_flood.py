"""The local API under a connection flood (issue 14, point 3): `kiosk run --headless` with the unit's
LimitNOFILE keeps answering after 2,000 idle connections; with descriptors too few for its client cap, accept()
fails (EMFILE), the loop backs off and resumes once the flood is released; past `api.unhealthy_after_s` of that,
the service stops pinging systemd's watchdog (seen on a notify socket of the test's, as systemd listens) and
pings again once accept() works. A second `kiosk run` on the same live socket refuses to start. Recovery times
are measured by benchmarks/api.py, not here."""

from __future__ import annotations

import json
import os
import queue
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.test_service_headless import CONFIG, event_lines, next_event
from tests.support.patience import wait_until

FLOOD = 2000


def unit_nofile() -> int:
    found = re.search(r"^LimitNOFILE=(\d+)", (ROOT / "systemd" / "kiosk.service").read_text(), re.MULTILINE)
    assert found, "kiosk.service states its LimitNOFILE"
    return int(found.group(1))


def _ask(path: Path, request: dict, timeout: float = 60) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall((json.dumps(request) + "\n").encode())
        return json.loads(s.makefile().readline())


def start_service(tmp_path: Path, nofile: int, extra: str = "",
                  systemd: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path, queue.Queue]:
    """`kiosk run --headless` under prlimit; `systemd`: the NOTIFY_SOCKET / WATCHDOG_USEC systemd would pass."""
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG.format(state=tmp_path / "state") + extra)
    api = tmp_path / "run" / "api.sock"
    env = dict(os.environ, KIOSK_CONFIG=str(config))
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        env.pop(name, None)
    env.update(systemd or {})
    proc = subprocess.Popen(["prlimit", f"--nofile={nofile}:{nofile}", "--", sys.executable, "-m", "kiosk", "run",
                             "--headless", "--api-socket", str(api)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    next_event(event_lines(proc.stdout), "ready", timeout=120)
    return proc, api, event_lines(proc.stderr)


def descriptors(proc: subprocess.Popen) -> int:
    return len(os.listdir(f"/proc/{proc.pid}/fd"))


def flood(api: Path, count: int) -> list[socket.socket]:
    """`count` connections that never send anything (some may be refused or closed by the server)."""
    held = []
    for _ in range(count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(str(api))
        except BlockingIOError:
            pass  # the backlog is full: still an open descriptor on our side, held like the others
        except OSError:
            s.close()
            continue
        held.append(s)
    return held


def _drain(q: queue.Queue, into: list[str]) -> list[str]:
    while not q.empty():
        line = q.get()
        if line is not None:
            into.append(line)
    return into


@pytest.fixture
def many_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, FLOOD * 2 + 512), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("case", ["unit-limit", "starved"])
def test_a_connection_flood_is_survived(tmp_path, many_descriptors, case) -> None:
    if case == "unit-limit":
        proc, api, err = start_service(tmp_path, unit_nofile())
    else:  # fewer descriptors than the client cap: accept() itself fails with EMFILE during the flood
        proc, api, err = start_service(tmp_path, 96, "\n[api]\nmax_clients = 512\nidle_timeout_s = 3600\n")
    try:
        baseline = descriptors(proc)
        held = flood(api, FLOOD)
        # Hold the flood until the server is full: its client cap reached, or (starved) out of descriptors.
        wait_until(lambda: descriptors(proc) >= min(baseline + 32, 90), 120, 0.1, "the server never took the flood")
        if case == "starved":
            logged: list[str] = []
            wait_until(lambda: any("ressources épuisées" in line for line in _drain(err, logged)), 120, 0.1,
                       "no EMFILE logged")
        assert proc.poll() is None
        for s in held:
            s.close()
        def status() -> dict:  # the server frees its side as it notices the closed clients
            try:
                answer = _ask(api, {"op": "status"}, timeout=10)
            except OSError:
                return {}
            return answer if answer.get("ok") else {}

        answer = wait_until(status, 120, 0.2, "the API did not answer after the flood")
        assert answer["api_version"] == 2
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=60)


def test_a_second_run_refuses_a_live_socket(tmp_path) -> None:
    proc, api, _err = start_service(tmp_path, unit_nofile())
    try:
        second = subprocess.run([sys.executable, "-m", "kiosk", "run", "--headless", "--api-socket", str(api)],
                                check=False, capture_output=True, text=True, timeout=120, cwd=ROOT,
                                env=dict(os.environ, KIOSK_CONFIG=str(tmp_path / "kiosk.toml")))
        assert second.returncode == 2 and "autre instance" in second.stderr + second.stdout
        assert "Traceback" not in second.stderr
        assert _ask(api, {"op": "status"})["ok"]  # the first one's socket was not unlinked
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


class NotifySocket:
    """systemd's side of sd_notify: a datagram socket; every message kept in order of arrival."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self.cond:
                self.messages.extend(data.decode().splitlines())
                self.cond.notify_all()

    def wait_for(self, predicate, what: str, timeout: float = 120) -> int:
        """Waits until predicate(messages) holds; returns how many messages had arrived then."""
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.messages), timeout), f"{what}: {self.messages[-8:]}"
            return len(self.messages)

    def pings_after(self, index: int) -> int:
        with self.cond:
            return self.messages[index:].count("WATCHDOG=1")


def test_a_starved_api_stops_the_watchdog_pings_and_resumes_them(tmp_path, many_descriptors) -> None:
    """Point 3's last end: accept() failing (EMFILE: 96 descriptors, a flood held) past `unhealthy_after_s`, the
    service says so on STATUS= and stops WATCHDOG=1, so systemd (WatchdogSec) would restart it; released before
    that, it pings again. WATCHDOG_USEC = 1 s: a ping every 0.5 s while healthy."""
    notify = NotifySocket(tmp_path / "notify")
    proc, api, err = start_service(
        tmp_path, 96, "\n[api]\nmax_clients = 512\nidle_timeout_s = 3600\nunhealthy_after_s = 2\n",
        systemd={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"},
    )
    held: list[socket.socket] = []
    try:
        notify.wait_for(lambda m: "READY=1" in m and m.count("WATCHDOG=1") >= 2, "no READY=1 and pings")
        held = flood(api, FLOOD)
        starved = notify.wait_for(lambda m: any(x.startswith("STATUS=API locale hors service") for x in m),
                                  "no 'hors service' status while accept() fails")
        assert proc.poll() is None
        time.sleep(3)  # six ping periods: a negative check (a slower machine would only ping less)
        assert notify.pings_after(starved) == 0, notify.messages[starved:]
        logged = _drain(err, [])
        assert any("ressources épuisées" in line for line in logged), logged[-5:]
        assert any("plus de signal de vie" in line for line in logged), logged[-5:]
        for s in held:
            s.close()
        held = []
        notify.wait_for(lambda m: m[starved:].count("WATCHDOG=1") >= 2, "the pings did not resume after the flood")
        notify.wait_for(lambda m: any(x.startswith("STATUS=") and "hors service" not in x for x in m[starved:]),
                        "the status line did not come back")
        assert _ask(api, {"op": "status"})["ok"]
    finally:
        for s in held:
            s.close()
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=60)
        notify.sock.close()
