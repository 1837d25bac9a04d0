"""`fleet_status`: what `kiosk doctor` and the diagnostics screen show about the sync, from the state files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from kiosk.appliance.fleet import fleet_status
from kiosk.config import Config, parse_config

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def _config(state: Path) -> Config:
    config, problems = parse_config(
        f'[sync]\nenabled = true\nurl = "https://flotte"\ndevice_id = "k1"\nsite_id = "lyon"\nstate_dir = "{state}"\n')
    assert not problems
    return config


def _status(state: Path, **data: object) -> None:
    state.mkdir(exist_ok=True)
    (state / "status.json").write_text(json.dumps(data))


def test_disabled_and_never_synced(tmp_path: Path) -> None:
    config, _ = parse_config("")
    assert fleet_status(config).level == "disabled"
    status = fleet_status(_config(tmp_path / "state"), now=NOW)
    assert status.level == "warning" and "aucune synchronisation" in status.messages[0]


def test_recent_success_is_ok(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _status(state, last_success=(NOW - dt.timedelta(hours=1)).isoformat(),
            expires={"timestamp": (NOW + dt.timedelta(days=2)).isoformat(), "root": "2027-11-22T00:00:00+00:00"})
    status = fleet_status(_config(state), now=NOW)
    assert status.level == "ok" and status.messages == []
    assert status.age_s == 3600 and status.expires == NOW + dt.timedelta(days=2)
    assert status.to_dict()["expires"] == (NOW + dt.timedelta(days=2)).isoformat()


def test_old_sync_expired_metadata_and_last_error_warn(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _status(state, last_success=(NOW - dt.timedelta(days=3)).isoformat(),
            expires={"timestamp": (NOW - dt.timedelta(hours=2)).isoformat()},
            last_error={"kind": "network", "reason": "serveur de flotte injoignable", "at": NOW.isoformat()})
    status = fleet_status(_config(state), now=NOW)
    assert status.level == "warning" and status.expired
    text = " | ".join(status.messages)
    assert "il y a 3 jours" in text and "expirées" in text and "injoignable" in text


def test_damaged_status_file_does_not_crash(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "status.json").write_text("{not json")
    status = fleet_status(_config(state), now=NOW)
    assert status.level == "warning"
