"""`kiosk sim card`, `kiosk readers` and `kiosk read` as a technician runs them, through the real pcscd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.pcsc_support import wait_empty
from tests.support.patience import PATIENCE_S

pytestmark = pytest.mark.pcscd
ROOT = Path(__file__).resolve().parents[2]


class SimCard:
    """`kiosk sim card ...` in the background, driven through its standard input."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, KIOSK_CONFIG="/nonexistent/kiosk.toml")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "sim", "card", *args, "--json"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        first = self.next()
        assert first.get("event") == "inserted", first

    def next(self) -> dict:
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        return json.loads(line)

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.send("quit")
            self.proc.wait(PATIENCE_S)


@pytest.fixture
def sim_card(pcscd):
    started: list[SimCard] = []

    def start(*args: str) -> SimCard:
        card = SimCard(*args)
        started.append(card)
        return card

    yield start
    for card in started:
        card.close()
    for slot in (0, 1):
        wait_empty(slot)


def test_read_vitale_masked_then_revealed(run_kiosk, sim_card) -> None:
    sim_card("vitale", "--profile", "famille", "--slot", "0")
    listed = run_kiosk("readers", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["reader"]: r for r in json.loads(listed.stdout)["readers"]}
    assert rows["Virtual PCD 00 00"]["family"] == "VITALE_2" and not rows["Virtual PCD 00 01"]["card_present"]
    assert rows["Virtual PCD 00 00"]["logical"] == "patient"
    masked = run_kiosk("read", "--json", "--timeout", "10")
    assert masked.returncode == 0, masked.stderr
    data = json.loads(masked.stdout)
    assert data["card"] == "vitale" and data["nature"] == "demo" and len(data["beneficiaries"]) == 4
    assert "ADRTROIS" not in masked.stdout and "297022A02077878" not in masked.stdout
    assert data["beneficiaries"][0]["nir"] == "2970...78"
    revealed = json.loads(run_kiosk("read", "--json", "--reveal", "--reader", "Virtual PCD 00 00").stdout)
    assert [b["prenom"] for b in revealed["beneficiaries"]] == ["DOMINIQUE", "MICHEL", "LÉO", "LINA"]
    assert [b["rang_naissance"] for b in revealed["beneficiaries"][2:]] == ["1", "2"]
    text = run_kiosk("read", "--reveal").stdout
    assert "ADRTROIS LÉO" in text and "enfant" in text


def test_cpx_card_and_scripted_movements(run_kiosk, sim_card) -> None:
    card = sim_card("--kind", "cpe", "--slot", "1")
    read = run_kiosk("read", "--json", "--timeout", "10")
    data = json.loads(read.stdout)
    assert (data["card"], data["card_type"], data["nom"], data["idnat"]) == (
        "cpx",
        "CPE",
        "ACCUEIL",
        "3760021832/000000018",
    )
    card.send("insert cps:medecin")
    assert [card.next()["event"], card.next()["event"]] == ["removed", "inserted"]
    data = json.loads(run_kiosk("read", "--json", "--timeout", "10").stdout)
    assert (data["card_type"], data["profession"]) == ("CPS", "Médecin")
    card.send("remove")
    assert card.next()["event"] == "removed"
    time.sleep(1.5)  # let vpcd's presence poll see the card gone
    empty = run_kiosk("read", "--json", "--timeout", "0.5")
    assert empty.returncode == 3 and "pas de carte" in json.loads(empty.stdout)["message"]


def test_no_pcscd_is_an_external_failure(run_kiosk, pcscd) -> None:
    pcscd.kill()
    result = run_kiosk("readers", "--json")
    assert result.returncode == 3
    assert "pcscd" in json.loads(result.stdout)["message"]
    card = subprocess.run([sys.executable, "-m", "kiosk", "sim", "card", "vitale", "--port", "35999", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, KIOSK_CONFIG="/nonexistent/kiosk.toml"))
    assert card.returncode == 3 and "vpcd injoignable" in card.stdout


def test_atr_verb(run_kiosk) -> None:
    ok = run_kiosk("atr", "3B 75 13 00 00 44 09 EA 90 00", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["family"] == "VITALE_2"
    assert run_kiosk("atr", "3B8F80010031B86404B0ECC173940180FFFFFFE3").returncode == 1
    assert run_kiosk("atr", "xyz").returncode == 2
