"""`kiosk doctor`'s network checks against a loopback HTTPS server with a generated test PKI."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from drivers.sim.pki import ORG_CA_TEST, Authority
from kiosk.appliance.doctor import DoctorContext, Level, network
from kiosk.config import parse_config
from tests.support.https_date import https_server


def context(tmp_path: Path, toml: str = "", **kwargs) -> DoctorContext:
    config, _ = parse_config(textwrap.dedent(toml))
    path = tmp_path / "kiosk.toml"
    path.write_text(textwrap.dedent(toml))
    return DoctorContext(path, config, **kwargs)


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority.create(ORG_CA_TEST)


def endpoint_config(url: str, bundle: Path) -> str:
    return f"""
        environment = "test"
        [insi]
        endpoint = "{url}"
        ca_bundle = "{bundle}"
        [dmp]
        endpoint = "{url}"
        ca_bundle = "{bundle}"
        [params]
        url = "{url}"
        ca_bundle = "{bundle}"
    """


def test_endpoints_reached_over_verified_tls_and_clock_compared(tmp_path, ca):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(ca.pem())
    with https_server(tmp_path, ca) as url:
        ctx = context(tmp_path, endpoint_config(url, bundle))
        finding = network.check_endpoints(ctx)
        assert finding.level == Level.OK, finding
        assert finding.details["reached"] == ["param-lps"]  # INSi and the DMP: doctor.teleservices (mutual TLS)
        clock = network.check_clock(ctx)
    assert clock.level == Level.OK and "skew_s" in clock.details  # OK: within SKEW_WARN_S of the server's Date


def test_clock_skew_is_reported_against_the_server_date(tmp_path, ca):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(ca.pem())
    late = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    with https_server(tmp_path, ca, date=late) as url:
        ctx = context(tmp_path, endpoint_config(url, bundle))
        network.check_endpoints(ctx)
        clock = network.check_clock(ctx)
    assert clock.level == Level.FAIL and clock.details["skew_s"] < -500 and "NTP" in clock.action


def test_endpoint_with_an_untrusted_certificate_or_nobody_listening_fails(tmp_path, ca):
    other = tmp_path / "other.pem"
    other.write_bytes(Authority.create("AC INCONNUE").pem())
    with https_server(tmp_path, ca) as url:
        finding = network.check_endpoints(context(tmp_path, endpoint_config(url, other)))
    assert finding.level == Level.FAIL and "certificat du serveur refusé" in finding.message
    finding = network.check_endpoints(context(tmp_path, endpoint_config(url, other)))  # server now closed
    assert finding.level == Level.FAIL and "injoignable" in finding.message and "réseau" in finding.action
