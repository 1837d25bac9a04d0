"""`kiosk dmp exists` and `kiosk sim teleservices`: the real CLI against real HTTPS simulators."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import teleservice_fixtures
from tests.support.patience import PATIENCE_S

sims = teleservice_fixtures.sims
simulators = teleservice_fixtures.simulators

ROOT = Path(__file__).resolve().parents[2]


def test_exists_on_the_embedded_demo_simulator(run_kiosk) -> None:
    done = run_kiosk("dmp", "exists", "297022A02077878", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["state"] == "authorised" and data["ins"] == "2970...78"
    closed = run_kiosk("dmp", "exists", "236066322083656")
    assert closed.returncode == 1 and "fermé" in closed.stdout and "12/05/2023" in closed.stdout
    assert run_kiosk("dmp", "exists", "180032B02040123").returncode == 1  # not created
    unknown = run_kiosk("dmp", "exists", "179019912340002", "--json")
    assert unknown.returncode == 3 and json.loads(unknown.stdout)["unknown_code"] == "statusCode=held"


def test_invalid_input_is_refused_before_sending(run_kiosk) -> None:
    bad_key = run_kiosk("dmp", "exists", "181036322045660", "--json")
    assert bad_key.returncode == 2 and json.loads(bad_key.stdout)["error"] == "key"
    bad_oid = run_kiosk("dmp", "exists", "297022A02077878", "--oid", "1.2.3")
    assert bad_oid.returncode == 2 and "OID INS inconnu" in bad_oid.stdout


def prod_config(sims, path: Path) -> Path:
    path.write_text(
        'environment = "prod"\n[site]\nfiness = "750000001"\n'
        '[lps]\noid = "1.2.250.1.999.1.1"\ninsi_idam = "IDAM-1"\ndmp_homologation = "H-1"\n'
        + sims.config_toml()
        # still in [dmp], the last section
        + 'responsible_idnat = "3750000001/0042"\nresponsible_name = "MARTIN Claire"\n'
    )
    return path


def test_production_never_sends_a_test_oid(run_kiosk, sims, tmp_path: Path) -> None:
    config = prod_config(sims, tmp_path / "kiosk.toml")
    before = sims.dmp.count
    done = run_kiosk("dmp", "exists", "297022A02077878", "--oid", "1.2.250.1.213.1.4.10", "--json", config=config)
    assert done.returncode == 3 and "OID INS de test" in json.loads(done.stdout)["message"]
    assert sims.dmp.count == before
    ok = run_kiosk("dmp", "exists", "297022A02077878", config=config)
    assert ok.returncode == 0, ok.stderr
    assert sims.dmp.count == before + 1
    sent = sims.dmp.received[-1].body
    assert b">3750000001/0042</saml2:NameID>" in sent and b">MARTIN Claire<" in sent  # the CLI names who is responsible


def test_a_dmp_without_its_responsible_person_is_a_configuration_error(run_kiosk, sims, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        prod_config(sims, tmp_path / "full.toml").read_text().replace('responsible_name = "MARTIN Claire"\n', "")
    )
    done = run_kiosk("config", "check", config=config)
    assert done.returncode == 2 and "dmp.responsible_name" in done.stdout + done.stderr


def test_an_insi_only_kiosk_is_valid_and_refuses_dmp_calls_clearly(run_kiosk, sims, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        'environment = "prod"\n[site]\nfiness = "750000001"\n[lps]\noid = "1.2.250.1.999.1.1"\ninsi_idam = "IDAM-1"\n'
        'dmp_homologation = "H-1"\n' + sims.config_toml().split("[dmp]")[0] + "[dmp]\nenabled = false\n"
    )
    check = run_kiosk("config", "check", config=config)
    assert check.returncode == 0, check.stdout + check.stderr
    done = run_kiosk("dmp", "exists", "297022A02077878", "--json", config=config)
    assert done.returncode == 2 and json.loads(done.stdout)["error"] == "disabled"


def test_sim_teleservices_command_serves_until_stopped(run_kiosk, tmp_path: Path) -> None:
    written = tmp_path / "sims.toml"
    env = dict(os.environ)
    env.pop("KIOSK_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "sim", "teleservices", "--latency", "0.05", "--write-config", str(written)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not written.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert written.exists(), proc.stderr.read() if proc.poll() is not None else "no configuration written"
        assert oct(written.stat().st_mode & 0o777) == "0o600"
        done = run_kiosk("dmp", "exists", "109076322083489", "--json", config=written)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["state"] == "not_authorised"
        workdir = Path(
            next(line.split('"')[1] for line in written.read_text().splitlines() if line.startswith("ca_bundle"))
        ).parent
        assert workdir.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 0, err
    assert "INSi : https://127.0.0.1:" in out
    assert not workdir.exists()  # the PKI (private keys) is removed on exit
