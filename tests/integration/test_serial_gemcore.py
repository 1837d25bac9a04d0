"""The second serial protocol: GemCore readers over GBP (`protocol = "gbp"`), against the simulated GemCore
reader on socat ptys, through the same backend, card readers and reader manager."""

from __future__ import annotations

import shutil

import pytest

from drivers.base import EventKind
from drivers.errors import CardSwappedError, ReaderError
from drivers.serial import SerialBackend, SerialReaderSpec
from drivers.serial.link import LinkTimeouts
from drivers.sim.readers.gemcore_reader import SimulatedGemCoreReader
from drivers.sim.readers.serial_reader import LineNoise, PtyPair
from tests.integration.test_serial_backend import Events
from tests.support.patience import PATIENCE_S

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="socat is not installed (Debian package socat)")

FAST = LinkTimeouts(echo_s=0.3, answer_s=0.5, ceiling_s=5.0, retries=3)


def vitale():
    from drivers.sim.virtual_cards.catalogue import demo_vitale_family

    return demo_vitale_family()


@pytest.fixture
def line(tmp_path):
    pair = PtyPair(str(tmp_path / "reader"), str(tmp_path / "host")).start()
    yield pair
    pair.stop()


def start(port: str):
    events = Events()
    backend = SerialBackend([SerialReaderSpec(port=port, model="GemPC410", protocol="gbp", timeouts=FAST)])
    backend.start(events)
    return backend, events


def test_gemcore_reads_vitale_and_cpx_and_sees_cards_move(line) -> None:
    from drivers.cards.cpx import read_cpx
    from drivers.cards.vitale import read_vitale
    from drivers.sim.virtual_cards.catalogue import demo_cpe

    sim = SimulatedGemCoreReader(line.reader).start()
    b, events = start(line.host)
    try:
        events.wait(EventKind.READER_ADDED)
        name = b.readers()[0].name
        assert name == f"GemPC410 {line.host}" and b.firmware(name) == "GemCore-R1.21-GM"
        sim.insert(vitale())
        first = events.wait(EventKind.CARD_INSERTED)
        assert first.atr == bytes.fromhex("3B751300004409EA9000")
        with b.connect(name) as channel, channel.transaction():
            data = read_vitale(channel)
        assert data.beneficiaries[0].nir == "297022A02077878"
        old = b.connect(name)
        sim.remove()
        events.wait(EventKind.CARD_REMOVED)
        sim.insert(demo_cpe())
        second = events.wait(EventKind.CARD_INSERTED)
        assert second.card_counter != first.card_counter
        with pytest.raises(CardSwappedError):
            old.transmit(bytes.fromhex("00A4000C023F00"))
        with b.connect(name) as channel, channel.transaction():
            assert read_cpx(channel).card_type == "CPE"
    finally:
        b.stop()
        sim.stop()


def test_gemcore_swap_between_two_polls_is_a_new_card(line) -> None:
    sim = SimulatedGemCoreReader(line.reader, card=vitale()).start()
    b, events = start(line.host)
    try:
        first = events.wait(EventKind.CARD_INSERTED)
        sim.insert(vitale())  # out and in faster than the poll: present, but no longer powered
        events.wait(EventKind.CARD_REMOVED)
        assert events.wait(EventKind.CARD_INSERTED).card_counter != first.card_counter
    finally:
        b.stop()
        sim.stop()


def test_gemcore_line_noise_wtx_and_silence(line) -> None:
    from drivers.cards.vitale import read_vitale

    sim = SimulatedGemCoreReader(line.reader, card=vitale(), time_extensions=2,
                                 noise=LineNoise(corrupt=0.1, garbage=0.1, truncate=0.05, seed=3)).start()
    b, events = start(line.host)
    try:
        events.wait(EventKind.CARD_INSERTED, timeout=PATIENCE_S)
        name = b.readers()[0].name
        for _ in range(3):
            with b.connect(name) as channel:
                assert len(read_vitale(channel).beneficiaries) == 4
        channel = b.connect(name)
        sim.noise.silent = True
        with pytest.raises(ReaderError):  # bounded by the link's ceiling (tests/unit/test_serial_link.py)
            channel.transmit(bytes.fromhex("00A4000C023F00"))
        events.wait(EventKind.READER_REMOVED)
        sim.noise.silent = False
        events.wait(EventKind.READER_ADDED, timeout=PATIENCE_S)
    finally:
        b.stop()
        sim.stop()


def test_gemcore_silent_while_idle_is_noticed_by_the_status_poll(line) -> None:
    sim = SimulatedGemCoreReader(line.reader, card=vitale()).start()
    b, events = start(line.host)
    try:
        events.wait(EventKind.CARD_INSERTED)
        sim.noise.silent = True  # unplugged from an RS-232 port that stays
        events.wait(EventKind.CARD_REMOVED, timeout=PATIENCE_S)
        events.wait(EventKind.READER_REMOVED)
        sim.noise.silent = False
        events.wait(EventKind.READER_ADDED, timeout=PATIENCE_S)
        events.wait(EventKind.CARD_INSERTED)
    finally:
        b.stop()
        sim.stop()


def test_gemcore_unplug_and_replug(line) -> None:
    sim = SimulatedGemCoreReader(line.reader, card=vitale()).start()
    b, events = start(line.host)
    try:
        events.wait(EventKind.CARD_INSERTED)
        line.stop()
        events.wait(EventKind.READER_REMOVED)
        sim.stop()
        line.start()
        sim = SimulatedGemCoreReader(line.reader, card=vitale()).start()
        events.wait(EventKind.READER_ADDED, timeout=PATIENCE_S)
        events.wait(EventKind.CARD_INSERTED)
    finally:
        b.stop()
        sim.stop()
