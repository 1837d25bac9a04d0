"""The APDU exchanges real CPx cards published (sources in tests.support.published_apdus) replayed two ways:
against the readers (a recorded card answers them exactly), and against the virtual cards (which must answer the
same commands with the same bytes), so that neither the readers nor the simulators can drift from a real card."""

from __future__ import annotations

from collections.abc import Container

import pytest

from drivers.cards.cpx import Chip, pin_state, read_serial
from drivers.sim.pki import Holder
from drivers.sim.virtual_cards.cpx_card import CPS3_ATR, VirtualCps4, VirtualCpx
from tests.support.published_apdus import CPS3_OPENSC_2275, CPX_OPENSC_2223, RecordedCard, Trace
from tests.unit.cardchan import CardOnChannel

HOLDER = Holder("810101234567", "MEDECIN", "PAUL", "Médecin")


def test_reader_gets_the_serial_of_the_real_cps3() -> None:
    card = RecordedCard(CPS3_OPENSC_2275, CPS3_ATR)
    sn = read_serial(Chip(CardOnChannel(card)))
    assert (sn.serial, sn.check_ok) == ("99213845", True)
    assert card.unexpected == []


def test_reader_gets_the_try_counter_of_the_real_cps3() -> None:
    card = RecordedCard(CPS3_OPENSC_2275, CPS3_ATR)
    ch = CardOnChannel(card)
    state = pin_state(ch, 0x01)  # 70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 ...
    assert (state.max_tries, state.tries_left, state.usage_left) == (3, 3, None)
    assert card.unexpected == []


def _replay(trace: Trace, card: object, skip: Container[int] = frozenset()) -> list[tuple[str, str, str]]:
    """Every command of `trace` sent to `card`; the differences (command, real answer, virtual answer)."""
    card.reset()  # type: ignore[attr-defined]
    diffs = []
    for i, (command, real) in enumerate(trace.exchanges):
        got = card.process(command)  # type: ignore[attr-defined]
        if i not in skip and got != real:
            diffs.append((command.hex(" "), real.hex(" "), got.hex(" ")))
    return diffs


def test_virtual_cps3_answers_the_real_cps3_trace_byte_for_byte() -> None:
    assert _replay(CPS3_OPENSC_2275, VirtualCpx(HOLDER, serial="99213845")) == []


@pytest.mark.parametrize("atr_kind", ["t0"])  # the trace's 61xx answers are T=0
def test_virtual_cps4_answers_the_real_efatr_trace(atr_kind: str) -> None:
    card = VirtualCps4(HOLDER, serial="99213845", atr_kind=atr_kind)
    # the last FCP is EF.DIR's: its size (80 02 00 65) is this card's, the rest must agree
    diffs = _replay(CPX_OPENSC_2223, card, skip={6})
    assert diffs == []
    real_fcp = CPX_OPENSC_2223.exchanges[6][1]
    card.process(CPX_OPENSC_2223.exchanges[5][0])
    got = card.process(CPX_OPENSC_2223.exchanges[6][0])
    assert got[:4] + got[6:] == real_fcp[:4] + real_fcp[6:]


def test_virtual_cps3_fcp_and_counter_shapes_follow_the_real_card_after_use() -> None:
    """A spent try changes 9B only; the answer keeps the real card's length and objects."""
    card = VirtualCpx(HOLDER, serial="99213845")
    card.process(bytes.fromhex("002000010430303030"))  # a wrong PIN (4 bytes)
    card.process(bytes.fromhex("00A4090C023F00"))
    assert card.process(CPS3_OPENSC_2275.exchanges[7][0]) == bytes.fromhex("6118")
    answer = card.process(CPS3_OPENSC_2275.exchanges[8][0])
    real = CPS3_OPENSC_2275.exchanges[8][1]
    assert len(answer) == len(real) and answer.replace(b"\x9b\x01\x02", b"\x9b\x01\x03") == real
