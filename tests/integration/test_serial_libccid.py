"""Cross-check of the simulated serial reader against a real driver: Debian's libccidtwin (libccid's serial
GemPC Twin driver) inside pcscd, its reader.conf entry pointing at the simulator's pty, read through pyscard
by the project's PC/SC backend and Vitale reader. What libccid accepts, the kiosk's own serial driver is then
tested against (test_serial_backend.py)."""

from __future__ import annotations

import os
import queue
import shutil
import time

import pytest

from drivers.base import EventKind
from tests.support.patience import PATIENCE_S

pytestmark = [
    pytest.mark.pcscd,
    pytest.mark.skipif(not shutil.which("socat"), reason="socat is not installed (Debian package socat)"),
]

TWIN = "GemPC Twin serial 00 00"


@pytest.fixture
def twin(pcscd, tmp_path, monkeypatch):
    from drivers.sim.readers.serial_reader import PtyPair, SimulatedSerialReader
    from drivers.sim.virtual_cards.catalogue import demo_vitale_family
    from tests.support.pcscd import TWIN_LIB, twin_entry, vpcd_entry

    if not os.path.exists(TWIN_LIB):
        pytest.skip(f"libccid's serial driver is not installed ({TWIN_LIB}, Debian package libccid)")
    pair = PtyPair(str(tmp_path / "reader"), str(tmp_path / "host")).start()
    sim = SimulatedSerialReader(pair.reader, card=demo_vitale_family(), echo=True).start()
    monkeypatch.setenv("LIBCCID_ifdLogLevel", "0x000F")  # libccid's own log: every frame, for the record
    pcscd.restart([vpcd_entry(), twin_entry(pair.device("host"))], debug=True)
    yield pcscd, sim
    sim.stop()
    pair.stop()


def test_libccidtwin_reads_a_virtual_vitale_through_the_simulator(twin) -> None:
    from drivers.cards.vitale import read_vitale
    from drivers.pcsc.backend import PcscBackend
    from drivers.sim.virtual_cards.catalogue import demo_cpe

    pcscd, sim = twin
    events: queue.Queue = queue.Queue()
    backend = PcscBackend(backoff_min=0.05, backoff_max=0.5)
    backend.start(events.put)

    def wait(kind: EventKind, timeout: float = PATIENCE_S) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                continue
            if event.kind is kind and event.reader == TWIN:
                return event
        raise AssertionError(f"pcscd never reported {kind.value} for {TWIN!r}; pcscd log:\n{pcscd.log()[-6000:]}")

    try:
        wait(EventKind.READER_ADDED)
        inserted = wait(EventKind.CARD_INSERTED)
        assert inserted.atr == bytes.fromhex("3B751300004409EA9000")
        with backend.connect(TWIN) as channel, channel.transaction():
            data = read_vitale(channel)
        assert [p.prenom for p in data.beneficiaries] == ["DOMINIQUE", "MICHEL", "LÉO", "LINA"]
        assert data.beneficiaries[0].nir == "297022A02077878"
        # libccid's start-up as the simulator saw it: firmware escape, then synchronous notifications
        assert sim.synchronous
        sim.remove()  # pcscd polls GetSlotStatus on serial readers; the simulator's 50 02 is queued for it
        wait(EventKind.CARD_REMOVED)
        sim.insert(demo_cpe())
        wait(EventKind.CARD_INSERTED)
    finally:
        backend.stop()


def test_raw_pyscard_sees_the_twin(twin) -> None:
    from smartcard.System import readers

    pcscd, _sim = twin
    deadline = time.monotonic() + PATIENCE_S
    while TWIN not in [str(r) for r in readers()]:
        assert time.monotonic() < deadline, pcscd.log()[-4000:]
        time.sleep(0.1)
    reader = next(r for r in readers() if str(r) == TWIN)
    connection = reader.createConnection()
    connection.connect()
    try:
        assert bytes(connection.getATR()).hex().upper() == "3B751300004409EA9000"
        _data, sw1, sw2 = connection.transmit(list(bytes.fromhex("00A4000C023F00")))
        assert (sw1, sw2) == (0x90, 0x00)
    finally:
        connection.disconnect()
    assert "Firmware: GemPC Twin simulateur" in pcscd.log()
