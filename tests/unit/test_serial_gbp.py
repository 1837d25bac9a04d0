"""GBP blocks (GemCore readers): encoding, the decoder, fuzzing it (never an exception, never a stall)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.serial.frame import FrameError, lrc
from drivers.serial.gbp import (
    HOST_NAD,
    I_BLOCK,
    R_BLOCK,
    READER_NAD,
    S_BLOCK,
    S_RESYNCH,
    S_WTX,
    BadBlock,
    Block,
    BlockDecoder,
    encode_block,
    i_block,
    r_block,
    s_block,
)


def test_block_layout_and_pcb():
    b = i_block(HOST_NAD, 1, b"\x17")
    assert b == bytes((0x42, 0x40, 0x01, 0x17, 0x42 ^ 0x40 ^ 0x01 ^ 0x17))
    assert lrc(b) == 0
    assert r_block(READER_NAD, 1, 1)[1] == 0x91
    assert s_block(HOST_NAD, S_RESYNCH)[1] == 0xC0
    assert s_block(READER_NAD, S_WTX, response=True)[1] == 0xE3
    with pytest.raises(FrameError):
        encode_block(HOST_NAD, 0, bytes(256))


def test_decoder_kinds_and_sequence_numbers():
    stream = i_block(READER_NAD, 1, b"\x00\x3b") + r_block(READER_NAD, 0, 2) + s_block(READER_NAD, S_WTX, data=b"\x01")
    blocks = BlockDecoder(READER_NAD).feed(stream)
    assert [(b.kind, b.seq) for b in blocks] == [(I_BLOCK, 1), (R_BLOCK, 0), (S_BLOCK, 0)]
    assert blocks[0].data == b"\x00\x3b" and blocks[2].s_type == S_WTX and not blocks[2].s_response


def test_noise_damage_and_resynchronisation():
    good = i_block(READER_NAD, 0, b"\x00\x90\x00")
    bad = bytearray(good)
    bad[3] ^= 0x10
    decoder = BlockDecoder(READER_NAD)
    events = decoder.feed(b"\x11\x22" + bytes(bad) + good)
    assert isinstance(events[0], BadBlock) and events[1] == Block(READER_NAD, 0x00, b"\x00\x90\x00")
    assert decoder.skipped == 2


@given(st.binary(max_size=1500), st.lists(st.integers(1, 50), max_size=30))
def test_fuzz_decoder(stream, cuts):
    decoder = BlockDecoder(READER_NAD)
    out, pos = [], 0
    for cut in cuts:
        out += decoder.feed(stream[pos:pos + cut])
        pos += cut
    out += decoder.feed(stream[pos:])
    assert out == BlockDecoder(READER_NAD).feed(stream)
    for e in out:
        assert isinstance(e, (Block, BadBlock))


@given(st.lists(st.binary(max_size=255), max_size=6))
def test_roundtrip(payloads):
    stream = b"".join(i_block(READER_NAD, n & 1, p) for n, p in enumerate(payloads))
    assert [b.data for b in BlockDecoder(READER_NAD).feed(stream)] == payloads


@given(st.binary(max_size=255), st.booleans(), st.booleans())
def test_simulated_gemcore_answers_any_command(data, with_card, powered):
    import serial

    from drivers.sim.readers.gemcore_reader import SimulatedGemCoreReader

    class Card:
        atr = b"\x3b\x00"

        def reset(self):
            pass

        def process(self, apdu):
            return b"\x6d\x00"

    sim = SimulatedGemCoreReader(serial.serial_for_url("loop://"), card=Card() if with_card else None)
    sim.powered = powered and with_card
    reply = sim.command(data)
    assert reply and reply[0] in (0x00, 0xE7, 0xFB, 0x01)
