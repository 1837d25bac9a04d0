"""`kiosk his ping`, `kiosk sim his` and the `[his]` configuration, through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from kiosk.config import load_config
from kiosk.errors import ConfigError
from kiosk.sim.his_server import HisSimulator, Scenario
from tests.conftest import ROOT


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(body)
    return path


def test_ping_reports_the_round_trip_and_the_answer(run_kiosk, tmp_path: Path) -> None:
    with HisSimulator() as sim:
        config = _config(tmp_path, f'environment = "demo"\n[his]\nenabled = true\nendpoint = "{sim.endpoint}"\n')
        result = run_kiosk("--json", "his", "ping", config=config)
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["ack"] == "AA" and data["query_status"] == "NF" and data["round_trip_ms"] > 0
        sim.always = Scenario.AR
        refused = run_kiosk("his", "ping", config=config)
        assert refused.returncode == 1 and "refusée (AR)" in refused.stdout
    unreachable = run_kiosk("his", "ping", config=config)
    assert unreachable.returncode == 3 and "injoignable" in unreachable.stderr


def test_sim_his_serves_until_interrupted_and_prints_its_configuration(run_kiosk, tmp_path: Path) -> None:
    env = dict(os.environ, KIOSK_CONFIG=str(tmp_path / "none.toml"))
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--json", "sim", "his"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # the JSON document, then the simulator serves
            lines.append(line)
            if line.startswith("}"):
                break
        data = json.loads("".join(lines))
        config = _config(tmp_path, 'environment = "demo"\n' + data["config"])
        assert run_kiosk("his", "ping", config=config).returncode == 0
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0


def test_his_configuration_is_checked(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        'environment = "test"\n[lps]\noid = "1.2.3"\ninsi_idam = "x"\ndmp_homologation = "y"\n'
        '[insi]\npkcs12 = "a"\n[dmp]\npkcs12 = "b"\n'
        '[his]\nenabled = true\nendpoint = "moteur:abc"\nassigning_authority_oid = "pas-un-oid"\n'
        'sending_application = "A|B"\npkcs12 = "c.p12"\ntimeout_s = 0\n',
    )
    try:
        load_config(config)
    except ConfigError as e:
        problems = {str(p).split(" ")[0]: str(p) for p in e.problems}
    else:
        raise AssertionError("invalid [his] accepted")
    for key in (
        "his.endpoint",
        "his.assigning_authority_oid",
        "his.sending_application",
        "his.pkcs12",
        "his.timeout_s",
    ):
        assert key in problems, problems
