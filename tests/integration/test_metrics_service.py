"""`kiosk run --headless` with `[metrics]`: /metrics on the configured address and the node_exporter textfile,
from the real service process; a busy address stops the service before READY with a clear message."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT

CONFIG = """
environment = "demo"
state_dir = "{state}"

[[readers]]
name = "vitale"
role = "patient"
backend = "sim"

[metrics]
listen = "127.0.0.1:{port}"
textfile = "{textfile}"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG.format(state=tmp_path / "state", port=port, textfile=tmp_path / "node" / "kiosk.prom"))
    env = dict(os.environ, KIOSK_CONFIG=str(config))
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--headless", "--api-socket", str(tmp_path / "api.sock")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_headless_service_serves_metrics_and_writes_the_textfile(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, port)
    try:
        while '"event": "ready"' not in (line := proc.stdout.readline()):
            assert line, proc.stderr.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
            families = {f.name: f for f in text_string_to_metric_families(answer.read().decode())}
        assert families["kiosk_build_info"].samples[0].labels["environment"] == "demo"
        configured = {s.labels["role"]: s.value for s in families["kiosk_readers_configured"].samples}
        assert configured == {"patient": 1, "staff": 0, "any": 0}
        textfile = tmp_path / "node" / "kiosk.prom"
        deadline = time.monotonic() + 60
        while not textfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "kiosk_build_info{" in textfile.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
        with socket.socket() as s:  # the address is released (TIME_WAIT of the scrape aside)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_busy_metrics_address_stops_the_service_before_ready(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = start(tmp_path, busy.getsockname()[1])
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "écoute impossible" in err and "[metrics] listen" in err and '"ready"' not in out
