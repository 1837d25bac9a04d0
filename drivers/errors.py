"""Errors of the hardware layer. The kiosk core re-exports them (`kiosk.errors`)."""

from __future__ import annotations

__all__ = ["CardDataError", "CardSwappedError", "DriverError", "ReaderError"]


class DriverError(Exception):
    """Root of the drivers' errors."""


class ReaderError(DriverError):
    """The reader or its transport failed: unplugged, pcscd gone, serial line silent, no card."""


class CardSwappedError(ReaderError):
    """The card in the reader is not the one that was read: a stale read must not be used."""


class CardDataError(DriverError):
    """The card answered, but its data is malformed or not what its family promises."""
