"""`kiosk doctor` against the real private pcscd with its two vpcd readers."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from kiosk.appliance.doctor import DoctorContext, Level, readers
from kiosk.config import parse_config

pytestmark = pytest.mark.pcscd


def context(tmp_path: Path, toml: str, **kwargs) -> DoctorContext:
    config, problems = parse_config(textwrap.dedent(toml))
    assert not problems
    return DoctorContext(tmp_path / "kiosk.toml", config, **kwargs)


READERS = """
    [[readers]]
    name = "vitale"
    role = "patient"
    match = "Virtual PCD 00 00"
    [[readers]]
    name = "cps"
    role = "staff"
    match = "Virtual PCD 00 01"
"""


def test_pcscd_reachable_and_configured_readers_found_with_their_roles(pcscd, tmp_path):
    ctx = context(tmp_path, READERS)
    finding = readers.check_pcscd(ctx)
    assert finding.level == Level.OK and finding.details["readers"] == ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    found = readers.check_readers(ctx)
    assert found.level == Level.OK and "vitale (patient)" in found.message and "cps (staff)" in found.message


def test_a_configured_reader_that_is_not_plugged_in_fails(pcscd, tmp_path):
    finding = readers.check_readers(context(tmp_path, READERS.replace("Virtual PCD 00 01", "Gemalto*")))
    assert finding.level == Level.FAIL and "cps (staff, motif 'Gemalto*')" in finding.message
    assert "kiosk readers" in finding.action


def test_a_missing_role_is_a_warning(pcscd, tmp_path):
    toml = READERS.split("[[readers]]\n    name = \"cps\"")[0]
    finding = readers.check_readers(context(tmp_path, toml))
    assert finding.level == Level.WARN and "personnel" in finding.message


def test_pcscd_down_fails_with_what_to_do(pcscd, tmp_path):
    pcscd.stop()
    finding = readers.check_pcscd(context(tmp_path, READERS))
    assert finding.level == Level.FAIL and "pcscd injoignable" in finding.message and "pcscd.socket" in finding.action


def test_pcscd_crashed_leaving_its_socket_behind(pcscd, tmp_path):
    pcscd.kill()
    finding = readers.check_pcscd(context(tmp_path, READERS))
    assert finding.level == Level.FAIL and "injoignable" in finding.message


def test_cli_doctor_sees_the_readers(pcscd, run_kiosk, tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(textwrap.dedent(READERS))
    done = run_kiosk("doctor", "--json", "--only", "pcscd", "--only", "readers", config=config)
    data = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout
    assert [c["level"] for c in data["checks"]] == ["ok", "ok"]
