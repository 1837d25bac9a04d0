"""`kiosk doctor`: the registry, the exit code, and each built-in check on real files, ptys and a loopback
HTTPS server (the pcscd checks are in tests/integration/test_doctor_pcscd.py)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import textwrap
from pathlib import Path

import pytest

from drivers.sim.pki import ORG_CA_PROD, ORG_CA_TEST, Authority
from kiosk.appliance import doctor
from kiosk.appliance.doctor import (
    DoctorContext,
    Level,
    certificates,
    fleet,
    network,
    params,
    readers,
    registry,
    service,
    storage,
)
from kiosk.config import parse_config


def context(tmp_path: Path, toml: str = "", **kwargs) -> DoctorContext:
    config, _ = parse_config(textwrap.dedent(toml))  # checks are tried on configurations valid or not
    path = tmp_path / "kiosk.toml"
    path.write_text(textwrap.dedent(toml))
    return DoctorContext(path, config, **kwargs)


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch):
    empty: dict[str, registry.Check] = {}
    monkeypatch.setattr(registry, "REGISTRY", empty)  # the checks a test registers, and only those
    return empty


# -- registry and exit codes ----------------------------------------------------------------------------

def test_registered_checks_run_in_order_and_a_crashing_one_is_reported_not_raised(isolated_registry, tmp_path):
    @doctor.check("second", "Deuxième", order=20)
    def second(ctx):
        raise RuntimeError("boum")

    doctor.register("first", "Premier", lambda ctx: doctor.ok("tout va bien"), order=10)
    results = doctor.run(context(tmp_path))
    assert [r.check.name for r in results] == ["first", "second"]
    assert results[0].finding.level == Level.OK
    assert results[1].finding.level == Level.FAIL and "boum" in results[1].finding.message
    assert results[1].finding.action


def test_checks_needing_the_configuration_wait_for_a_valid_one(isolated_registry, tmp_path):
    doctor.register("needs", "Besoin", lambda ctx: doctor.ok("vu"))
    doctor.register("free", "Libre", lambda ctx: doctor.ok("vu"), needs_config=False)
    ctx = DoctorContext(tmp_path / "kiosk.toml", None)
    results = {r.check.name: r.finding for r in doctor.run(ctx)}
    assert results["needs"].level == Level.WARN and "configuration" in results["needs"].message
    assert results["free"].level == Level.OK


def test_exit_code_follows_the_worst_finding(isolated_registry, tmp_path):
    doctor.register("a", "A", lambda ctx: doctor.ok("ok"))
    assert doctor.exit_code(doctor.run(context(tmp_path))) == 0
    doctor.register("b", "B", lambda ctx: doctor.warn("bof", "regarder"))
    assert doctor.exit_code(doctor.run(context(tmp_path))) == 1
    doctor.register("c", "C", lambda ctx: doctor.fail("non", "réparer"))
    assert doctor.exit_code(doctor.run(context(tmp_path))) == 3
    doctor.register("config", "Configuration", lambda ctx: doctor.fail("invalide", "corriger"))
    assert doctor.exit_code(doctor.run(context(tmp_path))) == 2


def test_discover_imports_every_module_of_the_package_which_register(isolated_registry, tmp_path, monkeypatch):
    package = tmp_path / "plugpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plug.py").write_text(textwrap.dedent("""
        from kiosk.appliance import doctor

        @doctor.check("plug", "Greffon", order=85)
        def plug(ctx):
            return doctor.warn("vu par le greffon", "rien")
    """))
    (package / "broken.py").write_text("raise ImportError('absent')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    doctor.discover("plugpkg")
    results = {r.check.name: r.finding for r in doctor.run(context(tmp_path))}
    assert results["plug"].message == "vu par le greffon"
    assert results["plugpkg.broken"].level == Level.FAIL
    for name in list(sys.modules):
        if name.startswith("plugpkg"):
            del sys.modules[name]


def test_discover_registers_every_area_of_the_package():
    doctor.discover()
    names = {c.name for c in doctor.checks()}
    assert {"config", "pcscd", "readers", "serial", "certificates", "endpoints", "clock", "state", "disk", "params",
            "sync", "fleet", "watchdog"} <= names
    assert not [c.name for c in doctor.checks() if c.order == 99], "an area failed to import"


# -- the CLI ----------------------------------------------------------------------------------------------


# -- certificates -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority.create(ORG_CA_TEST)


def cert_config(path: Path, environment: str = "test") -> str:
    return f"""
        environment = "{environment}"
        [insi]
        pkcs12 = "{path}"
        pkcs12_password = "secret"
    """


def test_certificate_valid_insi_auto_from_the_test_ca_is_ok(tmp_path, ca):
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", "INSI-AUTO", days=200)
    finding = certificates.check_certificates(context(tmp_path, cert_config(p12)))
    assert finding.level == Level.OK, finding
    (item,) = finding.details["certificates"]
    assert item["cn"] == "INSI-AUTO" and item["issuer"] == ORG_CA_TEST and 198 <= item["days_left"] <= 200


def test_certificate_expiring_soon_is_a_warning_with_days_left(tmp_path, ca):
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", "INSI-MANU", days=12)
    finding = certificates.check_certificates(context(tmp_path, cert_config(p12)))
    assert (
        finding.level == Level.WARN and "expire dans 11 jour(s)" in finding.message and "renouveler" in finding.action
    )


@pytest.mark.parametrize("cn, kwargs, expected", [
    ("INSI-AUTO", {"days": -3, "start_days": -400}, "expiré depuis"),
    ("INSI-AUTO", {"days": 400, "start_days": 2}, "pas encore valide"),
    ("ACCUEIL", {}, "DESIR_560"),
])
def test_certificate_failures_say_why(tmp_path, ca, cn, kwargs, expected):
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", cn, **kwargs)
    finding = certificates.check_certificates(context(tmp_path, cert_config(p12)))
    assert finding.level == Level.FAIL and expected in finding.message, finding.message


def test_certificate_from_the_test_ca_is_refused_in_production(tmp_path, ca):
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", "INSI-AUTO")
    finding = certificates.check_certificates(context(tmp_path, cert_config(p12, "prod")))
    assert finding.level == Level.FAIL and ORG_CA_PROD in finding.message


def test_certificate_wrong_password_or_missing_file_fails_cleanly(tmp_path, ca):
    p12 = ca.pkcs12_file(tmp_path / "auth.p12", "INSI-AUTO", password="other")
    finding = certificates.check_certificates(context(tmp_path, cert_config(p12)))
    assert finding.level == Level.FAIL and "mot de passe incorrect" in finding.message
    finding = certificates.check_certificates(context(tmp_path, cert_config(tmp_path / "absent.p12")))
    assert finding.level == Level.FAIL and "illisible" in finding.message


# -- network: TLS handshake and clock skew --------------------------------------------------------------


def test_demo_has_no_endpoint_to_reach(tmp_path):
    assert network.check_endpoints(context(tmp_path)).level == Level.OK


# -- serial ports, state, disk, param-lps, fleet --------------------------------------------------------

def test_serial_port_present_on_a_pty_absent_when_unplugged(tmp_path):
    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        toml = f'[[readers]]\nname = "vitale"\nrole = "patient"\nbackend = "serial"\nport = "{port}"\n'
        assert readers.check_serial(context(tmp_path, toml)).level == Level.OK
        toml = '[[readers]]\nname = "vitale"\nbackend = "serial"\nport = "/dev/ttyUSB97"\n'
        finding = readers.check_serial(context(tmp_path, toml))
        assert finding.level == Level.FAIL and "/dev/ttyUSB97 absent" in finding.message and "dialout" in finding.action
    finally:
        os.close(master)
        os.close(slave)


def test_state_dir_must_exist_and_be_writable(tmp_path):
    assert storage.check_state(context(tmp_path, f'state_dir = "{tmp_path}"')).level == Level.OK
    finding = storage.check_state(context(tmp_path, f'state_dir = "{tmp_path / "nope"}"'))
    assert finding.level == Level.FAIL and "absent" in finding.message


def test_disk_reports_free_space(tmp_path):
    finding = storage.check_disk(context(tmp_path, f'state_dir = "{tmp_path}"'))
    assert finding.details["free_bytes"] > 0 and "Mio libres" in finding.message


@pytest.mark.parametrize("hours, level", [(2, Level.OK), (30, Level.WARN), (80, Level.FAIL)])
def test_param_lps_age(tmp_path, hours, level):
    from kiosk.teleservices.params.store import Copy, State, Store

    now = dt.datetime.now(dt.UTC)
    then = now - dt.timedelta(hours=hours)
    store = Store(tmp_path)
    with store.locked():
        store.commit(b"<xml/>", Copy("0" * 64, "https://x", "https://x", then.isoformat(), 6), State(), then)
    finding = params.check_params(context(tmp_path, f'state_dir = "{tmp_path}"', now=now))
    assert finding.level == level and f"il y a {hours} h" in finding.message


def test_param_lps_never_downloaded(tmp_path):
    finding = params.check_params(context(tmp_path, f'environment = "test"\nstate_dir = "{tmp_path}"'))
    assert finding.level == Level.FAIL and "kiosk params sync" in finding.action


def test_fleet_sync_needs_its_trusted_root(tmp_path):
    assert fleet.check_sync(context(tmp_path)).level == Level.OK
    toml = f'[sync]\nenabled = true\nurl = "https://fleet.example"\ntrusted_root = "{tmp_path / "root.json"}"\n'
    finding = fleet.check_sync(context(tmp_path, toml))
    assert finding.level == Level.FAIL and "kiosk provision" in finding.action
    (tmp_path / "root.json").write_text("{}")
    assert fleet.check_sync(context(tmp_path, toml)).level == Level.OK


# -- the service under systemd (the real thing runs in the qemu boot check) --------------------------------

@pytest.mark.parametrize("show, level, text", [
    ({"ActiveState": "active", "SubState": "running", "WatchdogUSec": "30s", "NRestarts": "0"}, Level.OK,
     "chien de garde 30 s"),
    ({"ActiveState": "active", "SubState": "running", "WatchdogUSec": "1min 30s", "NRestarts": "2"}, Level.WARN,
     "redémarré 2 fois"),
    ({"ActiveState": "active", "SubState": "running", "WatchdogUSec": "0", "NRestarts": "0"}, Level.WARN,
     "sans chien de garde"),
    ({"ActiveState": "failed", "SubState": "failed", "WatchdogUSec": "30s", "NRestarts": "5"}, Level.FAIL,
     "kiosk.service failed"),
])
def test_watchdog_reads_systemctl_show(tmp_path, monkeypatch, show, level, text):
    runtime = tmp_path / "systemd-runtime"
    runtime.mkdir()
    monkeypatch.setattr(service, "SYSTEMD_RUNTIME", runtime)
    monkeypatch.setattr(service.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(service, "systemctl_show",
                        lambda unit: show if unit == "kiosk.service" else {"ActiveState": "inactive"})
    finding = service.check_watchdog(context(tmp_path))
    assert finding.level == level and text in finding.message, finding


def test_watchdog_without_systemd_is_not_a_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "SYSTEMD_RUNTIME", tmp_path / "absent")
    assert service.check_watchdog(context(tmp_path)).level == Level.OK
