"""`kiosk config check | show | set`: the real CLI in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.config import load_config
from tests.support.config_samples import BROKEN


def test_config_check_cli(run_kiosk, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BROKEN)
    r = run_kiosk("config", "check", str(bad))
    assert r.returncode == 2
    assert "site.finess (ligne 5)" in r.stdout and "readers[1].role (ligne 16)" in r.stdout
    r = run_kiosk("config", "check", str(bad), "--json")
    data = json.loads(r.stdout)
    assert (
        r.returncode == 2
        and not data["ok"]
        and {"key": "site.finess", "line": 5}.items() <= data["problems"][0].items()
        or any(p["key"] == "site.finess" and p["line"] == 5 for p in data["problems"])
    )
    good = tmp_path / "good.toml"
    good.write_text("")
    assert run_kiosk("config", "check", str(good)).returncode == 0


def test_show_redacts_secrets(run_kiosk, tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[insi]\npkcs12 = "/etc/kiosk/insi.p12"\npkcs12_password = "hunter2"\n')
    r = run_kiosk("config", "show", config=cfg)
    assert r.returncode == 0, r.stderr
    assert "hunter2" not in r.stdout and '"***"' in r.stdout and "/etc/kiosk/insi.p12" in r.stdout
    data = json.loads(run_kiosk("config", "show", "--json", config=cfg).stdout)
    assert data["insi"]["pkcs12_password"] == "***"


def test_set_cli_exit_codes(run_kiosk, tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    assert run_kiosk("config", "set", "ui.theme", "plain", config=cfg).returncode == 0
    r = run_kiosk("config", "set", "ui.theme", "fluo", config=cfg)
    assert r.returncode == 2 and "ui.theme" in r.stderr and "'plain'" in r.stderr
    assert load_config(cfg).ui.theme == "plain"
