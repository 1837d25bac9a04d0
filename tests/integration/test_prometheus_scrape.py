"""A real scrape: Debian's Prometheus on 127.0.0.1 scrapes a kiosk on its simulators (the demo world: virtual
readers and cards, INSi / DMP / param-lps simulators) and node_exporter reads the same kiosk's textfile. A
family card goes through the desk, and Prometheus's HTTP API shows the counters move through both paths. The
same with `kiosk run --headless` itself, on a private pcscd with vpcd virtual cards. A
second kiosk whose INSi certificate has expired makes the shipped rule fire (`ALERTS`), with a copy of the
rules whose `for:` are 0s. Prometheus's own label index is then searched for anything from the card.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.pki import Authority
from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.metrics.desk import KioskMetrics
from kiosk.appliance.metrics.exposition import MetricsServer, serve_metrics
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from kiosk.config.schema_metrics import MetricsConfig
from tests.conftest import ROOT

NODE_EXPORTER = "prometheus-node-exporter"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("prometheus") and shutil.which(NODE_EXPORTER)),
        reason="Debian's prometheus and prometheus-node-exporter absent (./run test installs them as root)",
    ),
]
DEADLINE_S = 180.0  # generous: two Go daemons and the desk on a loaded 2-CPU machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], deadline_s: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + deadline_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except OSError as e:  # not listening yet
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what}: still {last!r} after {deadline_s:.0f} s")


class PromApi:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=30) as answer:
            data = json.load(answer)
        assert data["status"] == "success", data
        return data["data"]

    def value(self, query: str) -> float | None:
        result = self.get("/api/v1/query", query=query)["result"]
        return float(result[0]["value"][1]) if result else None

    def series(self, query: str) -> list[dict[str, str]]:
        return [r["metric"] for r in self.get("/api/v1/query", query=query)["result"]]


def _daemon(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=log.parent)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("prometheus")
    node_dir = work / "node-textfile"
    node_dir.mkdir()
    ports = {name: free_port() for name in ("kiosk", "expired", "headless", "node", "prometheus")}

    # The expired kiosk: its INSi certificate ended yesterday (nothing else about it matters here).
    p12 = Authority.create().pkcs12_file(work / "expired.p12", "INSI-AUTO", days=-1, start_days=-400)
    with DemoWorld(metrics=KioskMetrics(None)) as world:
        metrics = world.metrics
        live = MetricsConfig(listen=f"127.0.0.1:{ports['kiosk']}", textfile=str(node_dir / "kiosk.prom"))
        metrics.reconfigure(dataclasses.replace(world.config, metrics=live))
        expired_config = dataclasses.replace(world.config, insi=dataclasses.replace(
            world.config.insi, pkcs12=str(p12), pkcs12_password="secret", pkcs12_password_file=""))
        expired = MetricsServer(KioskMetrics(expired_config), "127.0.0.1", ports["expired"]).start()

        rules = work / "kiosk-alerts.yml"  # the shipped rules, `for:` at 0s so the test need not wait them out
        rules.write_text(
            re.sub(r"(?m)^(\s+for:) \S+$", r"\1 0s", (ROOT / "monitoring" / "kiosk-alerts.yml").read_text())
        )
        config = work / "prometheus.yml"
        config.write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [{rules}]
scrape_configs:
  - job_name: kiosk
    static_configs:
      - targets: ["127.0.0.1:{ports['kiosk']}"]
        labels: {{kiosk: accueil-1}}
      - targets: ["127.0.0.1:{ports['expired']}"]
        labels: {{kiosk: accueil-2}}
      - targets: ["127.0.0.1:{ports['headless']}"]  # `kiosk run --headless` on pcscd, started by its test
        labels: {{kiosk: accueil-3}}
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:{ports['node']}"]
        labels: {{kiosk: accueil-1}}
""")
        node = _daemon(
            [
                NODE_EXPORTER,
                f"--web.listen-address=127.0.0.1:{ports['node']}",
                "--collector.disable-defaults",
                "--collector.textfile",
                f"--collector.textfile.directory={node_dir}",
            ],
            work / "node.log",
        )
        prom = _daemon(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={work / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{ports['prometheus']}"], work / "prometheus.log")
        stop = threading.Event()
        try:
            with serve_metrics(metrics, world.runtime):
                world.runtime.start_duties(stop)  # the service's timed duties: param-lps refreshed at start
                api = PromApi(f"http://127.0.0.1:{ports['prometheus']}")
                wait_for(
                    "Prometheus ready", lambda: urllib.request.urlopen(f"{api.base}/-/ready", timeout=10).status == 200
                )
                yield {"world": world, "api": api, "work": work, "ports": ports}
        finally:
            stop.set()
            world.runtime.wake.set()
            for daemon in (prom, node):
                daemon.terminate()
            for daemon in (prom, node):
                try:
                    daemon.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
            expired.stop()


def test_counters_move_in_prometheus_after_a_card_goes_through_the_desk(stack: dict[str, Any]) -> None:
    world, api = stack["world"], stack["api"]
    vitale_ok = 'kiosk_cards_read_total{job="%s", kiosk="accueil-1", card="vitale", outcome="ok"}'
    for job in ("kiosk", "node"):  # both paths deliver before the card goes in
        assert wait_for(f"{job} scraped", lambda job=job: api.series(vitale_ok % job))
    assert api.value(vitale_ok % "kiosk") == 0
    c = world.runtime.controller
    world.backend.insert(STAFF_READER, cards.demo_cpe())
    assert c.wait_idle(60)
    c.submit_pin(DEMO_PIN)
    assert c.wait_idle(60)
    world.backend.insert(VITALE_READER, cards.demo_vitale_family())
    wait_for("the four lookups settled", lambda: c.view().rows and all(r.settled for r in c.view().rows))
    assert c.wait_idle(60)

    for job in ("kiosk", "node"):
        wait_for(f"vitale counted ({job})", lambda job=job: api.value(vitale_ok % job) == 1)
        wait_for(f"INSi calls ({job})", lambda job=job: api.value(
            f'sum(kiosk_insi_calls_total{{job="{job}", kiosk="accueil-1", operation="vitale"}})') == 4)
        wait_for(f"desk session ({job})", lambda job=job: api.value(
            f'kiosk_desk_sessions_total{{job="{job}", kiosk="accueil-1"}}') == 1)
    one = 'job="kiosk", kiosk="accueil-1"'
    assert api.value(f'kiosk_insi_calls_total{{{one}, operation="vitale", code="00"}}') >= 1
    assert api.value(f'sum(kiosk_dmp_calls_total{{{one}, state!="error"}})') >= 1
    assert api.value(f'kiosk_insi_call_duration_seconds_count{{{one}, operation="vitale"}}') == 4
    assert api.value(f'kiosk_insi_call_duration_seconds_bucket{{{one}, operation="vitale", le="+Inf"}}') == 4
    assert api.value('kiosk_readers_present{job="kiosk", kiosk="accueil-1", role="patient"}') == 1
    for job in ("kiosk", "node"):  # the textfile was rewritten after the refresh (a runtime observer), not on a timer
        wait_for(f"param-lps timestamp ({job})", lambda job=job: api.value(
            f'time() - kiosk_params_last_success_timestamp_seconds{{job="{job}", kiosk="accueil-1"}}'))
    world.backend.remove(VITALE_READER)
    assert c.wait_idle(60)


def test_an_expired_certificate_fires_its_alert(stack: dict[str, Any]) -> None:
    api = stack["api"]
    firing = 'ALERTS{alertname="KioskCertificateExpired", alertstate="firing"}'
    (alert,) = wait_for("KioskCertificateExpired firing", lambda: api.series(firing))
    assert alert["kiosk"] == "accueil-2" and alert["certificate"] == "insi_auth" and alert["severity"] == "critical"
    assert (
        api.value('kiosk_certificate_expiry_timestamp_seconds{kiosk="accueil-2", certificate="insi_auth"} - time()') < 0
    )
    assert not api.series('ALERTS{kiosk="accueil-1", alertname=~"KioskCertificate.*"}')  # its certificates are fine


def test_nothing_from_the_card_reaches_prometheus(stack: dict[str, Any]) -> None:
    api = stack["api"]
    wait_for("the card was counted", lambda: api.value(
        'kiosk_cards_read_total{job="kiosk", kiosk="accueil-1", card="vitale", outcome="ok"}'))
    family = cards.demo_vitale_family()
    secrets = {"297022A02077878", "2970226", "ADRTROIS", "DOMINIQUE", "MICHEL", "BERNARD", "LÉO", "LINA", "19970226",
               "0012345678"}
    assert family  # the card those strings come from
    values: list[str] = []
    for name in api.get("/api/v1/labels"):
        values += api.get(f"/api/v1/label/{name}/values")
    leaked = [v for v in values if any(s in v.upper() for s in secrets)]
    assert not leaked and len(values) > 20


HEADLESS = """
environment = "demo"
state_dir = "{state}"

[[readers]]
name = "cpx"
role = "staff"
backend = "pcsc"
match = "Virtual PCD 00 00"

[[readers]]
name = "vitale"
role = "patient"
backend = "pcsc"
match = "Virtual PCD 00 01"

[metrics]
listen = "127.0.0.1:{port}"
"""


@pytest.mark.pcscd
def test_the_headless_service_on_pcscd_is_scraped(stack: dict[str, Any], pcscd: Any, tmp_path: Path) -> None:
    """`kiosk run --headless` as systemd runs it (readers through pcscd, PIN through the local API)."""
    import os
    import queue
    import signal
    import sys

    from drivers.sim.readers.vpcd import VpcdCard

    api, port = stack["api"], stack["ports"]["headless"]
    config = tmp_path / "kiosk.toml"
    config.write_text(HEADLESS.format(state=tmp_path / "state", port=port))
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    sock = tmp_path / "api.sock"
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--headless", "--api-socket", str(sock)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**env, "KIOSK_CONFIG": str(config)})
    events: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [events.put(json.loads(line)["event"]) for line in proc.stdout], daemon=True
    ).start()

    def until(kind: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while (event := events.get(timeout=max(1.0, deadline - time.monotonic()))) != kind:
            assert time.monotonic() < deadline, f"no {kind!r} event"
        assert event == kind

    def ask(request: dict[str, Any]) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(str(sock))
            s.sendall((json.dumps(request) + "\n").encode())
            return json.loads(s.makefile().readline())

    one = 'job="kiosk", kiosk="accueil-3"'
    staff, patient = VpcdCard(cards.demo_cpe(), port=35963), VpcdCard(cards.demo_vitale_family(), port=35964)
    try:
        until("ready")
        wait_for("headless scraped", lambda: api.value(f'up{{{one}}}') == 1)
        # pcscd's reader, bound: the backend reports its readers from its own thread, so after READY, not before
        wait_for("patient reader bound", lambda: api.value(f'kiosk_readers_present{{{one}, role="patient"}}') == 1)
        staff.insert()
        until("staff_card_read")
        assert ask({"op": "pin", "pin": DEMO_PIN})["ok"]
        until("desk_opened")
        patient.insert()
        wait_for("INSi calls counted", lambda: api.value(f'sum(kiosk_insi_calls_total{{{one}}})') == 4)
        wait_for("DMP call counted", lambda: api.value(f'sum(kiosk_dmp_calls_total{{{one}}})') == 1)
        assert api.value(f'kiosk_cards_read_total{{{one}, card="vitale", outcome="ok"}}') == 1
        assert api.value(f'kiosk_cards_read_total{{{one}, card="cpx", outcome="ok"}}') == 1
        assert api.value(f'kiosk_desk_sessions_total{{{one}}}') == 1
    finally:
        patient.remove()
        staff.remove()
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
