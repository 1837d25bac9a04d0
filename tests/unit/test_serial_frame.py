"""Serial CCID framing: LRC, encoding, the incremental decoder, and fuzzing it (only FrameError, never a hang)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.errors import ReaderError
from drivers.serial import ccid
from drivers.serial.frame import (
    NAK_FRAME,
    BadFrame,
    Frame,
    FrameDecoder,
    FrameError,
    Nak,
    Noise,
    SlotChange,
    TimeExtension,
    decode_frame,
    encode_frame,
    lrc,
)

GET_SLOT_STATUS = bytes.fromhex("65 00000000 00 07 000000")


def merged(events):
    """Consecutive Noise events joined: how skipped bytes are grouped depends on how the line chunked them."""
    out = []
    for e in events:
        if isinstance(e, Noise) and out and isinstance(out[-1], Noise):
            out[-1] = Noise(out[-1].data + e.data)
        else:
            out.append(e)
    return out


def test_lrc_is_xor_of_all_bytes():
    assert lrc(b"") == 0
    assert lrc(bytes((0x03, 0x15))) == 0x16
    assert NAK_FRAME == bytes.fromhex("031516")


def test_encode_known_frame():
    frame = encode_frame(GET_SLOT_STATUS)
    assert frame[:2] == b"\x03\x06"
    assert frame[2:-1] == GET_SLOT_STATUS
    assert frame[-1] == lrc(frame[:-1])
    assert lrc(frame) == 0  # the reader-side check: XOR of everything, LRC included, is zero


def test_encode_refuses_what_the_reader_cannot_take():
    with pytest.raises(FrameError):
        encode_frame(b"\x65\x00")
    with pytest.raises(FrameError):
        encode_frame(bytes.fromhex("6f 05000000 00 01 000000") + b"\x00")  # the header says 5 data bytes, 1 follows
    with pytest.raises(FrameError):
        ccid.build(ccid.Command.XFR_BLOCK, 1, bytes(262))
    assert issubclass(FrameError, ReaderError)


def test_decoder_reads_every_sequence_kind_in_line_order():
    answer = encode_frame(bytes.fromhex("81 00000000 00 07 02 00 00"))
    stream = b"\x50\x03" + b"\x80" + answer + NAK_FRAME + b"\x50\x02" + b"\x11\x22"
    events = FrameDecoder().feed(stream)
    assert events == [SlotChange(True), TimeExtension(0x80), Frame(answer[2:-1], answer), Nak(), SlotChange(False),
                      Noise(b"\x11\x22")]


def test_decoder_is_chunking_independent():
    answer = encode_frame(bytes.fromhex("80 03000000 00 01 00 00 00") + b"\x61\x10\x90")
    stream = b"\x50\x03\x81" + answer + NAK_FRAME
    whole = FrameDecoder().feed(stream)
    decoder = FrameDecoder()
    pieces = [e for i in range(len(stream)) for e in decoder.feed(stream[i:i + 1])]
    assert merged(pieces) == merged(whole)


def test_bad_lrc_and_impossible_length_are_reported_then_resynchronised():
    good = encode_frame(GET_SLOT_STATUS)
    damaged = bytearray(good)
    damaged[8] ^= 0x01  # bSeq
    huge = b"\x03\x06\x80" + (0x1000).to_bytes(4, "little") + bytes(5)
    events = FrameDecoder().feed(bytes(damaged) + huge + good)
    kinds = [type(e) for e in events]
    assert kinds[:2] == [BadFrame, BadFrame]
    assert "LRC" in events[0].reason
    assert events[-1] == Frame(GET_SLOT_STATUS, good)


def test_host_side_decoder_treats_reader_only_bytes_as_noise():
    events = merged(FrameDecoder(from_reader=False).feed(b"\x50\x03\x90" + encode_frame(GET_SLOT_STATUS)))
    assert isinstance(events[0], Noise) and events[0].data == b"\x50\x03\x90"
    assert isinstance(events[1], Frame)


def test_decode_frame_one_shot():
    assert decode_frame(encode_frame(GET_SLOT_STATUS)) == GET_SLOT_STATUS
    frame = encode_frame(GET_SLOT_STATUS)
    for bad in (frame[:-1], frame[:-1] + bytes((frame[-1] ^ 0xFF,)), b"", b"\x12\x34", frame + frame):
        with pytest.raises(FrameError):
            decode_frame(bad)


def test_parse_response_fields():
    r = ccid.parse_response(bytes.fromhex("80 02000000 00 09 41 FE 00 AA BB"))
    assert (r.type, r.seq, r.error, r.data) == (0x80, 9, 0xFE, b"\xaa\xbb")
    assert r.failed and r.icc == ccid.IccStatus.INACTIVE
    assert ccid.parse_response(bytes.fromhex("81 00000000 00 01 82 00 00")).time_extension
    with pytest.raises(FrameError):
        ccid.parse_response(bytes.fromhex("80 05000000 00 01 00 00 00 AA"))
    assert "muette" in ccid.error_text(0xFE)


messages = st.builds(
    lambda kind, seq, data: ccid.build(kind, seq, data),
    st.sampled_from(list(ccid.Command)), st.integers(0, 255), st.binary(max_size=261),
)


@given(messages)
def test_roundtrip(message):
    assert decode_frame(encode_frame(message)) == message
    assert FrameDecoder(from_reader=False).feed(encode_frame(message)) == [Frame(message, encode_frame(message))]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.lists(st.integers(1, 64), max_size=40), st.booleans())
def test_fuzz_decoder_never_raises_and_never_stalls(stream, cuts, from_reader):
    decoder = FrameDecoder(from_reader=from_reader)
    events, pos = [], 0
    for cut in cuts:
        events += decoder.feed(stream[pos:pos + cut])
        pos += cut
    events += decoder.feed(stream[pos:])
    assert merged(events) == merged(FrameDecoder(from_reader=from_reader).feed(stream))
    for e in events:
        assert isinstance(e, (Frame, Nak, SlotChange, TimeExtension, BadFrame, Noise))
        if isinstance(e, Frame):
            assert lrc(e.raw) == 0 and len(e.message) >= 10


@settings(max_examples=400)
@given(st.binary(max_size=600))
def test_fuzz_one_shot_decode_only_raises_frame_error(data):
    try:
        decode_frame(data)
    except FrameError:
        pass
    try:
        ccid.parse_response(data)
    except FrameError:
        pass


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=20).map(lambda b: bytes(x for x in b if x not in (0x03, 0x50) and x < 0x80)), messages
        ),
        max_size=8,
    )
)
def test_frames_survive_surrounding_noise(chunks):
    stream = b"".join(noise + encode_frame(m) for noise, m in chunks)
    frames = [e.message for e in FrameDecoder().feed(stream) if isinstance(e, Frame)]
    assert frames == [m for _, m in chunks]
