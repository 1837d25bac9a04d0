"""The serial CCID backend against the simulated reader over real pty pairs (socat) and a pyserial URL:
events without polling, the Vitale and CPx readers, the reader manager's sessions, exclusivity and swap
detection unchanged, unplug and replug, models with and without echo, line noise, a silent reader."""

from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import threading
import time

import pytest

from drivers.base import EventKind
from drivers.errors import CardSwappedError, ReaderError
from drivers.serial import SerialBackend, SerialReaderSpec
from drivers.serial.link import LinkTimeouts
from drivers.sim.readers.serial_reader import LineNoise, PtyPair, SimulatedSerialReader
from tests.support.patience import PATIENCE_S

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="socat is not installed (Debian package socat)")

FAST = LinkTimeouts(echo_s=0.3, answer_s=0.5, ceiling_s=5.0, retries=3)


class Events:
    def __init__(self) -> None:
        self.q: queue.Queue[object] = queue.Queue()
        self.all: list[object] = []

    def __call__(self, event: object) -> None:
        self.all.append(event)
        self.q.put(event)

    def wait(self, kind: object, timeout: float = PATIENCE_S) -> object:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.q.get(timeout=left)
            except queue.Empty:
                break
            if event.kind is kind:  # type: ignore[attr-defined]
                return event
        raise AssertionError(f"no {kind} in {[e.kind.value for e in self.all]}")  # type: ignore[attr-defined]


@pytest.fixture
def line(tmp_path):
    pair = PtyPair(str(tmp_path / "reader"), str(tmp_path / "host")).start()
    yield pair
    pair.stop()


@pytest.fixture
def sim(line):
    reader = SimulatedSerialReader(line.reader, echo=True).start()
    yield reader
    reader.stop()


def start_backend(port: str, **spec):
    events = Events()
    backend = SerialBackend([SerialReaderSpec(port=port, timeouts=FAST, **spec)])
    backend.start(events)
    return backend, events


@pytest.fixture
def backend(line, sim):
    backend, events = start_backend(line.host)
    events.wait(EventKind.READER_ADDED)
    yield backend, events
    backend.stop()


def vitale():
    from drivers.sim.virtual_cards.catalogue import demo_vitale_family

    return demo_vitale_family()


def test_insert_read_remove_through_the_vitale_reader(backend, sim) -> None:
    from drivers.cards.vitale import read_vitale

    b, events = backend
    name = b.readers()[0].name
    assert b.firmware(name).startswith("GemPC Twin")
    sim.insert(vitale())
    inserted = events.wait(EventKind.CARD_INSERTED)
    assert inserted.atr == bytes.fromhex("3B751300004409EA9000")
    with b.connect(name) as channel, channel.transaction():
        data = read_vitale(channel)
    assert [p.prenom for p in data.beneficiaries] == ["DOMINIQUE", "MICHEL", "LÉO", "LINA"]
    assert data.beneficiaries[0].nir == "297022A02077878"
    sim.remove()
    removed = events.wait(EventKind.CARD_REMOVED)
    assert removed.card_counter == inserted.card_counter
    with pytest.raises(ReaderError, match="pas de carte"):
        b.connect(name)


def test_card_movements_arrive_without_any_polling(backend, sim) -> None:
    _b, events = backend
    sim.insert(vitale())
    events.wait(EventKind.CARD_INSERTED)
    time.sleep(0.2)
    before = sum(1 for direction, _ in sim.log if direction == "in")
    time.sleep(1.5)  # idle, card present: the driver sends nothing
    assert sum(1 for direction, _ in sim.log if direction == "in") == before
    sim.remove()
    events.wait(EventKind.CARD_REMOVED)
    assert sum(1 for direction, _ in sim.log if direction == "in") == before  # the removal cost no command


def test_cpx_reader_works_unchanged(backend, sim) -> None:
    from drivers.cards.cpx import read_cpx
    from drivers.sim.virtual_cards.catalogue import demo_cpe

    b, events = backend
    sim.insert(demo_cpe())
    events.wait(EventKind.CARD_INSERTED)
    with b.connect(b.readers()[0].name) as channel, channel.transaction():
        data = read_cpx(channel)
    assert (data.surname, data.card_type) == ("ACCUEIL", "CPE")


def test_swapped_card_is_refused_by_channel_and_manager(line, sim) -> None:
    from drivers.cards.vitale import read_vitale
    from drivers.manager import LogicalReaderSpec, ManagerEventKind, ReaderManager
    from drivers.sim.virtual_cards.catalogue import demo_vitale_single

    seen = Events()
    serial = SerialBackend([SerialReaderSpec(port=line.host, timeouts=FAST)])
    manager = ReaderManager([LogicalReaderSpec("vitale", "patient", "serial")], backends=[serial])
    manager.start(seen)
    try:
        seen.wait(ManagerEventKind.READER_BACK)
        sim.insert(vitale())
        first = seen.wait(ManagerEventKind.CARD_INSERTED)
        assert first.logical == "vitale" and first.card_kind.value == "vitale" and first.role_ok
        with manager.session("vitale", expect_counter=first.card_counter) as channel:
            assert read_vitale(channel).beneficiaries[0].prenom == "DOMINIQUE"
            stale = manager.reader("vitale").card_counter
        old = serial.connect(manager.reader("vitale").physical)
        sim.remove()
        seen.wait(ManagerEventKind.CARD_REMOVED)
        sim.insert(demo_vitale_single())
        second = seen.wait(ManagerEventKind.CARD_INSERTED)
        assert second.card_counter != first.card_counter
        with pytest.raises(CardSwappedError):
            manager.ensure_current("vitale", stale)
        with pytest.raises(CardSwappedError):
            old.transmit(bytes.fromhex("00A4000C023F00"))  # a channel on the first card never reaches the second
        with pytest.raises(CardSwappedError):
            old.ensure_same_card()
        with manager.session("vitale", expect_counter=second.card_counter) as channel:
            assert read_vitale(channel).beneficiaries[0].nom_usuel == "TCHITCHI"
    finally:
        manager.stop()


def test_exclusive_session_makes_the_other_wait(line, sim) -> None:
    from drivers.manager import LogicalReaderSpec, ReaderManager

    serial = SerialBackend([SerialReaderSpec(port=line.host, timeouts=FAST)])
    manager = ReaderManager([LogicalReaderSpec("vitale", "patient", "serial")], backends=[serial])
    seen = Events()
    manager.start(seen)
    try:
        sim.insert(vitale())
        manager.wait_for_card("vitale", timeout=PATIENCE_S)
        order: list[str] = []
        inside = threading.Event()

        def other() -> None:
            inside.wait(PATIENCE_S)
            with manager.session("vitale") as channel:
                order.append("B in")
                channel.transmit(bytes.fromhex("00A4000C023F00"))
            order.append("B out")

        t = threading.Thread(target=other)
        t.start()
        with manager.session("vitale") as channel:
            order.append("A in")
            inside.set()
            time.sleep(0.5)  # B tries meanwhile: it must wait for A's end of exclusivity
            channel.transmit(bytes.fromhex("00A4000C023F00"))
            order.append("A out")
        t.join(10)
        assert order == ["A in", "A out", "B in", "B out"]
    finally:
        manager.stop()


def test_unplug_removes_the_reader_and_replug_restores_it(line, backend, sim) -> None:
    from drivers.cards.vitale import read_vitale

    b, events = backend
    sim.insert(vitale())
    events.wait(EventKind.CARD_INSERTED)
    name = b.readers()[0].name
    channel = b.connect(name)
    line.stop()  # both ptys vanish, as a USB serial adapter pulled out
    events.wait(EventKind.CARD_REMOVED)
    events.wait(EventKind.READER_REMOVED)
    assert b.readers() == []
    with pytest.raises(ReaderError):
        channel.transmit(bytes.fromhex("00A4000C023F00"))
    with pytest.raises(ReaderError, match="absent|inconnu"):
        b.connect(name)
    time.sleep(0.5)
    line.start()  # plugged back (new /dev/pts numbers behind the same links)
    again = SimulatedSerialReader(line.reader, card=vitale()).start()
    try:
        events.wait(EventKind.READER_ADDED, timeout=PATIENCE_S)
        events.wait(EventKind.CARD_INSERTED)
        with b.connect(name) as ch, ch.transaction():
            assert len(read_vitale(ch).beneficiaries) == 4
    finally:
        again.stop()


def test_reader_absent_at_start_appears_when_plugged(tmp_path) -> None:
    pair = PtyPair(str(tmp_path / "r"), str(tmp_path / "h"))
    b, events = start_backend(pair.host)
    try:
        time.sleep(0.5)
        assert b.readers() == []
        pair.start()
        reader = SimulatedSerialReader(pair.reader).start()
        try:
            events.wait(EventKind.READER_ADDED, timeout=PATIENCE_S)
        finally:
            reader.stop()
    finally:
        b.stop()
        pair.stop()


@pytest.mark.parametrize("model,sim_echo", [("GemCorePOSPro", False), ("GemPCPinPad", True)])
def test_models_with_and_without_echo(line, model, sim_echo) -> None:
    from drivers.cards.vitale import read_vitale

    reader = SimulatedSerialReader(line.reader, card=vitale(), echo=sim_echo).start()
    b, events = start_backend(line.host, model=model)
    try:
        events.wait(EventKind.CARD_INSERTED)
        with b.connect(b.readers()[0].name) as channel:
            assert len(read_vitale(channel).beneficiaries) == 4
        echoes = [raw for d, raw in reader.log if d == "out" and raw[:3] == b"\x03\x06\x6f"]
        assert bool(echoes) == sim_echo
    finally:
        b.stop()
        reader.stop()


def test_line_noise_is_survived(line) -> None:
    from drivers.cards.vitale import read_vitale

    noise = LineNoise(corrupt=0.15, garbage=0.15, truncate=0.05, drop_echo=0.05, seed=7)
    reader = SimulatedSerialReader(line.reader, card=vitale(), noise=noise).start()
    b, events = start_backend(line.host)
    try:
        events.wait(EventKind.CARD_INSERTED, timeout=PATIENCE_S)
        name = b.readers()[0].name
        for _ in range(5):
            with b.connect(name) as channel:
                data = read_vitale(channel)
            assert data.beneficiaries[0].nir == "297022A02077878"
        link = b.link(name)
        assert link.stats["naks_sent"] + link.stats["repeats"] > 0  # damage happened and was repaired
    finally:
        b.stop()
        reader.stop()


def test_t0_time_extension_bytes(backend, sim) -> None:
    b, events = backend
    sim.time_extensions = 3
    sim.insert(vitale())
    events.wait(EventKind.CARD_INSERTED)
    with b.connect(b.readers()[0].name) as channel:
        assert channel.transmit(bytes.fromhex("00A4000C023F00"))[-2:] == b"\x90\x00"
    assert any(raw == b"\x80" for d, raw in sim.log if d == "out")


def test_silent_reader_gives_a_bounded_reader_error_then_is_removed_until_it_answers(backend, sim) -> None:
    """An RS-232 port stays when its reader is unplugged: silence after every retry counts as removal."""
    b, events = backend
    sim.insert(vitale())
    first = events.wait(EventKind.CARD_INSERTED)
    name = b.readers()[0].name
    channel = b.connect(name)
    sim.noise.silent = True
    with pytest.raises(ReaderError, match="écho|muet"):  # bounded by the link's retries (test_serial_link.py)
        channel.transmit(bytes.fromhex("00A4000C023F00"))
    events.wait(EventKind.CARD_REMOVED)
    events.wait(EventKind.READER_REMOVED)
    assert b.readers() == []
    sim.noise.silent = False  # plugged back
    events.wait(EventKind.READER_ADDED, timeout=PATIENCE_S)
    again = events.wait(EventKind.CARD_INSERTED)
    assert again.card_counter != first.card_counter
    with pytest.raises(CardSwappedError):
        channel.transmit(bytes.fromhex("00A4000C023F00"))
    with b.connect(name) as fresh:
        assert fresh.transmit(bytes.fromhex("00A4000C023F00"))[-2:] == b"\x90\x00"


def test_nothing_answers_on_the_port(line) -> None:
    b, events = start_backend(line.host)  # a pty with no reader behind it
    try:
        time.sleep(FAST.echo_s * (FAST.retries + 2))
        assert b.readers() == []
        assert not [e for e in events.all if e.kind is EventKind.READER_ADDED]
    finally:
        b.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pyserial_url_transport() -> None:
    """The same driver over `socket://` (a terminal server, ser2net): socat joins two TCP ends."""
    from drivers.cards.vitale import read_vitale

    a, h = _free_port(), _free_port()
    relay = subprocess.Popen(
        ["socat", f"TCP-LISTEN:{a},bind=127.0.0.1,reuseaddr", f"TCP-LISTEN:{h},bind=127.0.0.1,reuseaddr"],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            try:
                reader = SimulatedSerialReader(f"socket://127.0.0.1:{a}", card=vitale()).start()
                break
            except ReaderError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        b, events = start_backend(f"socket://127.0.0.1:{h}")
        try:
            events.wait(EventKind.CARD_INSERTED, timeout=PATIENCE_S)
            with b.connect(b.readers()[0].name) as channel:
                assert len(read_vitale(channel).beneficiaries) == 4
        finally:
            b.stop()
            reader.stop()
    finally:
        relay.terminate()
        relay.wait(PATIENCE_S)


def test_stop_is_prompt_and_leaves_no_thread(line, sim) -> None:
    b, events = start_backend(line.host)
    events.wait(EventKind.READER_ADDED)
    b.stop()  # returns (pytest-timeout catches a hang) with every thread joined
    assert not [t for t in threading.enumerate() if t.name.startswith("serial") and t.is_alive()]


def test_configured_serial_readers_through_the_manager(tmp_path) -> None:
    """`[[readers]]` entries with backend = "serial" (two readers, one without echo) bound by `match`."""
    from drivers.cards.cpx import read_cpx
    from drivers.cards.vitale import read_vitale
    from drivers.manager import ReaderManager
    from drivers.sim.virtual_cards.catalogue import demo_cpe
    from kiosk.config import parse_config

    one = PtyPair(str(tmp_path / "r1"), str(tmp_path / "h1")).start()
    two = PtyPair(str(tmp_path / "r2"), str(tmp_path / "h2")).start()
    sims = [SimulatedSerialReader(one.reader, card=vitale()).start(),
            SimulatedSerialReader(two.reader, card=demo_cpe(), echo=False).start()]
    config, problems = parse_config(f"""
[[readers]]
name = "vitale"
role = "patient"
backend = "serial"
port = "{one.host}"
match = "GemPCTwin {one.host}"

[[readers]]
name = "cpe"
role = "staff"
backend = "serial"
port = "{two.host}"
model = "GemCorePOSPro"
match = "GemCorePOSPro {two.host}"
""")
    assert not problems
    manager = ReaderManager(config.readers, backends=[SerialBackend.from_config(config.readers)])
    manager.start()
    try:
        patient = manager.wait_for_card("vitale", timeout=PATIENCE_S)
        staff = manager.wait_for_card("cpe", timeout=PATIENCE_S)
        assert patient.family.kind.value == "vitale" and staff.family.kind.value == "cpx"
        with manager.session("vitale", expect_counter=patient.card_counter) as channel:
            assert len(read_vitale(channel).beneficiaries) == 4
        with manager.session("cpe", expect_counter=staff.card_counter) as channel:
            assert read_cpx(channel).card_type == "CPE"
    finally:
        manager.stop()
        for sim in sims:
            sim.stop()
        one.stop()
        two.stop()


def test_manager_sees_the_reader_go_and_come_back(line, sim) -> None:
    """Unplugged: the logical reader is gone (READER_GONE); plugged back: READER_BACK, and it reads again."""
    from drivers.cards.vitale import read_vitale
    from drivers.manager import LogicalReaderSpec, ManagerEventKind, ReaderManager

    seen = Events()
    manager = ReaderManager([LogicalReaderSpec("vitale", "patient", "serial")],
                            backends=[SerialBackend([SerialReaderSpec(port=line.host, timeouts=FAST)])])
    manager.start(seen)
    try:
        seen.wait(ManagerEventKind.READER_BACK)
        sim.insert(vitale())
        seen.wait(ManagerEventKind.CARD_INSERTED)
        line.stop()
        assert seen.wait(ManagerEventKind.READER_GONE).logical == "vitale"
        assert manager.reader("vitale").physical is None
        with pytest.raises(ReaderError), manager.session("vitale"):
            pass
        line.start()
        again = SimulatedSerialReader(line.reader, card=vitale()).start()
        try:
            assert seen.wait(ManagerEventKind.READER_BACK, timeout=PATIENCE_S).logical == "vitale"
            card = seen.wait(ManagerEventKind.CARD_INSERTED)
            with manager.session("vitale", expect_counter=card.card_counter) as channel:
                assert len(read_vitale(channel).beneficiaries) == 4
        finally:
            again.stop()
    finally:
        manager.stop()


def test_power_off_then_reconnect_and_stop_powers_the_card_down(line, sim) -> None:
    b, events = start_backend(line.host)
    try:
        events.wait(EventKind.READER_ADDED)
        sim.insert(vitale())
        events.wait(EventKind.CARD_INSERTED)
        name = b.readers()[0].name
        channel = b.connect(name)
        b.power_off(name)
        assert not sim.powered
        with pytest.raises(ReaderError, match="hors tension"):
            channel.transmit(bytes.fromhex("00A4000C023F00"))
        assert [e.kind for e in events.all].count(EventKind.CARD_REMOVED) == 0  # a power-off is not a removal
        with b.connect(name) as again:
            assert again.card_counter == channel.card_counter
            assert again.transmit(bytes.fromhex("00A4000C023F00"))[-2:] == b"\x90\x00"
        assert sim.powered
    finally:
        b.stop()
    assert not sim.powered  # stop() left the card unpowered


def test_lost_notifications_are_caught_by_the_next_command(backend, sim) -> None:
    """`50 02` / `50 03` damaged on the line: the slot status of the next command tells the truth."""
    b, events = backend
    sim.insert(vitale())
    first = events.wait(EventKind.CARD_INSERTED)
    channel = b.connect(b.readers()[0].name)
    sim.card, sim.powered = vitale(), False  # pulled out and put back while the line lost both notifications
    with pytest.raises(CardSwappedError):
        channel.transmit(bytes.fromhex("00A4000C023F00"))
    events.wait(EventKind.CARD_REMOVED)
    second = events.wait(EventKind.CARD_INSERTED)
    assert second.card_counter != first.card_counter
    sim.card = None  # and now gone, silently
    with pytest.raises(CardSwappedError):
        b.connect(b.readers()[0].name).transmit(bytes.fromhex("00A4000C023F00"))
    events.wait(EventKind.CARD_REMOVED)


@pytest.mark.parametrize("model,sim_echo", [("GemPCTwin", False), ("GemCorePOSPro", True)])
def test_echo_auto_believes_the_line_over_the_model_table(line, model, sim_echo) -> None:
    reader = SimulatedSerialReader(line.reader, card=vitale(), echo=sim_echo).start()
    b, events = start_backend(line.host, model=model)
    try:
        events.wait(EventKind.CARD_INSERTED)
        name = b.readers()[0].name
        assert b.link(name).echo is sim_echo
        with b.connect(name) as channel:
            assert channel.transmit(bytes.fromhex("00A4000C023F00"))[-2:] == b"\x90\x00"
        assert b.link(name).stats["repeats"] == 0
    finally:
        b.stop()
        reader.stop()
