"""Issue 15.9: the technician's messages. French from argparse to the last line, errors that name the
technician's own file, `audit show` strict on its filters, `read --reader` on an unknown name, and JSON whose
`ok` agrees with the exit code."""

from __future__ import annotations

import json
from pathlib import Path

CONFIG = """environment = "demo"

[[readers]]
name = "vitale"
role = "patient"
backend = "sim"

[[readers]]
name = "cpx"
role = "staff"
backend = "sim"
"""


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG)
    return path


def test_help_and_usage_errors_are_french(run_kiosk) -> None:
    helped = run_kiosk("--help")
    assert (
        helped.returncode == 0
        and "affiche cette aide et quitte" in helped.stdout
        and "codes de sortie" in helped.stdout
    )
    assert "show this help" not in helped.stdout and "usage : " in helped.stdout
    wrong = run_kiosk("nope")
    assert wrong.returncode == 2 and "erreur : argument COMMANDE : choix invalide" in wrong.stderr
    missing = run_kiosk("ins", "check")
    assert missing.returncode == 2 and "arguments obligatoires manquants" in missing.stderr
    assert "error:" not in wrong.stderr + missing.stderr and "required" not in missing.stderr


def test_config_set_on_a_missing_list_entry_says_so_on_the_technicians_file(run_kiosk, tmp_path) -> None:
    config = _config(tmp_path)
    before = config.read_text()
    r = run_kiosk("config", "set", "readers.5.name", "x", config=config)
    assert r.returncode == 2 and "readers.5 : pas d'entrée n° 5" in r.stderr and "Traceback" not in r.stderr
    r = run_kiosk("config", "set", "readers.x.name", "x", config=config)
    assert r.returncode == 2 and "numéro d'entrée attendu" in r.stderr
    r = run_kiosk("--json", "config", "set", "ui.lock_after_s", "-5", config=config)
    answer = json.loads(r.stdout)
    assert r.returncode == 2 and answer["ok"] is False and len(answer["problems"]) == 1
    assert f"{config}: ui.lock_after_s (ligne" in answer["message"] and "/tmp/tmp" not in answer["message"]
    assert config.read_text() == before


def test_audit_show_refuses_bad_filters_and_prints_a_header(run_kiosk, tmp_path) -> None:
    config = _config(tmp_path)
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n' + CONFIG)
    from kiosk.appliance.service.audit import AuditJournal

    AuditJournal(tmp_path / "state" / "audit").record("desk_opened", "ok", staff="3760021832/000000018")
    bad_day = run_kiosk("audit", "show", "--since", "2024-13-45", config=config)
    assert bad_day.returncode == 2 and "date AAAA-MM-JJ attendue" in bad_day.stderr
    bad_action = run_kiosk("audit", "show", "--action", "nope", config=config)
    assert bad_action.returncode == 2 and "choix invalide" in bad_action.stderr and "insi_call" in bad_action.stderr
    shown = run_kiosk("audit", "show", "--action", "desk_opened", config=config)
    assert shown.returncode == 0
    header, line = shown.stdout.splitlines()[:2]
    assert "date et heure (locale)" in header and "desk_opened" in line
    none = run_kiosk("--json", "audit", "show", "--action", "insi_call", config=config)
    assert none.returncode == 1 and json.loads(none.stdout)["ok"] is False


def test_read_on_an_unknown_reader_is_a_usage_error(run_kiosk, tmp_path) -> None:
    config = _config(tmp_path)
    r = run_kiosk("read", "--reader", "nope", "--timeout", "1", config=config)
    assert r.returncode == 2 and "lecteur inconnu : 'nope'" in r.stdout and "vitale" in r.stdout
    r = run_kiosk("--json", "read", "--reader", "nope", "--timeout", "1", config=config)
    answer = json.loads(r.stdout)
    assert r.returncode == 2 and answer["ok"] is False and answer["problems"] == ["lecteur inconnu : 'nope'"]


def test_readers_exits_1_when_a_configured_reader_is_missing(run_kiosk, tmp_path) -> None:
    config = _config(tmp_path)
    assert run_kiosk("readers", config=config).returncode == 0
    config.write_text(CONFIG + '\n[[readers]]\nname = "absent"\nrole = "any"\nbackend = "sim"\nmatch = "Nulle part*"\n')
    r = run_kiosk("--json", "readers", config=config)
    answer = json.loads(r.stdout)
    assert r.returncode == 1 and answer["ok"] is False and answer["missing"] == ["absent"]
