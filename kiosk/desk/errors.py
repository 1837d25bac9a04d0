"""The desk session's own error: a call the current state does not allow (python-tuf's out-of-order refusal)."""

from __future__ import annotations

from kiosk.errors import KioskError

__all__ = ["CardChangedError", "DeskStateError", "UntraceableError"]


class DeskStateError(KioskError):
    """An intent or event arrived in a state that cannot take it (e.g. a PIN result with no PIN asked).

    The message is French and carries no patient data: the UI may show it as is.
    """


class CardChangedError(DeskStateError):
    """The intent names a patient (card insertion counter or INS) who is no longer the one on the desk."""


class UntraceableError(DeskStateError):
    """The audit journal cannot be written: an action that cannot be traced does not happen."""
