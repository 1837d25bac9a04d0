"""`kiosk doctor --plugin`, through the real CLI: the monitoring-plugins convention (exit 0/1/2/3, one status line,
performance data), thresholds as options, UNKNOWN when the plugin cannot say."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.pki import Authority
from tests.support.monitoring import PERF, STATUS_LINE, params_checked

ONLY = ("--only", "config", "--only", "certificates", "--only", "params", "--only", "fleet")


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority.create()


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'environment = "demo"\nstate_dir = "{tmp_path / "state"}"\n{extra}')
    return path


def with_cert(tmp_path: Path, ca: Authority, days: int) -> Path:
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", "INSI-AUTO", days=days)
    return write_config(tmp_path, f'[insi]\npkcs12 = "{p12}"\npkcs12_password = "secret"\n')


def plugin(run_kiosk, config: Path, *args: str):
    r = run_kiosk("doctor", "--plugin", *args, config=config)
    first, *rest = r.stdout.splitlines() or [""]
    m = STATUS_LINE.match(first)
    assert m, r.stdout + r.stderr
    assert ["OK", "WARNING", "CRITICAL", "UNKNOWN"].index(m.group(1)) == r.returncode
    perf = dict(item.split("=", 1) for item in (m.group(3) or "").split())
    for item in (m.group(3) or "").split():
        assert PERF.match(item), item
    return r.returncode, m.group(2), perf, rest


def test_all_well_is_ok_with_performance_data(tmp_path: Path, run_kiosk, ca: Authority) -> None:
    config = with_cert(tmp_path, ca, days=200)
    params_checked(tmp_path, 2)
    code, summary, perf, rest = plugin(run_kiosk, config, *ONLY)
    assert code == 0 and summary == "4 contrôle(s) ok (environnement demo)"
    assert perf["cert_days_left"] in ("199;30:;0:", "198;30:;0:") and perf["params_age_h"].startswith("2;24;72;0")
    assert rest[0].startswith("[OK] ") and len(rest) == 4  # one line per check after the status line


def test_certificate_thresholds_are_options(tmp_path: Path, run_kiosk, ca: Authority) -> None:
    config = with_cert(tmp_path, ca, days=20)
    params_checked(tmp_path, 1)
    code, summary, perf, _ = plugin(run_kiosk, config, *ONLY)
    assert code == 1 and "expire dans 19 jour(s)" in summary and perf["cert_days_left"] == "19;30:;0:"
    assert plugin(run_kiosk, config, *ONLY, "--cert-warn", "10")[0] == 0
    code, _, perf, _ = plugin(run_kiosk, config, *ONLY, "--cert-warn", "60", "--cert-crit", "25")
    assert code == 2 and perf["cert_days_left"] == "19;60:;25:"


def test_expired_certificate_is_critical(tmp_path: Path, run_kiosk, ca: Authority) -> None:
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", "INSI-AUTO", days=-3, start_days=-400)
    config = write_config(tmp_path, f'[insi]\npkcs12 = "{p12}"\npkcs12_password = "secret"\n')
    params_checked(tmp_path, 1)
    code, summary, perf, rest = plugin(run_kiosk, config, *ONLY)
    assert code == 2 and "expiré depuis" in summary and int(perf["cert_days_left"].split(";")[0]) < 0
    assert rest[0].startswith("[CRITICAL] Certificats d'organisation")


def test_param_lps_age_thresholds(tmp_path: Path, run_kiosk) -> None:
    config = write_config(tmp_path)
    params_checked(tmp_path, 30)
    code, summary, perf, _ = plugin(run_kiosk, config, "--only", "params")
    assert code == 1 and "param-lps confirmé il y a 30 h" in summary and perf["params_age_h"] == "30;24;72;0"
    assert plugin(run_kiosk, config, "--only", "params", "--params-warn", "36")[0] == 0
    assert plugin(run_kiosk, config, "--only", "params", "--params-warn", "12", "--params-crit", "24")[0] == 2


@pytest.mark.parametrize(("hours", "code", "words"), [(48, 0, None), (6, 1, "expirent dans 6 h"), (-2, 2, "expirées")])
def test_fleet_metadata_expiry(tmp_path: Path, run_kiosk, hours: float, code: int, words: str | None) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    now = datetime.now(UTC)
    (fleet / "status.json").write_text(json.dumps({
        "last_success": (now - timedelta(hours=1)).isoformat(), "last_attempt": (now - timedelta(hours=1)).isoformat(),
        "expires": {"timestamp": (now + timedelta(hours=hours)).isoformat()}}))
    config = write_config(tmp_path, f'[sync]\nenabled = true\nurl = "https://flotte.example"\ndevice_id = "k1"\n'
                                    f'site_id = "s1"\ninterval_hours = 1.0\nstate_dir = "{fleet}"\n')
    got, summary, perf, _ = plugin(run_kiosk, config, "--only", "fleet")
    assert got == code and perf["fleet_expiry_h"].endswith(";12:;0:")
    assert words is None or words in summary
    assert plugin(run_kiosk, config, "--only", "fleet", "--fleet-warn", "3", "--fleet-crit", "-5")[0] == (
        1 if hours < 0 else 0)  # doctor's own check still warns about expired metadata


@pytest.mark.parametrize(("content", "why"), [
    ('environment = "staging"\n', "illisible ou invalide"),
    (None, "absente"),
    ("not toml [", "illisible ou invalide"),
])
def test_unreadable_configuration_is_unknown(tmp_path: Path, run_kiosk, content: str | None, why: str) -> None:
    config = tmp_path / "kiosk.toml"
    if content is not None:
        config.write_text(content)
    code, summary, perf, rest = plugin(run_kiosk, config)
    assert code == 3 and why in summary and perf == {} and rest == []


@pytest.mark.parametrize("args", [("--cert-warn", "trente"), ("--params-warn", "nan"), ("--cert-crit", "40"),
                                  ("--only", "nope"), ("--skip", "nope"), ("--timeout", "0")])
def test_bad_options_are_unknown_not_a_usage_error(tmp_path: Path, run_kiosk, args: tuple[str, ...]) -> None:
    code, summary, _, _ = plugin(run_kiosk, write_config(tmp_path), *args)
    assert code == 3 and ("option invalide" in summary or "inconnu" in summary)


def test_a_run_past_its_timeout_is_unknown(tmp_path: Path, run_kiosk) -> None:
    code, summary, _, _ = plugin(run_kiosk, write_config(tmp_path), "--timeout", "0.000001")
    assert code == 3 and "inachevés" in summary


def test_skip_leaves_a_check_out(tmp_path: Path, run_kiosk) -> None:
    params_checked(tmp_path, 1)
    r = run_kiosk("doctor", "--json", "--skip", "clock", "--skip", "endpoints", config=write_config(tmp_path))
    names = [c["name"] for c in json.loads(r.stdout)["checks"]]
    assert "clock" not in names and "endpoints" not in names and "params" in names
