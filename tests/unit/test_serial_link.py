"""The serial link's error handling against a scripted reader on a real pty (os.openpty): NAKs both ways,
repeats, missing echo, silent reader, time extensions, truncated and noisy answers, a vanishing device."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from drivers.errors import ReaderError
from drivers.serial import ccid
from drivers.serial.frame import NAK_FRAME, Frame, FrameDecoder, Nak, encode_frame
from drivers.serial.link import LinkLostError, LinkTimeouts, SerialLink
from drivers.serial.port import open_port
from tests.support.patience import PATIENCE_S, wait_until

# Timeouts the test is about expire fast (FAST); the others are generous (PATIENT), so that a loaded machine that
# delays the scripted reader's thread never makes the link retry where the test counts frames.
FAST = LinkTimeouts(echo_s=0.2, answer_s=0.3, ceiling_s=3.0, retries=2)
PATIENT = LinkTimeouts(echo_s=PATIENCE_S, answer_s=PATIENCE_S, ceiling_s=PATIENCE_S, retries=2)
LOST_ANSWER = LinkTimeouts(echo_s=PATIENCE_S, answer_s=0.3, ceiling_s=PATIENCE_S, retries=8)
EXTENDED = LinkTimeouts(echo_s=PATIENCE_S, answer_s=2.0, ceiling_s=PATIENCE_S, retries=2)  # time extensions
CEILING = LinkTimeouts(echo_s=PATIENCE_S, answer_s=2.0, ceiling_s=3.0, retries=2)  # ... up to the ceiling


def answer_for(message: bytes, data: bytes = b"\x90\x00", status: int = 0) -> bytes:
    kind = ccid.ANSWER_TO[ccid.Command(message[0])]
    return encode_frame(bytes((kind,)) + len(data).to_bytes(4, "little") + bytes((0, message[6], status, 0, 0)) + data)


class ScriptedReader:
    """The master side of a pty; `script(n, message, raw)` returns what to write for the n-th host frame."""

    def __init__(self, script: Callable[[int, bytes, bytes], list[bytes | float]]) -> None:
        self.master, self.slave = os.openpty()  # the slave stays open: a pty whose slave is closed hangs up
        self.path = os.ttyname(self.slave)
        self.script = script
        self.frames: list[bytes] = []
        self.naks = 0
        self._unplugged = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        decoder = FrameDecoder(from_reader=False)
        try:
            while True:
                data = os.read(self.master, 512)
                if self._unplugged:
                    return
                for event in decoder.feed(data):
                    if isinstance(event, Nak):
                        self.naks += 1
                        out = self.script(-1, b"", NAK_FRAME)
                    elif isinstance(event, Frame):
                        self.frames.append(event.message)
                        out = self.script(len(self.frames) - 1, event.message, event.raw)
                    else:
                        continue
                    for item in out:
                        if isinstance(item, float):
                            time.sleep(item)
                        else:
                            os.write(self.master, item)
        except OSError:
            pass

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        """Close the master as a vanishing device would (after waking our own blocked read, which would
        otherwise keep the master alive)."""
        self._unplugged = True
        os.write(self.slave, b"\x00")
        self._thread.join(2)
        os.close(self.master)


@pytest.fixture
def make_link():
    links, readers = [], []

    def make(script, echo=True, timeouts=PATIENT, **callbacks):
        reader = ScriptedReader(script)
        link = SerialLink(open_port(reader.path), echo=echo, timeouts=timeouts, name="test", **callbacks)
        links.append(link)
        readers.append(reader)
        return link, reader

    yield make
    for link in links:
        link.close()
    for reader in readers:
        for fd in (reader.master, reader.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def test_echo_then_answer(make_link):
    link, _reader = make_link(lambda n, m, raw: [raw, answer_for(m, b"\x3b\x00")])
    r = link.command(ccid.Command.POWER_ON)
    assert r.type == ccid.ResponseType.DATA_BLOCK and r.data == b"\x3b\x00"
    assert link.stats["naks_sent"] == link.stats["repeats"] == 0


def test_damaged_answer_is_naked_and_repeated(make_link):
    sent = {}

    def script(n, m, raw):
        if n == -1:
            return [sent["good"]]
        sent["good"] = answer_for(m)
        bad = bytearray(sent["good"])
        bad[-2] ^= 0x40
        return [raw, bytes(bad)]

    link, reader = make_link(script)
    assert link.command(ccid.Command.XFR_BLOCK, b"\x00\xb0\x00\x00\x02").data == b"\x90\x00"
    assert reader.naks == 1 and link.stats["bad_frames"] == 1


def test_nak_from_reader_makes_the_host_repeat(make_link):
    def script(n, m, raw):
        return [NAK_FRAME] if n == 0 else [raw, answer_for(m)]

    link, reader = make_link(script)
    link.command(ccid.Command.GET_SLOT_STATUS)
    assert len(reader.frames) == 2 and reader.frames[0] == reader.frames[1]
    assert link.stats["naks_received"] == 1


def test_reader_refusing_every_frame_gives_a_reader_error(make_link):
    link, reader = make_link(lambda n, m, raw: [NAK_FRAME] if n >= 0 else [])
    with pytest.raises(ReaderError, match="NAK"):
        link.command(ccid.Command.GET_SLOT_STATUS)
    assert len(reader.frames) == PATIENT.retries + 1


def test_echo_that_never_comes(make_link):
    link, reader = make_link(lambda n, m, raw: [], timeouts=FAST)
    with pytest.raises(ReaderError, match="écho"):
        link.command(ccid.Command.GET_SLOT_STATUS)
    wait_until(lambda: len(reader.frames) == FAST.retries + 1,  # repeated, then given up (the pty may lag)
               message=lambda: f"{len(reader.frames)} frame(s) seen")


def test_silent_reader_without_echo(make_link):
    link, reader = make_link(lambda n, m, raw: [], echo=False, timeouts=FAST)
    with pytest.raises(ReaderError, match="muet"):
        link.command(ccid.Command.GET_SLOT_STATUS)
    wait_until(lambda: reader.naks == FAST.retries,  # asked for the answer again before giving up
               message=lambda: f"{reader.naks} NAK(s) seen")


def test_echoed_but_unanswered_command_is_asked_again_with_nak(make_link):
    answers = {}

    def script(n, m, raw):
        if n == -1:
            return [answers["a"]]
        answers["a"] = answer_for(m)
        return [raw]  # the answer is lost on the line

    link, reader = make_link(script, timeouts=LOST_ANSWER)
    assert link.command(ccid.Command.GET_SLOT_STATUS).type == ccid.ResponseType.SLOT_STATUS
    assert reader.naks >= 1  # one, unless the machine is so loaded that the repeated answer is late too


def test_answer_without_echo_is_accepted(make_link):
    link, _ = make_link(lambda n, m, raw: [answer_for(m)])
    assert link.command(ccid.Command.GET_SLOT_STATUS).type == ccid.ResponseType.SLOT_STATUS


def test_t0_time_extension_bytes_extend_the_wait(make_link):
    # 6 extensions 0.5 s apart: 3 s in all, longer than the 2 s answer timeout, each well inside it
    link, reader = make_link(lambda n, m, raw: [raw] + [0.5, b"\x80"] * 6 + [answer_for(m)], timeouts=EXTENDED)
    start = time.monotonic()
    assert link.command(ccid.Command.XFR_BLOCK, b"\x00\x88\x00\x00\x08").data == b"\x90\x00"
    assert time.monotonic() - start > EXTENDED.answer_s  # longer than one answer timeout (a lower bound), yet no NAK
    assert reader.naks == 0


def test_time_extensions_are_bounded_by_the_ceiling(make_link):
    link, _ = make_link(lambda n, m, raw: [raw] + [0.1, b"\xff"] * 100, timeouts=CEILING)
    with pytest.raises(ReaderError, match="pas de réponse en 3 s"):  # the ceiling, before 100 extensions of 0.1 s
        link.command(ccid.Command.XFR_BLOCK, b"\x00\x88\x00\x00\x08")


def test_noise_stale_answers_and_ccid_time_extension_are_skipped(make_link):
    def script(n, m, raw):
        stale = bytearray(answer_for(m))
        stale[8] ^= 0x55  # another bSeq
        stale[-1] ^= 0x55  # (its LRC fixed accordingly)
        wtx = bytes((0x80, 0, 0, 0, 0, 0, m[6], 0x80, 0, 1))
        return [b"\x11\x22\x33", raw, b"\x7f\x00", bytes(stale), encode_frame(wtx), answer_for(m, b"\x61\x10")]

    link, _ = make_link(script)
    assert link.command(ccid.Command.XFR_BLOCK, b"\x00\xa4\x04\x00\x00").data == b"\x61\x10"
    assert link.stats["noise_bytes"] >= 5


def test_truncated_answer_is_resynchronised_and_asked_again(make_link):
    full = {}

    def script(n, m, raw):
        if n == -1:
            return [full["a"]]
        full["a"] = answer_for(m, b"\x01" * 40 + b"\x90\x00")
        return [raw, full["a"][:20]]

    link, reader = make_link(script, timeouts=LOST_ANSWER)
    assert link.command(ccid.Command.XFR_BLOCK, b"\x00\xb0\x00\x00\x28").data.endswith(b"\x90\x00")
    assert reader.naks >= 1


def test_card_movements_reach_the_callback_without_any_command(make_link):
    seen = []
    got = threading.Event()
    _link, reader = make_link(
        lambda n, m, raw: [], on_slot_change=lambda p: (seen.append(p), got.set() if len(seen) == 2 else None)
    )
    reader.write(b"\x50\x03")
    reader.write(b"\x50\x02")
    assert got.wait(PATIENCE_S)
    assert seen == [True, False]


def test_vanishing_device_is_reported_and_fails_commands(make_link):
    lost = threading.Event()
    link, reader = make_link(lambda n, m, raw: [raw, answer_for(m)], on_lost=lambda e: lost.set())
    link.command(ccid.Command.GET_SLOT_STATUS)
    reader.unplug()
    assert lost.wait(PATIENCE_S)
    with pytest.raises(LinkLostError):
        link.command(ccid.Command.GET_SLOT_STATUS)
