"""Proof in a real browser: headless Chromium opens the kiosk's one-shot page, which auto-submits to a
stand-in Web PS on 127.0.0.1 over HTTPS (test PKI); the stand-in records what it receives.

Chromium trusts the stand-in through `--ignore-certificate-errors-spki-list` pinned to the test server
key's SHA-256 (needs `--user-data-dir`); the control case without the pin shows the TLS check is real.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from kiosk.config import parse_config
from kiosk.domain.ins import InsOid
from kiosk.sim.webps import WebPsStandIn
from kiosk.teleservices.webps import open_page

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(shutil.which("chromium") is None,
                       reason="Debian's chromium is not installed (./run test installs it when run as root)"),
]

NIR = "255069999999934"
NIA = "755069999999975"


@pytest.fixture
def wps(pki):  # type: ignore[no-untyped-def]
    with WebPsStandIn(pki) as server:
        yield server


def _spki_pin(pki) -> str:  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificates(Path(pki.server_cert).read_bytes())[0]
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class Chromium:
    """The browser command for `webps.browser`: records its process group so the test can end it."""

    def __init__(self, tmp_path: Path, pin: str | None) -> None:
        self.pidfile = tmp_path / "chromium.pid"
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
        if pin:
            flags.append(f"--ignore-certificate-errors-spki-list={pin}")
        self.command = ["sh", "-c", f'echo $$ > "{self.pidfile}"; exec chromium {" ".join(flags)} "$@"', "chromium"]

    def stop(self) -> None:
        try:
            os.killpg(int(self.pidfile.read_text()), signal.SIGKILL)  # its own session: the whole group
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass


@pytest.fixture
def chromium(tmp_path: Path, pki):  # type: ignore[no-untyped-def]
    browser = Chromium(tmp_path, _spki_pin(pki))
    yield browser
    browser.stop()


def _toml(tmp_path: Path, wps: WebPsStandIn, browser: Chromium) -> str:
    return (f'state_dir = "{tmp_path / "state"}"\n[webps]\ncpx_base = "{wps.cpx_base}"\npsc_base = "{wps.psc_base}"\n'
            f"browser = {json.dumps(browser.command)}\n")


def test_cpx_link_from_the_cli_posts_ins_and_type(
    run_kiosk, tmp_path: Path, wps: WebPsStandIn, chromium: Chromium
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(_toml(tmp_path, wps, chromium))
    done = run_kiosk("link", "DossierPatient", "--ins", NIR, "--open", "--json", config=config)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["served"] is True
    assert wps.wait_for(1, 60), "Chromium never posted to the stand-in Web PS"
    got = wps.received[0]
    assert got.method == "POST"
    assert got.path == "/wps-cps/AccesDirect/DossierPatient"
    assert got.content_type == "application/x-www-form-urlencoded"
    assert got.fields == {"INS": [NIR], "typeINS": [InsOid.NIR.value]}


def test_psc_link_posts_ins_and_type(tmp_path: Path, wps: WebPsStandIn, chromium: Chromium) -> None:
    config, _ = parse_config(_toml(tmp_path, wps, chromium))
    # The OID INSi returned with the INS decides NIR or NIA (the matricule alone does not): given, as the desk does.
    opened = open_page(config, "Documents", NIA, InsOid.NIA.value, access="psc", ttl_s=60)
    assert opened.served
    assert wps.wait_for(1, 60), "Chromium never posted to the stand-in Web PS"
    got = wps.received[0]
    assert (got.method, got.path) == ("POST", "/wps-psc/AccesDirect/Documents")
    assert got.fields == {"INS": [NIA], "typeINS": [InsOid.NIA.value]}


def test_tableau_de_bord_posts_without_ins(tmp_path: Path, wps: WebPsStandIn, chromium: Chromium) -> None:
    config, _ = parse_config(_toml(tmp_path, wps, chromium))
    assert open_page(config, "TableauDeBord", access="psc", ttl_s=60).served
    assert wps.wait_for(1, 60)
    got = wps.received[0]
    assert (got.method, got.path, got.fields) == ("POST", "/wps-psc/AccesDirect/TableauDeBord", {})


def test_without_the_pin_chromium_refuses_the_untrusted_server(tmp_path: Path, wps: WebPsStandIn) -> None:
    browser = Chromium(tmp_path, pin=None)
    try:
        config, _ = parse_config(_toml(tmp_path, wps, browser))
        assert open_page(config, "DossierPatient", NIR, ttl_s=60).served  # the loopback page loads...
        assert not wps.wait_for(1, 5)  # ...but the POST never reaches an untrusted server
    finally:
        browser.stop()
