"""The service's Prometheus metrics (kiosk/appliance/metrics): what is counted, what is read at scrape time, the bounded
labels, the textfile and the HTTP exposition, and that neither wakes up while the desk is idle."""

from __future__ import annotations

import json
import os
import socket
import stat
import textwrap
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drivers.sim.pki import Authority
from kiosk.appliance.metrics.desk import KioskMetrics, bounded_label
from kiosk.appliance.metrics.exposition import MetricsServer, TextfileWriter, fleet_textfile, write_fleet_textfile
from kiosk.appliance.metrics.teleservices import instrument_clients
from kiosk.config import parse_config
from kiosk.errors import KioskError, TeleserviceError
from kiosk.teleservices.clients import Teleservices


def config_of(text: str) -> Any:
    config, problems = parse_config(textwrap.dedent(text), "<test>")
    assert not problems, problems
    return config


def samples(metrics: KioskMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import generate_latest

    out = {}
    for family in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def value(metrics: KioskMetrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def base(tmp_path: Path) -> Any:
    return config_of(f"""
        environment = "demo"
        state_dir = "{tmp_path / 'state'}"
        [[readers]]
        name = "vitale"
        role = "patient"
        backend = "sim"
        [[readers]]
        name = "cpx"
        role = "staff"
        backend = "sim"
    """)


# ---- configuration ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("listen", ["127.0.0.1:9464", "[::1]:9464", "0.0.0.0:1", "kiosk-01.chu.fr:9464"])
def test_metrics_listen_accepts_host_port(listen: str) -> None:
    assert config_of(f'[metrics]\nlisten = "{listen}"\n').metrics.listen == listen


@pytest.mark.parametrize("listen", ["9464", "127.0.0.1", ":9464", "127.0.0.1:0", "127.0.0.1:99999", "::1:9464",
                                    "[::1:9464"])
def test_metrics_listen_refuses_what_is_not_host_port(listen: str) -> None:
    _, problems = parse_config(f'[metrics]\nlisten = "{listen}"\n', "<test>")
    assert [p.key for p in problems] == ["metrics.listen"] and "hôte:port" in problems[0].message


@pytest.mark.parametrize("path", ["kiosk.prom", "/var/lib/node-exporter/kiosk.txt"])
def test_metrics_textfile_must_be_an_absolute_prom_file(path: str) -> None:
    _, problems = parse_config(f'[metrics]\ntextfile = "{path}"\n', "<test>")
    assert [p.key for p in problems] == ["metrics.textfile"] and ".prom" in problems[0].message


def test_metrics_are_off_by_default(base: Any) -> None:
    from kiosk.appliance.metrics import enabled

    assert not enabled(base) and base.metrics.listen == "" and base.metrics.textfile == ""


# ---- desk events -----------------------------------------------------------------------------------------------
@dataclass
class Event:
    kind: Any
    data: dict[str, Any]


@dataclass
class View:
    is_open: bool = False


def test_desk_events_count_cards_sessions_and_the_reader_service(base: Any) -> None:
    m = KioskMetrics(base)
    assert value(m, "kiosk_cards_read_total", card="vitale", outcome="ok") == 0  # every series exists from the start
    for kind in ("staff_card_read", "desk_opened", "vitale_read", "vitale_read", "vitale_unreadable",
                 "staff_card_refused", "insi_result", "readers_down"):
        m.on_desk_event(View(), Event(kind, {}))
    assert value(m, "kiosk_cards_read_total", card="vitale", outcome="ok") == 2
    assert value(m, "kiosk_cards_read_total", card="vitale", outcome="unreadable") == 1
    assert value(m, "kiosk_cards_read_total", card="cpx", outcome="ok") == 1
    assert value(m, "kiosk_cards_read_total", card="cpx", outcome="refused") == 1
    assert value(m, "kiosk_desk_sessions_total") == 1
    assert value(m, "kiosk_readers_backend_up") == 0
    m.on_desk_event(View(), Event("readers_up", {}))
    assert value(m, "kiosk_readers_backend_up") == 1


def test_the_controllers_typed_event_kinds_count(base: Any) -> None:
    from kiosk.desk.events import EventKind

    m = KioskMetrics(base)
    m.on_desk_event(View(), Event(EventKind.VITALE_READ, {}))
    assert value(m, "kiosk_cards_read_total", card="vitale", outcome="ok") == 1


def test_labels_only_take_enum_values() -> None:
    class Code(str, Enum):
        FOUND = "00"

    assert bounded_label(Code.FOUND) == "00"
    assert bounded_label("2970...78") == "other" and bounded_label(None) == "other" and bounded_label(12) == "other"


# ---- teleservice probes ----------------------------------------------------------------------------------------
class Cr(str, Enum):
    FOUND = "00"
    NOT_FOUND = "01"


@dataclass
class Answer:
    code: Cr


class FakeInsi:
    endpoint = "https://insi.example/"
    environment = "demo"

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers

    def _next(self) -> Any:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def search_vitale(self, person: Any, read: Any = None, *, before_send: Any = None) -> Any:
        if before_send:
            before_send()
        return self._next()

    def search_traits(self, traits: Any, prenoms: Any = None) -> Any:
        return self._next()

    def search_traits_strategy(self, traits: Any) -> Any:  # the real one's shape: one search_traits per attempt
        for prenoms in traits:
            result = self.search_traits(traits, (prenoms,))
            if result.code is Cr.FOUND:
                return result
        return result


class DmpStateFake(str, Enum):
    OPEN = "authorised"


@dataclass
class DmpAnswer:
    state: DmpStateFake


class FakeDmp:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers

    def exists(self, ins: Any, oid: Any = None, *, before_send: Any = None) -> Any:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_probes_count_each_insi_request_by_cr_code_and_time_it(base: Any) -> None:
    m = KioskMetrics(base)
    clients = instrument_clients(Teleservices(FakeInsi([Answer(Cr.NOT_FOUND), Answer(Cr.FOUND), Answer(Cr.FOUND),
                                                        TeleserviceError("INSi : délai dépassé")]), None, False), m)
    assert clients.insi.endpoint == "https://insi.example/" and clients.dmp is None  # the client's own attributes
    assert clients.insi.search_traits_strategy(["JEAN", "PAUL"]).code is Cr.FOUND  # two requests: both counted
    assert clients.insi.search_vitale(object()).code is Cr.FOUND
    with pytest.raises(TeleserviceError):
        clients.insi.search_vitale(object())
    assert value(m, "kiosk_insi_calls_total", operation="traits", code="01") == 1
    assert value(m, "kiosk_insi_calls_total", operation="traits", code="00") == 1
    assert value(m, "kiosk_insi_calls_total", operation="vitale", code="00") == 1
    assert value(m, "kiosk_insi_calls_total", operation="vitale", code="error") == 1
    assert value(m, "kiosk_insi_call_duration_seconds_count", operation="traits") == 2
    assert value(m, "kiosk_insi_call_duration_seconds_count", operation="vitale") == 2


def test_a_call_refused_before_sending_is_not_a_teleservice_call(base: Any) -> None:
    from drivers.errors import CardSwappedError

    m = KioskMetrics(base)
    clients = instrument_clients(
        Teleservices(FakeInsi([Answer(Cr.FOUND)]), FakeDmp([KioskError("garde-fou")]), False), m
    )

    def swapped() -> None:
        raise CardSwappedError("la carte a changé")

    with pytest.raises(CardSwappedError):
        clients.insi.search_vitale(object(), before_send=swapped)
    with pytest.raises(KioskError):
        clients.dmp.exists("ins")
    assert value(m, "kiosk_insi_call_duration_seconds_count", operation="vitale") == 0
    assert value(m, "kiosk_dmp_call_duration_seconds_count") == 0


def test_probes_count_dmp_answers_by_state(base: Any) -> None:
    m = KioskMetrics(base)
    clients = instrument_clients(Teleservices(None, FakeDmp([DmpAnswer(DmpStateFake.OPEN), TeleserviceError("DMP")]),
                                              False), m)
    clients.dmp.exists("ins")
    with pytest.raises(TeleserviceError):
        clients.dmp.exists("ins")
    assert value(m, "kiosk_dmp_calls_total", state="authorised") == 1
    assert value(m, "kiosk_dmp_calls_total", state="error") == 1
    assert value(m, "kiosk_dmp_call_duration_seconds_count") == 2


# ---- read at scrape time ---------------------------------------------------------------------------------------
def test_state_read_at_scrape_time(tmp_path: Path) -> None:
    ca = Authority.create()
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", "INSI-AUTO", days=20)
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "status.json").write_text(json.dumps({
        "last_success": "2026-11-30T04:00:00+00:00", "last_attempt": "2026-11-30T05:00:00+00:00",
        "expires": {"timestamp": "2026-12-01T04:00:00+00:00", "targets": "2027-03-01T00:00:00+00:00"}}))
    params = tmp_path / "state" / "param-lps"
    params.mkdir(parents=True)
    (params / "state.json").write_text(json.dumps({"checked_at": "2026-11-29T06:00:00+00:00",
                                                  "last_attempt_at": "2026-11-30T06:00:00+00:00",
                                                  "last_error": "délai dépassé"}))
    audit = tmp_path / "state" / "audit"
    audit.mkdir()
    (audit / "audit-2026-11-29.jsonl").write_bytes(b"x" * 100)
    (audit / "audit-2026-11-30.jsonl").write_bytes(b"x" * 23)
    m = KioskMetrics(config_of(f"""
        environment = "demo"
        state_dir = "{tmp_path / 'state'}"
        [insi]
        pkcs12 = "{p12}"
        pkcs12_password = "secret"
        [dmp]
        pkcs12 = "{tmp_path / 'absent.p12'}"
        [sync]
        enabled = true
        url = "https://fleet.example"
        device_id = "k1"
        site_id = "s1"
        state_dir = "{fleet}"
    """))
    s = samples(m)
    days = (s[("kiosk_certificate_expiry_timestamp_seconds", (("certificate", "insi_auth"),))] - time.time()) / 86400
    assert 19 < days <= 20
    assert s[("kiosk_certificate_readable", (("certificate", "insi_auth"),))] == 1
    assert s[("kiosk_certificate_readable", (("certificate", "dmp_auth"),))] == 0
    assert ("kiosk_certificate_expiry_timestamp_seconds", (("certificate", "dmp_auth"),)) not in s
    assert s[("kiosk_params_last_success_timestamp_seconds", ())] == unix("2026-11-29T06:00:00+00:00")
    assert s[("kiosk_params_last_attempt_ok", ())] == 0
    assert s[("kiosk_fleet_last_sync_timestamp_seconds", ())] == unix("2026-11-30T04:00:00+00:00")
    assert s[("kiosk_fleet_metadata_expiry_timestamp_seconds", ())] == unix("2026-12-01T04:00:00+00:00")  # earliest
    assert s[("kiosk_audit_journal_bytes", ())] == 123 and s[("kiosk_audit_journal_files", ())] == 2
    from kiosk.appliance.metrics.state import os_build_id

    build = (("build_id", os_build_id()), ("environment", "demo"), ("version", __import__("kiosk").__version__))
    assert s[("kiosk_build_info", build)] == 1
    assert s[("kiosk_readers_configured", (("role", "patient"),))] == 0


def test_a_certificate_is_opened_once_per_file_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kiosk.appliance.metrics.state

    ca = Authority.create()
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", "INSI-AUTO", days=20)
    m = KioskMetrics(config_of(f'[insi]\npkcs12 = "{p12}"\npkcs12_password = "secret"\n'))
    opened = []
    real = kiosk.appliance.metrics.state.open_certificate
    monkeypatch.setattr(kiosk.appliance.metrics.state, "open_certificate",
                        lambda *a, **k: opened.append(1) or real(*a, **k))
    samples(m)
    samples(m)
    assert len(opened) == 1
    ca.pkcs12_file(p12, "INSI-AUTO", days=400)  # renewed in place
    os.utime(p12, ns=(time.time_ns(), time.time_ns() + 10**9))
    days = (value(m, "kiosk_certificate_expiry_timestamp_seconds", certificate="insi_auth") - time.time()) / 86400
    assert len(opened) == 2 and days > 390


def test_a_damaged_state_file_leaves_the_rest_of_the_scrape_whole(tmp_path: Path, base: Any) -> None:
    params = tmp_path / "state" / "param-lps"
    params.mkdir(parents=True)
    (params / "state.json").write_text("{not json")
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "status.json").write_text("[1, 2]")
    m = KioskMetrics(config_of(f"""
        state_dir = "{tmp_path / 'state'}"
        [sync]
        enabled = true
        url = "https://fleet.example"
        device_id = "k1"
        site_id = "s1"
        state_dir = "{fleet}"
    """))
    s = samples(m)
    assert ("kiosk_params_last_success_timestamp_seconds", ()) not in s
    assert ("kiosk_fleet_last_sync_timestamp_seconds", ()) not in s
    assert s[("kiosk_fleet_sync_enabled", ())] == 1 and ("kiosk_audit_journal_bytes", ()) in s


# ---- exposition ------------------------------------------------------------------------------------------------
def _switches(thread: threading.Thread) -> int:
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    return sum(int(line.split()[1]) for line in status.splitlines() if line.split(":")[0].endswith("ctxt_switches"))


def _wait_blocked(thread: threading.Thread) -> None:
    """Until the thread sleeps in the kernel (state S) with the same switch count twice in a row."""
    deadline = time.monotonic() + 30
    last = -1
    while time.monotonic() < deadline:
        state = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()[0]
        now = _switches(thread)
        if state == "S" and now == last:
            return
        last = now
        time.sleep(0.2)
    raise AssertionError("thread never settled")


def test_http_server_serves_openmetrics_and_sleeps_between_scrapes(base: Any) -> None:
    m = KioskMetrics(base)
    server = MetricsServer(m, "127.0.0.1", 0).start()
    try:
        host, port = server.address
        request = urllib.request.Request(f"http://{host}:{port}/metrics",
                                         headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
            body = answer.read().decode()
        assert "kiosk_build_info{" in body and body.rstrip().endswith("# EOF")
        thread = server.thread
        _wait_blocked(thread)
        before = _switches(thread)
        time.sleep(1.5)  # prometheus_client's serve_forever would have woken three times by now
        assert _switches(thread) == before
    finally:
        server.stop()
    assert not server.thread.is_alive()


def test_http_server_on_a_busy_address_is_a_clear_error(base: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(KioskError, match=r"écoute impossible sur 127\.0\.0\.1:\d+ .*\[metrics\] listen"):
            MetricsServer(KioskMetrics(base), "127.0.0.1", busy.getsockname()[1])


def test_textfile_is_written_atomically_when_something_changes_and_only_then(tmp_path: Path, base: Any) -> None:
    m = KioskMetrics(base)
    path = tmp_path / "textfile" / "kiosk.prom"
    writer = TextfileWriter(m, path, coalesce_s=0.05).start()
    try:
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # node_exporter runs as another user
        first = path.stat().st_mtime_ns
        m.on_desk_event(View(), Event("vitale_read", {}))
        while "kiosk_cards_read_total{card=\"vitale\",outcome=\"ok\"} 1.0" not in path.read_text():
            assert time.monotonic() < deadline, path.read_text()
            time.sleep(0.05)
        assert path.stat().st_mtime_ns != first
        assert not [p for p in path.parent.iterdir() if p.name != "kiosk.prom"]  # no temp file left behind
        _wait_blocked(writer.thread)
        before = _switches(writer.thread)
        time.sleep(1.0)
        assert _switches(writer.thread) == before  # idle: asleep on its condition, no timer
    finally:
        writer.stop()
    families = {f.name for f in text_string_to_metric_families(path.read_text())}
    assert "kiosk_cards_read" in families and not any(f.startswith("kiosk_fleet") for f in families)


def test_fleet_textfile_is_written_by_the_sync_beside_the_service_file(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "status.json").write_text(json.dumps({"last_success": "2026-11-30T04:00:00+00:00"}))
    config = config_of(f"""
        [metrics]
        textfile = "{tmp_path / 'kiosk.prom'}"
        [sync]
        enabled = true
        url = "https://fleet.example"
        device_id = "k1"
        site_id = "s1"
        state_dir = "{fleet}"
    """)
    write_fleet_textfile(config)
    path = fleet_textfile(config.metrics.textfile)
    assert path == tmp_path / "kiosk_fleet.prom"
    text = path.read_text()
    (family,) = [f for f in text_string_to_metric_families(text) if f.name == "kiosk_fleet_last_sync_timestamp_seconds"]
    assert family.samples[0].value == unix("2026-11-30T04:00:00+00:00") and "kiosk_cards" not in text
