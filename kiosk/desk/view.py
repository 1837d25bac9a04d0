"""Immutable snapshots of the desk, for the screens, the JSON journal and the local API.

A snapshot is taken under the session's lock and handed to other threads as is: nothing in it changes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kiosk.desk.events import Problem
from kiosk.desk.outcomes import (
    DmpOutcome,
    IdDocument,
    InsiOutcome,
    InsStatus,
    TraitDifference,
    trait_differences,
)
from kiosk.domain.patient import Beneficiary, CardNature

__all__ = ["DeskView", "PatientPhase", "PatientRow", "StaffHolder", "StaffPhase", "Step", "Ticket"]


class StaffPhase(str, enum.Enum):
    ABSENT = "absent"  # no staff card: the desk is locked
    READING = "reading"
    REFUSED = "refused"  # not a CPx card, or unreadable
    PIN_REQUIRED = "pin_required"
    CHECKING_PIN = "checking_pin"
    BLOCKED = "blocked"  # no PIN try left
    OPEN = "open"


class PatientPhase(str, enum.Enum):
    EMPTY = "empty"
    READING = "reading"
    UNREADABLE = "unreadable"
    READ = "read"  # a Vitale card is in and was read
    MANUAL = "manual"  # a patient without a card, looked up by traits


class Step(str, enum.Enum):
    IDLE = "idle"  # not asked yet (the desk is locked, or waiting for INSi before the DMP)
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # the DMP is not asked when INSi failed


@dataclass(frozen=True)
class StaffHolder:
    """The staff card's holder, as read from its authentication certificate (no PIN needed)."""

    name: str
    id_nat: str  # national identifier (IdNat), e.g. 3<FINESS>/<n> for establishment staff
    card_type: str = ""  # CPE, CPS, CPF...
    profession: str = ""
    organisation: str = ""


@dataclass(frozen=True)
class Ticket:
    """Ties a batch of lookups to one patient presence: results carrying an older ticket are dropped."""

    generation: int
    card_counter: int
    indexes: tuple[int, ...]


@dataclass(frozen=True)
class PatientRow:
    index: int
    beneficiary: Beneficiary
    sex: str = ""  # M / F from the NIR, or as entered for a lookup by traits
    insi_step: Step = Step.IDLE
    insi: InsiOutcome | None = None
    insi_error: Problem | None = None
    dmp_step: Step = Step.IDLE
    dmp: DmpOutcome | None = None
    dmp_error: Problem | None = None
    document: IdDocument | None = None

    @property
    def ins_status(self) -> InsStatus:
        has_ins = self.insi is not None and self.insi.found and self.insi.key_ok
        if self.document is not None:
            return InsStatus.QUALIFIEE if has_ins else InsStatus.VALIDEE
        return InsStatus.RECUPEREE if has_ins else InsStatus.PROVISOIRE

    @property
    def differences(self) -> tuple[TraitDifference, ...]:
        if self.insi is None or self.insi.traits is None:
            return ()
        b = self.beneficiary
        return trait_differences(b.birth_name, b.prenom, b.date_naissance, self.sex, self.insi.traits)

    @property
    def settled(self) -> bool:
        """Both lookups have an answer (or failed): nothing more will arrive for this row."""
        return self.insi_step in (Step.DONE, Step.FAILED) and self.dmp_step in (Step.DONE, Step.FAILED, Step.SKIPPED)


@dataclass(frozen=True)
class DeskView:
    staff_phase: StaffPhase = StaffPhase.ABSENT
    holder: StaffHolder | None = None
    pin_tries_left: int | None = None
    staff_problem: Problem | None = None  # why the PIN is asked again, why the card was refused...
    patient_phase: PatientPhase = PatientPhase.EMPTY
    card_counter: int = 0
    lock_problem: Problem | None = None  # why the desk last locked (until it opens again)
    patient_problem: Problem | None = None  # why the card could not be read
    card_nature: CardNature = CardNature.UNKNOWN
    rows: tuple[PatientRow, ...] = field(default=())  # empty unless the desk is open: data shown only then

    @property
    def is_open(self) -> bool:
        return self.staff_phase is StaffPhase.OPEN

    @property
    def test_card(self) -> bool:
        """The card shown is a test or demo card: every screen with its data says so."""
        return self.card_nature in (CardNature.TEST, CardNature.DEMO)

    @property
    def patient_present(self) -> bool:
        return self.patient_phase is not PatientPhase.EMPTY

    def row(self, index: int) -> PatientRow | None:
        return next((r for r in self.rows if r.index == index), None)
