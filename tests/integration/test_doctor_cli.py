"""`kiosk doctor` as the technician runs it: the real CLI in a subprocess."""

from __future__ import annotations

import json


def test_cli_json_lists_every_check_with_level_message_and_action(run_kiosk, tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n')
    done = run_kiosk("doctor", "--json", config=config)
    data = json.loads(done.stdout)
    names = [c["name"] for c in data["checks"]]
    for expected in ("config", "pcscd", "readers", "serial", "certificates", "endpoints", "clock", "state", "disk",
                     "params", "sync", "watchdog"):
        assert expected in names
    for c in data["checks"]:
        assert c["level"] in ("ok", "warn", "fail") and c["message"]
        assert c["level"] == "ok" or c["action"]
    assert done.returncode == data["exit_code"]


def test_cli_invalid_configuration_exits_2_and_says_where(run_kiosk, tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text('[site]\nfiness = "12"\n')
    done = run_kiosk("doctor", "--json", "--only", "config", config=config)
    data = json.loads(done.stdout)
    assert done.returncode == 2
    (check,) = data["checks"]
    assert check["level"] == "fail" and any("site.finess" in p for p in check["details"]["problems"])


def test_cli_human_output_is_french_with_next_steps(run_kiosk, tmp_path):
    done = run_kiosk("doctor", "--only", "config", config=tmp_path / "absent.toml")
    assert done.returncode == 1
    assert "absent : configuration de démonstration" in done.stdout and "→ installer" in done.stdout


def test_cli_refuses_unknown_check_names(run_kiosk, tmp_path):
    done = run_kiosk("doctor", "--only", "nimporte")
    assert done.returncode == 2 and "kiosk doctor --list" in done.stderr
