"""`kiosk doctor`'s teleservice check against the mutual-TLS simulators: the organisation certificate is presented
(a working kiosk passes), a refused certificate is named, and an INSi-only kiosk is not asked for a DMP one."""

from __future__ import annotations

from pathlib import Path

from kiosk.appliance.doctor import DoctorContext, Level
from kiosk.appliance.doctor.teleservices import check_teleservices
from tests.support import teleservice_fixtures

sims = teleservice_fixtures.sims
simulators = teleservice_fixtures.simulators


def _context(tmp_path: Path, text: str) -> DoctorContext:
    path = tmp_path / "kiosk.toml"
    path.write_text('environment = "demo"\n' + text)
    ctx = DoctorContext.load(path)
    assert ctx.config is not None, ctx.config_error
    return ctx


def test_a_working_kiosk_passes_with_its_organisation_certificate(sims, tmp_path) -> None:
    finding = check_teleservices(_context(tmp_path, sims.config_toml()))
    assert finding.level == Level.OK, finding
    assert finding.details["reached"] == ["INSi", "DMP"] and "TLS mutuel" in finding.message


def test_a_refused_certificate_is_named(sims, tmp_path) -> None:
    rogue = sims.pki.extra["rogue"]  # CN INSI-AUTO, from a CA the servers do not trust
    text = sims.config_toml().replace(str(sims.auth_pkcs12), str(rogue.pkcs12), 1).replace(
        str(sims.auth_password_file), str(rogue.password_file), 1)
    finding = check_teleservices(_context(tmp_path, text))
    assert finding.level == Level.FAIL, finding
    assert finding.details["refused_certificates"] == ["insi.pkcs12"], finding.message
    assert finding.details["reached"] == ["DMP"]
    assert "insi.pkcs12" in finding.message and "AC INCONNUE DE TEST" in finding.message and "refusé" in finding.message


def test_an_insi_only_kiosk_is_not_asked_for_a_dmp_certificate(sims, tmp_path) -> None:
    insi_only = sims.config_toml().split("[dmp]")[0] + "[dmp]\nenabled = false\n"
    finding = check_teleservices(_context(tmp_path, insi_only))
    assert finding.level == Level.OK and finding.details["reached"] == ["INSi"]


def test_demo_has_nothing_to_reach(tmp_path) -> None:
    assert check_teleservices(_context(tmp_path, "")).level == Level.OK
