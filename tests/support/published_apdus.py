"""APDU exchanges that real CPx cards gave, as published, replayed against the readers and the virtual cards.

Each exchange is (command, response with its status word), in the order the trace shows them. These bytes are
evidence published in public issues; they are test data here, nothing else was taken from those projects.
"""

from __future__ import annotations

from dataclasses import dataclass


def _h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@dataclass(frozen=True)
class Trace:
    source: str
    exchanges: tuple[tuple[bytes, bytes], ...]


# A real CPS3 under the official PKCS#11 library: EF.SN.ICC, EF_ACTUA absent, the PIN counter.
# Source: OpenSC/OpenSC issue #2275 ("IASECC/CPX: get SE data error - 6A 88"), comment of 2021-03-28.
CPS3_OPENSC_2275 = Trace("https://github.com/OpenSC/OpenSC/issues/2275", (
    (_h("00 A4 09 04 04 3F 00 D0 03"), _h("61 27")),
    (_h("00 C0 00 00 27"), _h("62 25 80 02 00 0C 82 01 01 83 02 D0 03 88 01 E0 A1 12 8C 07 7B FF FF FF FF FF 00"
                              " 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00")),
    (_h("00 B0 00 00 0C"), _h("5A 0A 80 25 00 00 01 99 21 38 45 0F 90 00")),
    (_h("00 A4 09 04 04 3F 00 D0 10"), _h("6A 82")),
    (_h("00 A4 09 04 04 3F 00 D0 10"), _h("6A 82")),
    (_h("00 A4 09 0C 04 3F 00 00 01"), _h("90 00")),
    (_h("00 A4 09 0C 02 3F 00"), _h("90 00")),
    (_h("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80"), _h("61 18")),
    (_h("00 C0 00 00 18"), _h("70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00 90 00")),
))

# A real CPx's EF.ATR and EF.DIR selection (the ChipDoc AID of the CPS4 in its EF.ATR, selected with CLA 00).
# Source: OpenSC/OpenSC issue #2223 ("IASECC: iasecc-tools fails when AID is set"), description of 2021-02-07.
CPX_OPENSC_2223 = Trace("https://github.com/OpenSC/OpenSC/issues/2223", (
    (_h("00 A4 00 0C 02 3F 00"), _h("90 00")),
    (_h("00 A4 09 04 02 2F 01"), _h("61 27")),
    (_h("00 C0 00 00 27"), _h("62 25 80 02 00 39 82 01 01 83 02 2F 01 88 01 E8 A1 12 8C 07 7B 45 FF FF FF 45 00"
                              " 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00")),
    (_h("00 B0 00 00 39"), _h("80 43 01 B8 46 04 04 B0 EC C1 47 03 94 01 80 4F 08 80 25 00 00 01 FF 01 00 E0 10"
                              " 02 02 01 04 02 02 01 04 02 02 01 00 02 02 01 00 78 08 06 06 2B 81 22 F8 78 02"
                              " 82 02 90 00 90 00")),
    (_h("00 A4 04 00 08 80 25 00 00 01 FF 01 00"), _h("90 00")),
    (_h("00 A4 09 04 02 2F 00"), _h("61 27")),
    (_h("00 C0 00 00 27"), _h("62 25 80 02 00 65 82 01 01 83 02 2F 00 88 01 F0 A1 12 8C 07 7B 45 FF FF FF 45 00"
                              " 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00")),
))


class RecordedCard:
    """A card that answers exactly as the trace shows, command by command, in order. A command the trace does
    not have next is answered `6D 00` and recorded in `unexpected` (the reader diverged from the real library)."""

    def __init__(self, trace: Trace, atr: bytes) -> None:
        self.trace, self.atr = trace, atr
        self.unexpected: list[bytes] = []
        self.reset()

    def reset(self) -> None:
        self._next = 0

    def process(self, apdu: bytes) -> bytes:
        for i in range(self._next, len(self.trace.exchanges)):
            command, response = self.trace.exchanges[i]
            if command == apdu:
                self._next = i + 1
                return response
        self.unexpected.append(apdu)
        return b"\x6d\x00"
