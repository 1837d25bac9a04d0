"""The CLI's shared behaviour: help, version, exit codes, JSON."""

from __future__ import annotations

import json

from kiosk import __version__


def test_help_and_version(run_kiosk) -> None:
    r = run_kiosk("--help")
    assert r.returncode == 0 and "config" in r.stdout and "ins" in r.stdout
    r = run_kiosk("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_ins_check_exit_codes_and_json(run_kiosk) -> None:
    r = run_kiosk("ins", "check", "297022A02077878", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["valid"] and data["department"] == "2A" and data["masked"] == "2970...78"
    assert "297022A020778" not in r.stdout
    r = run_kiosk("--json", "ins", "check", "297022A02077877")
    assert r.returncode == 1 and json.loads(r.stdout)["code"] == "key"
    r = run_kiosk("ins", "check", "12")
    assert r.returncode == 1 and "longueur" in r.stdout


def test_usage_error_is_2(run_kiosk) -> None:
    assert run_kiosk("ins").returncode == 2
    assert run_kiosk("nonsense").returncode == 2


def test_bad_config_is_exit_2_with_a_clear_message(run_kiosk, tmp_path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("environment = 'staging'\n")
    r = run_kiosk("config", "show", config=cfg)
    assert r.returncode == 2 and "environment (ligne 1)" in r.stderr and "Traceback" not in r.stderr
