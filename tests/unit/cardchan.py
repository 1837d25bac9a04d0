"""Test channels over virtual cards: direct, truncating, or answering with fuzzed bytes."""

from __future__ import annotations

from collections.abc import Callable

from drivers.base import CardChannel
from drivers.sim.virtual_cards.vcard import VirtualCard


class CardOnChannel(CardChannel):
    def __init__(self, card: VirtualCard, mangle: Callable[[int, bytes, bytes], bytes] | None = None) -> None:
        self.card, self.mangle = card, mangle
        self.reader, self.atr, self.card_counter = "test", card.atr, 1
        self.sent: list[bytes] = []
        card.reset()

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        response = self.card.process(apdu)
        return self.mangle(len(self.sent), apdu, response) if self.mangle else response

    def begin_transaction(self) -> None: ...
    def end_transaction(self) -> None: ...
    def close(self) -> None: ...
    def current_counter(self) -> int | None:
        return 1
