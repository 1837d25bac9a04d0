"""The desk session's own error: a call the current state does not allow (python-tuf's out-of-order refusal)."""

from __future__ import annotations

from kiosk.desk.events import Problem, Reason
from kiosk.errors import KioskError

__all__ = ["CardChangedError", "DeskStateError", "UntraceableError"]


class DeskStateError(KioskError):
    """An intent or event arrived in a state that cannot take it (e.g. a PIN result with no PIN asked).

    It carries a reason code, not a sentence: the screens and the local API render it with the text catalogue
    (`Texts.problem(error.problem)`). Its `str()` is the code, which holds no patient data.
    """

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(reason.value + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.detail = detail

    @property
    def problem(self) -> Problem:
        return Problem(self.reason, self.detail)


class CardChangedError(DeskStateError):
    """The intent names a patient (card insertion counter or INS) who is no longer the one on the desk."""

    def __init__(self, reason: Reason = Reason.CARD_CHANGED, detail: str = "") -> None:
        super().__init__(reason, detail)


class UntraceableError(DeskStateError):
    """The audit journal cannot be written: an action that cannot be traced does not happen."""

    def __init__(self, reason: Reason = Reason.AUDIT_UNAVAILABLE, detail: str = "") -> None:
        super().__init__(reason, detail)
