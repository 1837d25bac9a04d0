"""Helpers for the PC/SC integration tests."""

from __future__ import annotations

import time

from tests.support.patience import PATIENCE_S

READERS = ("Virtual PCD 00 00", "Virtual PCD 00 01")


def wait_empty(slot: int, timeout: float = PATIENCE_S) -> None:
    """Wait until pcscd sees vpcd slot `slot` empty: vpcd notices a closed socket at its next presence poll,
    and a card connected before that looks like the same card to pcscd (no hand swaps cards that fast)."""
    from drivers.pcsc.backend import PcscBackend

    name = READERS[slot]
    deadline = time.monotonic() + timeout
    while any(r.name == name and r.card_present for r in PcscBackend().readers()):
        assert time.monotonic() < deadline, f"{name} still shows a card"
        time.sleep(0.05)
