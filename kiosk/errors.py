"""The kiosk's error roots. Each maps to one CLI exit code (see `kiosk.exitcodes`).

Messages are safe to print anywhere: patient values appear masked or not at all. Foreign exceptions are
wrapped at the boundary (`raise TeleserviceError(...) from e`) so callers catch ours only.
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.errors import CardDataError, ReaderError

__all__ = ["CardDataError", "ConfigError", "KioskError", "NotFoundError", "ReaderError", "TeleserviceError"]


class KioskError(Exception):
    """Root of the kiosk's own errors (drivers' errors have their own root, `drivers.errors.DriverError`)."""


class ConfigError(KioskError):
    """Configuration missing, unreadable or invalid. `problems` lists every one found."""

    def __init__(self, message: str, problems: Sequence[object] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class TeleserviceError(KioskError):
    """INSi, DMP, param-lps or fleet server unreachable, refused us, or answered something unusable."""


class NotFoundError(KioskError):
    """A negative answer: nothing matches (exit code 1, not a failure)."""
