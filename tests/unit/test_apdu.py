"""T=0 handling: 61xx followed by GET RESPONSE, 6Cxx answered by a resend with the right Le."""

from __future__ import annotations

import pytest

from drivers.apdu import command, exchange
from drivers.base import CardChannel
from drivers.errors import CardDataError, ReaderError


class Scripted(CardChannel):
    """A channel answering from a script; records what was sent."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = [bytes.fromhex(a) for a in answers]
        self.sent: list[str] = []
        self.reader, self.atr, self.card_counter = "test", b"", 1

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu.hex().upper())
        return self.answers.pop(0)

    def begin_transaction(self) -> None: ...
    def end_transaction(self) -> None: ...
    def close(self) -> None: ...
    def current_counter(self) -> int | None:
        return 1


def test_61xx_chains_get_response() -> None:
    ch = Scripted(["6104", "AABBCCDD6102", "EEFF9000"])
    resp = exchange(ch, bytes.fromhex("00A4040002A0A000"))
    assert resp.ok and resp.data == bytes.fromhex("AABBCCDDEEFF")
    assert ch.sent[1:] == ["00C0000004", "00C0000002"]


def test_6cxx_resends_with_le() -> None:
    ch = Scripted(["6C10", "00" * 16 + "9000"])
    resp = exchange(ch, bytes.fromhex("00B0000000"))
    assert resp.data == bytes(16) and ch.sent == ["00B0000000", "00B0000010"]


def test_6cxx_then_61xx() -> None:
    ch = Scripted(["6C02", "01026101", "039000"])
    assert exchange(ch, bytes.fromhex("80CA000000")).data == b"\x01\x02\x03"


def test_get_response_keeps_cla() -> None:
    ch = Scripted(["6101", "AA9000"])
    exchange(ch, bytes.fromhex("01A4040C02AAAA"))
    assert ch.sent[1] == "01C0000001"


def test_status_word_errors_are_card_data_errors() -> None:
    assert exchange(Scripted(["6A82"]), b"\x00\xa4\x00\x00").sw == 0x6A82
    with pytest.raises(CardDataError, match="6A82"):
        exchange(Scripted(["6A82"]), b"\x00\xa4\x00\x00").expect_ok("sélection")
    with pytest.raises(CardDataError, match="trop courte"):
        exchange(Scripted(["90"]), b"\x00\xb0\x00\x00\x00")
    with pytest.raises(ReaderError, match="aucune réponse"):
        exchange(Scripted([""]), b"\x00\xb0\x00\x00\x00")
    with pytest.raises(CardDataError, match="sans fin"):
        exchange(Scripted(["6101"] + ["AA6101"] * 100), b"\x00\xa4\x00\x00\x00")


def test_command_builder() -> None:
    assert command(0, 0xA4, 9, 0x0C, b"\x3f\x00") == bytes.fromhex("00A4090C023F00")
    assert command(0, 0xB0, 0, 0, le=0) == bytes.fromhex("00B0000000")
