"""What a virtual card is, for every transport that carries one (vpcd socket, simulated serial reader, sim backend)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["VirtualCard"]


class VirtualCard(Protocol):
    atr: bytes

    def reset(self) -> None:
        """Power-on or reset: forget the selected application and file, as a real chip does."""

    def process(self, apdu: bytes) -> bytes:
        """One command APDU in, the response APDU (data + SW1 SW2) out. Never raises on a bad command:
        answers with the status word a real card would (6D00, 6A82, 6700...)."""
