"""The reader manager over the in-process sim backend: logical readers, default roles, sessions, swaps."""

from __future__ import annotations

import threading
import time

import pytest

from drivers.atr import CardFamily
from drivers.cards.vitale import read_vitale
from drivers.errors import CardSwappedError, ReaderError
from drivers.manager import LogicalReaderSpec, ManagerEventKind, ReaderManager
from drivers.sim.backend import SimBackend
from drivers.sim.virtual_cards import catalogue as cards
from tests.support.patience import PATIENCE_S

S0, S1 = "Lecteur simulé 0", "Lecteur simulé 1"


@pytest.fixture
def sim():
    return SimBackend()


def test_default_roles_follow_the_first_cards(sim: SimBackend) -> None:
    events = []
    manager = ReaderManager([], backends=[sim])
    manager.start(events.append)
    sim.insert(S1, cards.demo_cpe())
    sim.insert(S0, cards.demo_vitale_family())
    readers = {lr.name: lr for lr in manager.logical_readers()}
    assert readers["staff"].physical == S1 and readers["staff"].family is CardFamily.CPS3
    assert readers["patient"].physical == S0 and readers["patient"].family is CardFamily.VITALE_2
    inserted = [e for e in events if e.kind is ManagerEventKind.CARD_INSERTED]
    assert [(e.logical, e.family) for e in inserted] == [("staff", CardFamily.CPS3), ("patient", CardFamily.VITALE_2)]
    sim.remove(S0)
    sim.insert(S0, cards.demo_vitale_single())  # the patient reader stays the patient reader
    assert manager.reader("patient").physical == S0 and manager.reader("patient").card_present


def test_configured_readers_match_by_pattern_and_check_roles(sim: SimBackend) -> None:
    specs = [LogicalReaderSpec("vitale", "patient", "sim", "*1"), LogicalReaderSpec("cpe", "staff", "sim", "*0")]
    events = []
    manager = ReaderManager(specs, backends=[sim])
    manager.start(events.append)
    assert manager.reader("vitale").physical == S1 and manager.reader("cpe").physical == S0
    sim.insert(S1, cards.test_cps())  # a CPx card in the patient reader
    wrong = [e for e in events if e.kind is ManagerEventKind.CARD_INSERTED][-1]
    assert wrong.logical == "vitale" and not wrong.role_ok
    sim.remove_reader(S1)
    assert manager.reader("vitale").physical is None
    assert events[-1].kind is ManagerEventKind.READER_GONE and events[-1].logical == "vitale"
    sim.add_reader(S1)
    assert manager.reader("vitale").physical == S1 and events[-1].kind is ManagerEventKind.READER_BACK


def test_session_reads_and_swap_is_refused(sim: SimBackend) -> None:
    manager = ReaderManager([], backends=[sim])
    manager.start()
    sim.insert(S0, cards.demo_vitale_family())
    target = manager.wait_for_card(timeout=PATIENCE_S)
    with manager.session(target.name) as channel:
        counter = channel.card_counter
        assert len(read_vitale(channel).beneficiaries) == 4
    manager.ensure_current("patient", counter)
    sim.insert(S0, cards.demo_vitale_child())  # another patient's card in the same reader
    with pytest.raises(CardSwappedError):
        manager.ensure_current("patient", counter)
    with pytest.raises(CardSwappedError), manager.session("patient", expect_counter=counter):
        pass


def test_card_pulled_during_a_session(sim: SimBackend) -> None:
    manager = ReaderManager([], backends=[sim])
    manager.start()
    sim.insert(S0, cards.demo_vitale_family())
    with pytest.raises(CardSwappedError), manager.session("patient") as channel:
        sim.remove(S0)
        read_vitale(channel)


def test_sessions_are_exclusive(sim: SimBackend) -> None:
    manager = ReaderManager([], backends=[sim])
    manager.start()
    sim.insert(S0, cards.demo_vitale_family())
    log: list[tuple[str, str]] = []

    def worker(tag: str) -> None:
        for _ in range(5):
            with manager.session("patient") as channel:
                log.append((tag, "begin"))
                read_vitale(channel)
                time.sleep(0.002)
                log.append((tag, "end"))

    threads = [threading.Thread(target=worker, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == 20
    for i in range(0, 20, 2):
        assert log[i][1] == "begin" and log[i + 1] == (log[i][0], "end")


def test_unknown_reader_and_timeout(sim: SimBackend) -> None:
    manager = ReaderManager([], backends=[sim])
    manager.start()
    with pytest.raises(ReaderError, match="inconnu"):
        manager.reader("nowhere")
    with pytest.raises(ReaderError, match="pas de carte"):
        manager.wait_for_card("patient", timeout=0.05)
    with pytest.raises(ReaderError, match="aucun lecteur physique"), manager.session("patient"):
        pass
    assert manager.reader(S0).physical == S0  # a physical name works as a logical one


def test_waiting_for_exclusivity_is_bounded(sim: SimBackend) -> None:
    manager = ReaderManager([], backends=[sim])
    manager.start()
    sim.insert(S0, cards.demo_vitale_family())
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with manager.session("patient"):
            held.set()
            release.wait(PATIENCE_S)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(PATIENCE_S)
    t0 = time.monotonic()
    with pytest.raises(ReaderError, match="occupé"), manager.session("patient", wait_s=0.2):
        pass
    assert time.monotonic() - t0 >= 0.2  # it did wait wait_s (a lower bound: load cannot make it fail)
    release.set()
    t.join()
    with manager.session("patient", wait_s=0.2) as channel:
        assert read_vitale(channel).beneficiaries
