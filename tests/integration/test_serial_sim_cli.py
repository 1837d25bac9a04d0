"""`kiosk sim serial-reader` as a technician runs it: a pty pair made with socat, a virtual card, card
movements typed on standard input, read by the kiosk's serial backend."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import time

import pytest

from drivers.base import EventKind
from drivers.serial import SerialBackend, SerialReaderSpec
from tests.conftest import ROOT
from tests.support.patience import PATIENCE_S

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="socat is not installed (Debian package socat)")

VERB = ["sim", "serial-reader"]


def test_cli_simulator_serves_a_vitale_and_moves_cards(tmp_path) -> None:
    from drivers.cards.vitale import read_vitale

    host = str(tmp_path / "ttyKIOSK")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", *VERB, "--pty", host, "--card", "vitale:enfant", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ, KIOSK_CONFIG=str(tmp_path / "kiosk.toml")),
    )
    events: queue.Queue = queue.Queue()
    backend = SerialBackend([SerialReaderSpec(port=host)])
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["event"] == "ready" and ready["host"] == host and ready["echo"] is True
        backend.start(events.put)

        def wait(kind):
            deadline = time.monotonic() + PATIENCE_S
            while time.monotonic() < deadline:
                try:
                    e = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if e.kind is kind:
                    return e
            raise AssertionError(f"no {kind}")

        wait(EventKind.CARD_INSERTED)
        with backend.connect(backend.readers()[0].name) as channel:
            assert read_vitale(channel).beneficiaries[1].nir == "109076322083489"
        proc.stdin.write("remove\n")
        proc.stdin.flush()
        wait(EventKind.CARD_REMOVED)
        proc.stdin.write("insert cpe\n")
        proc.stdin.flush()
        assert wait(EventKind.CARD_INSERTED).atr
        proc.stdin.write("insert nothing\n")  # a typo at the prompt is reported, not fatal
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(PATIENCE_S) == 0
        lines = [json.loads(line) for line in proc.stdout.read().splitlines()]
        assert [e["event"] for e in lines] == ["removed", "inserted", "error"]
        assert not os.path.exists(host)  # the pty pair went with it
    finally:
        backend.stop()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_cli_refuses_an_unknown_card(run_kiosk) -> None:
    result = run_kiosk(*VERB, "--port", "/dev/null", "--card", "carte-bleue", "--json")
    assert result.returncode == 2
    assert "type de carte inconnu" in json.loads(result.stdout)["message"]


def test_cli_simulates_a_gemcore_reader(tmp_path) -> None:
    from drivers.cards.cpx import read_cpx

    host = str(tmp_path / "ttyGEMCORE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", *VERB, "--pty", host, "--protocol", "gbp", "--card", "cpe", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ, KIOSK_CONFIG=str(tmp_path / "kiosk.toml")),
    )
    events: queue.Queue = queue.Queue()
    backend = SerialBackend([SerialReaderSpec(port=host, model="GemPC410", protocol="gbp")])
    try:
        assert json.loads(proc.stdout.readline())["event"] == "ready"
        backend.start(events.put)
        deadline = time.monotonic() + PATIENCE_S
        while events.get(timeout=max(0.1, deadline - time.monotonic())).kind is not EventKind.CARD_INSERTED:
            pass
        with backend.connect(backend.readers()[0].name) as channel:
            assert read_cpx(channel).card_type == "CPE"
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(PATIENCE_S) == 0
    finally:
        backend.stop()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_kiosk_readers_and_read_on_a_configured_serial_reader(tmp_path, run_kiosk) -> None:
    """The technician's path end to end: `[[readers]] backend = "serial"`, `kiosk readers`, `kiosk read`."""
    from drivers.sim.readers.serial_reader import PtyPair, SimulatedSerialReader
    from drivers.sim.virtual_cards.catalogue import demo_vitale_family

    pair = PtyPair(str(tmp_path / "reader"), str(tmp_path / "host")).start()
    sim = SimulatedSerialReader(pair.reader, card=demo_vitale_family()).start()
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[[readers]]\nname = "vitale"\nrole = "patient"\nbackend = "serial"\nport = "{pair.host}"\n')
    try:
        listed = run_kiosk("readers", "--json", config=config)
        assert listed.returncode == 0, listed.stderr
        assert f"GemPCTwin {pair.host}" in listed.stdout
        read = run_kiosk("read", "--reader", "vitale", "--timeout", "10", "--json", config=config)
        assert read.returncode == 0, read.stderr
        out = json.loads(read.stdout)
        text = json.dumps(out, ensure_ascii=False)
        assert "297022A02077878" not in text  # masked without --reveal
        assert "2970" in text
    finally:
        sim.stop()
        pair.stop()
