"""`kiosk doctor`'s hospital-system checks: the interface engine reachable, and the identities still waiting."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from kiosk.appliance import doctor
from kiosk.appliance.doctor import DoctorContext, Level
from kiosk.appliance.doctor import his as his_checks
from kiosk.config import parse_config
from kiosk.sim.his_server import HisSimulator
from kiosk.teleservices.his.link import PendingState, PendingView
from kiosk.teleservices.his.status import write_status


def context(tmp_path: Path, toml: str) -> DoctorContext:
    config, _ = parse_config(textwrap.dedent(toml))
    path = tmp_path / "kiosk.toml"
    path.write_text(textwrap.dedent(toml))
    return DoctorContext(path, config)


def test_the_his_checks_are_discovered() -> None:
    doctor.discover()
    assert {"his", "his_pending"} <= {c.name for c in doctor.checks()}


def test_reachable_engine_is_ok_and_a_closed_port_fails_with_what_to_do(tmp_path: Path) -> None:
    with HisSimulator() as sim:
        found = his_checks.check_his(context(tmp_path, f'[his]\nenabled = true\nendpoint = "{sim.endpoint}"\n'))
        assert found.level is Level.OK and sim.endpoint in found.message
        port = sim.port
    gone = his_checks.check_his(context(tmp_path, f'[his]\nenabled = true\nendpoint = "127.0.0.1:{port}"\n'))
    assert gone.level is Level.FAIL and "kiosk his ping" in gone.action
    assert his_checks.check_his(context(tmp_path, "")).level is Level.OK  # disabled


def test_pending_identities_are_a_warning_without_patient_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path))
    ctx = context(tmp_path, "")
    assert his_checks.check_his_pending(ctx).level is Level.OK  # no service ran
    write_status([], endpoint="gam:6661")
    assert his_checks.check_his_pending(ctx).level is Level.OK
    views = [
        PendingView("K1", "ADT^A28", "A28 D.A.", PendingState.RETRYING, 3, "connexion perdue", "", time.time() - 600),
        PendingView("K2", "ADT^A31", "A31 T.C.", PendingState.REFUSED, 1, "IPP inconnu DUPONT", "AE", time.time()),
    ]
    write_status(views, endpoint="gam:6661")
    found = his_checks.check_his_pending(ctx)
    assert found.level is Level.WARN and "2 message(s)" in found.message and "1 refusé(s) (AE)" in found.message
    assert "10 min" in found.message
    written = (tmp_path / "his-pending.json").read_text()
    assert "DUPONT" not in written and "D.A." not in written
