"""The desk session: a pure state machine fed with reader events, card reads and teleservice answers.

Shaped like python-tuf's `TrustedMetadataSet`: no I/O, no threads, no clock. Callers (the TUI, the headless
service, the demo) do the reading and the calling, and report back here; the machine decides what may be
shown and refuses calls made out of order (`DeskStateError`). Results that arrive for a patient who has
gone (card pulled out, another card in, desk locked meanwhile) are expected races: they are dropped and the
method returns False.

Decisions:
- A Vitale card is read whenever it is inserted, but its data is shown, and INSi / DMP are asked, only
  while a desk session is open: every teleservice call is made under one identified staff card.
- Locking the desk (staff card out, idle lock) drops the teleservice answers and qualifications; reopening
  with the Vitale card still in asks again under the new session.
- One patient at a time: a new Vitale card, or a lookup by traits, replaces the previous patient at once.
"""

from __future__ import annotations

import dataclasses

from kiosk.desk.errors import DeskStateError
from kiosk.desk.events import Problem, Reason
from kiosk.desk.outcomes import DmpOutcome, DmpState, IdDocument, InsiOutcome, InsStatus, ReferenceTraits
from kiosk.desk.view import DeskView, PatientPhase, PatientRow, StaffHolder, StaffPhase, Step, Ticket
from kiosk.domain.patient import Beneficiary, CardNature, VitaleRead

__all__ = ["DeskSession"]

# A lookup by traits has no card: each manual patient gets its own negative counter, so an intent naming
# the previous manual patient (local API) is refused like one naming a card that left.
_MANUAL_LOCK = Problem(Reason.LOCKED_MANUAL)


class DeskSession:
    """One desk: one staff reader, one patient reader. Not thread-safe: callers hold a lock around it."""

    def __init__(self) -> None:
        self._staff = StaffPhase.ABSENT
        self._staff_counter = 0
        self._staff_gone = -1  # the counter of the staff card last removed
        self._holder: StaffHolder | None = None
        self._tries_left: int | None = None
        self._staff_problem: Problem | None = None
        self._lock_problem: Problem | None = None  # why the desk last locked, kept until it opens again
        self._patient = PatientPhase.EMPTY
        self._card_counter = 0
        self._patient_problem: Problem | None = None
        self._nature = CardNature.UNKNOWN  # test and demo cards are marked on screen
        self._rows: dict[int, PatientRow] = {}
        self._manual_traits: ReferenceTraits | None = None
        self._generation = 0  # bumped whenever the patient or the staff session changes
        self._manual_counter = 0

    # ---- what callers may read -------------------------------------------------------------------------------
    def view(self) -> DeskView:
        open_ = self._staff is StaffPhase.OPEN
        return DeskView(
            staff_phase=self._staff,
            holder=self._holder,
            pin_tries_left=self._tries_left,
            staff_problem=self._staff_problem,
            lock_problem=self._lock_problem,
            patient_phase=self._patient,
            card_counter=self._card_counter,
            patient_problem=self._patient_problem,
            card_nature=self._nature,
            rows=tuple(self._rows[i] for i in sorted(self._rows)) if open_ else (),
        )

    @property
    def is_open(self) -> bool:
        return self._staff is StaffPhase.OPEN

    @property
    def staff_counter(self) -> int:
        return self._staff_counter

    @property
    def manual_traits(self) -> ReferenceTraits | None:
        """The traits typed for a patient without a card (for INSi by traits), while that patient is current."""
        return self._manual_traits if self._patient is PatientPhase.MANUAL else None

    @property
    def lookups_due(self) -> bool:
        """The desk is open and some beneficiary has not been asked yet."""
        return self.is_open and any(r.insi_step is Step.IDLE for r in self._rows.values())

    # ---- staff card -------------------------------------------------------------------------------------------
    def staff_inserted(self, counter: int) -> None:
        if self._staff is StaffPhase.OPEN:  # a card swap without a removal event: never carry the session over
            self._close_session()
        self._staff, self._staff_counter = StaffPhase.READING, counter
        self._holder, self._tries_left, self._staff_problem = None, None, None

    def staff_read(self, counter: int, holder: StaffHolder, tries_left: int | None) -> bool:
        if counter != self._staff_counter or counter == self._staff_gone:
            return False  # the card left while it was read (an expected race, like a patient's)
        self._require(self._staff is StaffPhase.READING, Reason.NO_STAFF_READING)
        self._holder, self._tries_left = holder, tries_left
        if tries_left == 0:
            self._staff, self._staff_problem = StaffPhase.BLOCKED, Problem(Reason.PIN_BLOCKED)
        else:
            self._staff = StaffPhase.PIN_REQUIRED
        return True

    def staff_unreadable(self, counter: int, problem: Problem) -> bool:
        if counter != self._staff_counter or counter == self._staff_gone:
            return False
        self._require(self._staff is StaffPhase.READING, Reason.NO_STAFF_READING)
        self._staff, self._staff_problem = StaffPhase.REFUSED, problem
        return True

    def pin_submitted(self) -> int:
        """Staff typed a PIN: returns the card counter the verification must be made against."""
        self._require(self._staff is StaffPhase.PIN_REQUIRED, Reason.NO_PIN_ASKED)
        self._staff, self._staff_problem = StaffPhase.CHECKING_PIN, None
        return self._staff_counter

    def pin_result(self, counter: int, ok: bool, tries_left: int | None) -> bool:
        if counter != self._staff_counter:
            return False
        self._require(self._staff is StaffPhase.CHECKING_PIN, Reason.NO_PIN_CHECK)
        self._tries_left = tries_left
        if ok:
            self._staff, self._staff_problem, self._lock_problem = StaffPhase.OPEN, None, None
            self._generation += 1
        elif tries_left == 0:
            self._staff, self._staff_problem = StaffPhase.BLOCKED, Problem(Reason.PIN_BLOCKED)
        else:
            self._staff, self._staff_problem = StaffPhase.PIN_REQUIRED, Problem(Reason.PIN_WRONG)
        return True

    def pin_failed(self, counter: int, problem: Problem) -> bool:
        """The verification could not be made (reader fault): the PIN is asked again, no try was used."""
        if counter != self._staff_counter:
            return False
        self._require(self._staff is StaffPhase.CHECKING_PIN, Reason.NO_PIN_CHECK)
        self._staff, self._staff_problem = StaffPhase.PIN_REQUIRED, problem
        return True

    def note_lock(self, problem: Problem) -> None:
        """Why the desk is locked (a configuration change restarting the readers): shown until it opens."""
        self._lock_problem = problem

    def staff_removed(self) -> None:
        self._staff_gone = self._staff_counter  # a read still running for that card is dropped when it ends
        self._close_session()
        self._staff, self._holder, self._tries_left, self._staff_problem = StaffPhase.ABSENT, None, None, None

    def lock(self, problem: Problem = _MANUAL_LOCK) -> None:
        """Lock with the staff card still in (V, idle timer, a configuration change): its PIN is asked again."""
        self._require(self._staff is StaffPhase.OPEN, Reason.DESK_NOT_OPEN)
        self._close_session()
        self._staff, self._staff_problem, self._lock_problem = StaffPhase.PIN_REQUIRED, problem, problem

    # ---- patient card -----------------------------------------------------------------------------------------
    def patient_inserted(self, counter: int) -> None:
        self._clear_patient()
        self._patient, self._card_counter = PatientPhase.READING, counter

    def vitale_read(self, read: VitaleRead) -> bool:
        if self._patient is not PatientPhase.READING or read.card_counter != self._card_counter:
            return False  # the card left (or another came) while it was being read
        if not read.beneficiaries:
            self._patient, self._patient_problem = PatientPhase.UNREADABLE, Problem(Reason.NO_BENEFICIARY)
            return True
        self._patient, self._nature = PatientPhase.READ, read.nature
        self._rows = {b.index: PatientRow(b.index, b, sex=_sex_of(b)) for b in read.beneficiaries}
        return True

    def vitale_unreadable(self, counter: int, problem: Problem) -> bool:
        if self._patient is not PatientPhase.READING or counter != self._card_counter:
            return False
        self._patient, self._patient_problem = PatientPhase.UNREADABLE, problem
        return True

    def patient_removed(self) -> bool:
        """The Vitale card left: its patient goes. False when a patient looked up by traits had replaced it."""
        if self._patient is PatientPhase.MANUAL:
            return False
        self._clear_patient()
        return True

    def forget_patient(self) -> None:
        """Readers restarted or lost: whatever patient the desk held goes, a card's or one looked up by traits."""
        self._clear_patient()

    def manual_patient(self, traits: ReferenceTraits) -> None:
        """A patient without a card, looked up by identity traits (INSi `rechercherInsAvecTraitsIdentite`).

        A Vitale card's patient is replaced (the screen asks staff to confirm first); the card may stay in.
        """
        self._require(self.is_open, Reason.DESK_NOT_OPEN)
        self._clear_patient()
        digits = traits.date_naissance.replace("-", "")
        person = Beneficiary(
            index=0, nom_usuel=traits.nom_naissance, prenom=traits.premier_prenom, date_naissance=digits,
            nom_naissance=traits.nom_naissance,
        )
        self._manual_counter -= 1
        self._patient, self._card_counter, self._manual_traits = PatientPhase.MANUAL, self._manual_counter, traits
        self._rows = {0: PatientRow(0, person, sex=traits.sexe)}

    # ---- teleservices -----------------------------------------------------------------------------------------
    def start_lookups(self) -> Ticket:
        """Mark every beneficiary not asked yet as pending; the caller runs INSi then DMP for each."""
        self._require(self.lookups_due, Reason.NOTHING_TO_LOOK_UP)
        indexes = tuple(i for i in sorted(self._rows) if self._rows[i].insi_step is Step.IDLE)
        for i in indexes:
            self._rows[i] = dataclasses.replace(self._rows[i], insi_step=Step.PENDING, dmp_step=Step.IDLE)
        return Ticket(self._generation, self._card_counter, indexes)

    def retry_failed(self) -> bool:
        """Put the beneficiaries whose lookup failed back in line; True when there is something to retry."""
        self._require(self.is_open, Reason.DESK_NOT_OPEN)
        failed = [i for i, r in self._rows.items() if r.insi_step is Step.FAILED or r.dmp_step is Step.FAILED]
        for i in failed:
            row = self._rows[i]
            self._rows[i] = dataclasses.replace(
                row, insi_step=Step.IDLE, insi=None, insi_error=None, dmp_step=Step.IDLE, dmp=None, dmp_error=None
            )
        return bool(failed)

    def insi_result(self, ticket: Ticket, index: int, outcome: InsiOutcome) -> bool:
        row = self._pending(ticket, index, "insi")
        if row is None:
            return False
        # An INS whose key fails is shown, flagged, and never sent on to the DMP (nor to a Web PS page).
        usable = outcome.found and outcome.key_ok
        dmp_step, dmp = (Step.IDLE, None) if usable else (Step.DONE, DmpOutcome(DmpState.NO_INS))
        self._rows[index] = dataclasses.replace(
            row, insi_step=Step.DONE, insi=outcome, insi_error=None, dmp_step=dmp_step, dmp=dmp
        )
        return True

    def insi_failed(self, ticket: Ticket, index: int, problem: Problem) -> bool:
        row = self._pending(ticket, index, "insi")
        if row is None:
            return False
        self._rows[index] = dataclasses.replace(row, insi_step=Step.FAILED, insi_error=problem, dmp_step=Step.SKIPPED)
        return True

    def dmp_started(self, ticket: Ticket, index: int) -> bool:
        if not self._current(ticket):
            return False
        row = self._rows.get(index)
        if row is None or row.insi_step is not Step.DONE or row.dmp_step is not Step.IDLE:
            raise DeskStateError(Reason.DMP_BEFORE_INSI)
        self._rows[index] = dataclasses.replace(row, dmp_step=Step.PENDING)
        return True

    def dmp_result(self, ticket: Ticket, index: int, outcome: DmpOutcome) -> bool:
        row = self._pending(ticket, index, "dmp")
        if row is None:
            return False
        self._rows[index] = dataclasses.replace(row, dmp_step=Step.DONE, dmp=outcome, dmp_error=None)
        return True

    def dmp_failed(self, ticket: Ticket, index: int, problem: Problem) -> bool:
        row = self._pending(ticket, index, "dmp")
        if row is None:
            return False
        self._rows[index] = dataclasses.replace(row, dmp_step=Step.FAILED, dmp_error=problem)
        return True

    # ---- identity vigilance -----------------------------------------------------------------------------------
    def qualify(self, index: int, document: IdDocument) -> InsStatus:
        """Staff checked a high-trust ID document against the reference traits: validée, or qualifiée with an INS."""
        self._require(self.is_open, Reason.DESK_NOT_OPEN)
        row = self._rows.get(index)
        self._require(row is not None, Reason.UNKNOWN_BENEFICIARY)
        assert row is not None
        self._require(row.insi_step is Step.DONE, Reason.WAIT_FOR_INSI)
        if row.insi is not None and row.insi.found and not row.insi.key_ok:
            raise DeskStateError(Reason.INS_KEY_INVALID)
        self._rows[index] = dataclasses.replace(row, document=document)
        return self._rows[index].ins_status

    # ---- internals --------------------------------------------------------------------------------------------
    def _current(self, ticket: Ticket) -> bool:
        return self.is_open and ticket.generation == self._generation and ticket.card_counter == self._card_counter

    def _pending(self, ticket: Ticket, index: int, which: str) -> PatientRow | None:
        if not self._current(ticket):
            return None
        row = self._rows.get(index)
        self._require(row is not None and index in ticket.indexes, Reason.UNKNOWN_BENEFICIARY)
        assert row is not None
        step = row.insi_step if which == "insi" else row.dmp_step
        self._require(step is Step.PENDING, Reason.NO_ANSWER_EXPECTED, which)
        return row

    def _close_session(self) -> None:
        self._generation += 1
        for i, row in self._rows.items():
            # The answers go (asked again under the next staff card); the ID document checked stays.
            self._rows[i] = PatientRow(row.index, row.beneficiary, sex=row.sex, document=row.document)

    def _clear_patient(self) -> None:
        self._generation += 1
        self._patient, self._card_counter, self._patient_problem = PatientPhase.EMPTY, 0, None
        self._rows, self._manual_traits, self._nature = {}, None, CardNature.UNKNOWN

    @staticmethod
    def _require(condition: bool, reason: Reason, detail: str = "") -> None:
        if not condition:
            raise DeskStateError(reason, detail)


def _sex_of(b: Beneficiary) -> str:
    nir = b.nir_individuel or (b.nir_ouvrant_droit if b.is_insured else None)
    return nir.sex if nir is not None else ""
