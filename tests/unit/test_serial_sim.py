"""The simulated serial reader's CCID side: every command (fuzzed too) gets one well-formed answer of the
right type with the same bSeq, card states as a real Twin reports them, the escapes libccid sends."""

from __future__ import annotations

import serial
from hypothesis import given
from hypothesis import strategies as st

from drivers.serial import ccid
from drivers.sim.readers.serial_reader import SimulatedSerialReader


class TinyCard:
    atr = bytes.fromhex("3B0200")

    def __init__(self) -> None:
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def process(self, apdu: bytes) -> bytes:
        return apdu[:2] + b"\x90\x00"


def sim(card=None) -> SimulatedSerialReader:
    return SimulatedSerialReader(serial.serial_for_url("loop://"), card=card)


def ask(reader: SimulatedSerialReader, kind: int, data: bytes = b"", seq: int = 5, slot: int = 0) -> ccid.Response:
    return ccid.parse_response(reader.answer(ccid.build(kind, seq, data, slot=slot)))


def test_card_states_and_power() -> None:
    card = TinyCard()
    r = sim()
    assert ask(r, ccid.Command.GET_SLOT_STATUS).icc == ccid.IccStatus.ABSENT
    answer = ask(r, ccid.Command.POWER_ON)
    assert answer.failed and answer.error == 0xFE
    r.card = card
    assert ask(r, ccid.Command.GET_SLOT_STATUS).icc == ccid.IccStatus.INACTIVE
    xfr = ask(r, ccid.Command.XFR_BLOCK, b"\x00\xa4\x00\x00")
    assert xfr.failed and xfr.icc == ccid.IccStatus.INACTIVE  # no exchange with an unpowered card
    on = ask(r, ccid.Command.POWER_ON)
    assert on.type == ccid.ResponseType.DATA_BLOCK and on.data == card.atr and card.resets == 1
    assert ask(r, ccid.Command.XFR_BLOCK, b"\x00\xa4\x00\x00").data == b"\x00\xa4\x90\x00"
    assert ask(r, ccid.Command.XFR_BLOCK, b"\xff\x10\x13\xfc").data == b"\xff\x10\x13\xfc"  # PPS accepted
    assert ask(r, ccid.Command.POWER_OFF).icc == ccid.IccStatus.INACTIVE
    assert ask(r, ccid.Command.GET_SLOT_STATUS, slot=1).failed


def test_escapes_libccid_sends() -> None:
    r = sim()
    assert ask(r, ccid.Command.ESCAPE, b"\x02").data.startswith(b"GemPC Twin")
    assert not ask(r, ccid.Command.ESCAPE, b"\x01\x01\x01").failed and r.synchronous
    assert not ask(r, ccid.Command.ESCAPE, b"\x01\x01\x00").failed and not r.synchronous
    unknown = ask(r, ccid.Command.ESCAPE, b"\x6a")
    assert unknown.failed and unknown.error == 0x00  # "command not supported", as libccid expects


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=261), st.booleans(), st.booleans())
def test_fuzzed_commands_always_get_one_consistent_answer(kind, seq, data, with_card, powered) -> None:
    r = sim(TinyCard() if with_card else None)
    r.powered = powered and with_card
    message = bytes((kind,)) + len(data).to_bytes(4, "little") + bytes((0, seq, 0, 0, 0)) + data
    answer = ccid.parse_response(r.answer(message))
    assert answer.seq == seq and answer.type >= 0x80
    if kind in ccid.ANSWER_TO:
        assert answer.type == ccid.ANSWER_TO[kind]
