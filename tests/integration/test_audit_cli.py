"""`kiosk audit verify | show`: the real CLI in a subprocess, on a journal written here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from kiosk.appliance.service.audit import AuditJournal
from kiosk.domain.ins import parse_matricule

INS = parse_matricule("297022A02077878")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_audit_cli_verify_and_show(tmp_path, run_kiosk) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n')
    j = AuditJournal(tmp_path / "state" / "audit")
    j.record("desk_opened", "ok", staff="3760021832/000000018", now=T0)
    j.record("insi_call", "CR 00", staff="3760021832/000000018", ins=INS, now=T0 + timedelta(minutes=1))
    j.record("insi_call", "CR 01", staff="3760021832/000000018", now=T0 + timedelta(minutes=2))
    r = run_kiosk("audit", "verify", "--json", config=config)
    assert r.returncode == 0 and json.loads(r.stdout)["entries"] == 3
    r = run_kiosk("audit", "show", "--ins", "297022A02077878", "--json", config=config)
    shown = json.loads(r.stdout)["entries"]
    assert r.returncode == 0 and [e["seq"] for e in shown] == [2]
    assert "297022A020778" not in r.stdout
    r = run_kiosk("audit", "show", "--action", "desk_opened", config=config)
    assert r.returncode == 0 and "desk_opened" in r.stdout
    day = next((tmp_path / "state" / "audit").glob("audit-*.jsonl"))
    day.write_text(day.read_text().replace('"CR 01"', '"CR 00"'))
    r = run_kiosk("audit", "verify", config=config)
    assert r.returncode == 1 and "modifiée" in r.stdout
