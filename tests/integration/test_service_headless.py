"""`kiosk run --headless` as systemd runs it: READY / WATCHDOG / STATUS on a real notify socket, JSON lines on
stdout, the local API on a real Unix socket (mode 0660), live configuration reload, clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.patience import PATIENCE_S

CONFIG = """
environment = "demo"
state_dir = "{state}"

[[readers]]
name = "vitale"
role = "patient"
backend = "sim"

[[readers]]
name = "cpx"
role = "staff"
backend = "sim"
"""


def event_lines(stream) -> queue.Queue:
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put(line)
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def next_event(q: queue.Queue, kind: str, timeout: float = PATIENCE_S) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = q.get(timeout=max(0.1, deadline - time.monotonic()))
        assert line is not None, f"stdout closed before {kind!r}"
        record = json.loads(line)
        if record["event"] == kind:
            return record
    raise AssertionError(f"no {kind!r} event")


def _ask(path: Path, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall((json.dumps(request) + "\n").encode())
        return json.loads(s.makefile().readline())


@pytest.fixture
def service(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG.format(state=tmp_path / "state"))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(20)
    api = tmp_path / "run" / "api.sock"
    env = dict(os.environ, KIOSK_CONFIG=str(config), NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--headless", "--api-socket", str(api)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    yield proc, notify, api, config, event_lines(proc.stdout)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    notify.close()


def test_headless_service_lifecycle(service) -> None:
    proc, notify, api, config, out = service
    started = time.monotonic()
    messages = [notify.recv(4096).decode()]
    assert messages[0].startswith("READY=1") and "STATUS=poste verrouillé" in messages[0]
    ready_s = time.monotonic() - started
    assert notify.recv(4096) == b"WATCHDOG=1"
    # The notify socket's queue holds 10 datagrams (net.unix.max_dgram_qlen): read the pings as they come, as
    # systemd does, or the service's sends are dropped (non-blocking) on a slow machine.
    seen: list[str] = []

    def pump() -> None:
        notify.settimeout(5)
        try:
            while not any(m.startswith("STOPPING=1") for m in seen):
                seen.append(notify.recv(4096).decode())
        except OSError:
            pass

    drain = threading.Thread(target=pump, daemon=True)
    drain.start()
    ready = next_event(out, "ready")
    assert ready["api"] == str(api) and ready["environment"] == "demo"
    assert stat.S_IMODE(api.stat().st_mode) == 0o660 and stat.S_ISSOCK(api.stat().st_mode)

    status = _ask(api, {"op": "status"})
    assert status["ok"] and status["staff"] == "absent" and status["rows"] == []
    assert _ask(api, {"op": "identities"}) == {
        "ok": False,
        "error": "locked",
        "message": "poste verrouillé : aucune donnée patient",
    }
    assert _ask(api, {"op": "pin", "pin": "1234"})["error"] == "state"
    assert _ask(api, {"op": "nope"})["error"] == "unknown_op"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(api))
        s.sendall(b"not json\n")
        assert json.loads(s.makefile().readline())["error"] == "bad_request"

    params = config.parent / "state" / "param-lps"  # the first param-lps check ran (demo: embedded simulator)
    deadline = time.monotonic() + PATIENCE_S
    while not any(params.glob("*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(params.glob("*")), "param-lps was not refreshed at start"

    config.write_text(config.read_text() + '\n[ui]\ntexts = { title = "Bienvenue" }\n')
    next_event(out, "config_reloaded")
    config.write_text(config.read_text() + "\nenvironment = 12\n")
    refused = next_event(out, "config_refused")
    assert "configuration" in refused["message"]

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=PATIENCE_S) == 0, proc.stderr.read()
    next_event(out, "stopped")
    drain.join(timeout=30)
    assert any(m.startswith("STOPPING=1") for m in seen) and not api.exists()
    print(f"READY after {ready_s:.2f} s (subprocess start included)")


def test_bad_configuration_exits_2_before_ready(tmp_path, run_kiosk) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("environment = 'staging'\n")
    r = run_kiosk("run", "--headless", "--no-api", config=cfg)
    assert r.returncode == 2 and "environment" in r.stderr
