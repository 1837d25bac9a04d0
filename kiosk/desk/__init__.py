"""The reception desk's session: what may be shown, and when. Pure: no I/O, no threads, no clock."""

from kiosk.desk.errors import CardChangedError, DeskStateError, UntraceableError
from kiosk.desk.outcomes import (
    DmpOutcome,
    DmpState,
    FormerIns,
    IdDocument,
    InsiCode,
    InsiOutcome,
    InsStatus,
    ReferenceTraits,
    TraitDifference,
)
from kiosk.desk.session import DeskSession
from kiosk.desk.view import DeskView, PatientPhase, PatientRow, StaffHolder, StaffPhase, Step, Ticket

__all__ = [
    "CardChangedError",
    "DeskSession",
    "DeskStateError",
    "DeskView",
    "DmpOutcome",
    "DmpState",
    "FormerIns",
    "IdDocument",
    "InsStatus",
    "InsiCode",
    "InsiOutcome",
    "PatientPhase",
    "PatientRow",
    "ReferenceTraits",
    "StaffHolder",
    "StaffPhase",
    "Step",
    "Ticket",
    "TraitDifference",
    "UntraceableError",
]
