"""The desk session state machine, driven directly (no readers, no servers): every transition and refusal."""

from __future__ import annotations

import pytest

from kiosk.desk import (
    DeskSession,
    DeskStateError,
    DmpOutcome,
    DmpState,
    IdDocument,
    InsiCode,
    InsiOutcome,
    InsStatus,
    PatientPhase,
    ReferenceTraits,
    StaffHolder,
    StaffPhase,
    Step,
    Ticket,
)
from kiosk.desk.events import Problem, Reason
from kiosk.domain.ins import parse_matricule
from kiosk.domain.patient import Beneficiary, VitaleRead

HOLDER = StaffHolder("Claire ACCUEIL", "3760021832/000000018", "CPE", "Secrétaire", "CH Test")


def family(counter: int = 7) -> VitaleRead:
    od = parse_matricule("297022A02077878")
    kid = parse_matricule("109076322083489")
    return VitaleRead(
        reader="vitale",
        card_counter=counter,
        beneficiaries=(
            Beneficiary(0, "ADRTROIS", "DOMINIQUE", "19970226", qualite="00", nir_ouvrant_droit=od),
            Beneficiary(1, "ECETINSI", "PIERRE-ALAIN", "20090714", qualite="06", nir_individuel=kid,
                        nir_ouvrant_droit=od, rang_naissance="1"),
        ),
    )


def found(value: str, nom: str, prenoms: tuple[str, ...], sexe: str, date: str) -> InsiOutcome:
    m = parse_matricule(value, strict=False)
    return InsiOutcome(InsiCode.FOUND, "OK", m, "1.2.250.1.213.1.4.8",
                       traits=ReferenceTraits(nom, prenoms, sexe, date, "63220"))


ADRTROIS = found("297022A02077878", "ADRTROIS", ("DOMINIQUE",), "F", "1997-02-26")
ECETINSI = found("109076322083489", "ECETINSI", ("PIERRE-ALAIN",), "M", "2009-07-14")
NOT_FOUND = InsiOutcome(InsiCode.NOT_FOUND, "Aucune identité trouvée")


def open_desk(s: DeskSession, counter: int = 3) -> None:
    s.staff_inserted(counter)
    assert s.staff_read(counter, HOLDER, tries_left=3)
    assert s.pin_submitted() == counter
    assert s.pin_result(counter, ok=True, tries_left=3)


def looking_up() -> tuple[DeskSession, Ticket]:
    """A desk open on the family card, its lookups started (no answer yet)."""
    s = DeskSession()
    open_desk(s)
    s.patient_inserted(7)
    s.vitale_read(family())
    return s, s.start_lookups()


def test_starts_locked_with_nothing_shown() -> None:
    v = DeskSession().view()
    assert v.staff_phase is StaffPhase.ABSENT and not v.is_open and v.rows == () and not v.patient_present


def test_staff_login_wrong_pin_then_right_pin() -> None:
    s = DeskSession()
    s.staff_inserted(1)
    assert s.view().staff_phase is StaffPhase.READING
    s.staff_read(1, HOLDER, tries_left=3)
    assert s.view().staff_phase is StaffPhase.PIN_REQUIRED and s.view().holder == HOLDER
    s.pin_submitted()
    assert s.view().staff_phase is StaffPhase.CHECKING_PIN
    s.pin_result(1, ok=False, tries_left=2)
    v = s.view()
    assert (
        v.staff_phase is StaffPhase.PIN_REQUIRED
        and v.pin_tries_left == 2
        and v.staff_problem == Problem(Reason.PIN_WRONG)
    )
    s.pin_submitted()
    s.pin_result(1, ok=True, tries_left=3)
    assert s.view().is_open and s.view().staff_problem is None


def test_pin_blocked_after_last_try_and_blocked_card_never_asks_pin() -> None:
    s = DeskSession()
    s.staff_inserted(1)
    s.staff_read(1, HOLDER, tries_left=1)
    s.pin_submitted()
    s.pin_result(1, ok=False, tries_left=0)
    assert s.view().staff_phase is StaffPhase.BLOCKED
    with pytest.raises(DeskStateError):
        s.pin_submitted()
    s.staff_inserted(2)
    s.staff_read(2, HOLDER, tries_left=0)
    assert s.view().staff_phase is StaffPhase.BLOCKED


def test_unreadable_staff_card_and_reader_fault_during_pin() -> None:
    s = DeskSession()
    s.staff_inserted(1)
    s.staff_unreadable(1, Problem(Reason.CARD_DATA_INVALID))
    assert s.view().staff_phase is StaffPhase.REFUSED and s.view().staff_problem == Problem(Reason.CARD_DATA_INVALID)
    s.staff_inserted(2)
    s.staff_read(2, HOLDER, 3)
    s.pin_submitted()
    s.pin_failed(2, Problem(Reason.READER_UNREACHABLE))
    assert s.view().staff_phase is StaffPhase.PIN_REQUIRED and s.view().pin_tries_left == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.pin_submitted(),
        lambda s: s.pin_result(0, True, 3),
        lambda s: s.pin_failed(0, Problem(Reason.READER_UNREACHABLE)),
        lambda s: s.staff_read(0, HOLDER, 3),
        lambda s: s.staff_unreadable(0, Problem(Reason.READER_UNREACHABLE)),
        lambda s: s.lock(),
        lambda s: s.start_lookups(),
        lambda s: s.retry_failed(),
        lambda s: s.qualify(0, IdDocument.CNI),
        lambda s: s.manual_patient(ReferenceTraits("HOUILLES", ("PIERRE",), "M", "1993-01-27", "63220")),
    ],
)
def test_out_of_order_calls_are_refused(call) -> None:
    with pytest.raises(DeskStateError):
        call(DeskSession())


def test_stale_staff_answers_are_dropped() -> None:
    s = DeskSession()
    s.staff_inserted(1)
    s.staff_inserted(2)  # the first card left and another came before its read finished
    assert s.staff_read(1, HOLDER, 3) is False
    assert s.view().staff_phase is StaffPhase.READING
    s.staff_read(2, HOLDER, 3)
    s.pin_submitted()
    assert s.pin_result(1, True, 3) is False and s.view().staff_phase is StaffPhase.CHECKING_PIN


def test_vitale_read_while_locked_shows_nothing_and_asks_nothing() -> None:
    s = DeskSession()
    s.patient_inserted(7)
    assert s.vitale_read(family())
    v = s.view()
    assert v.patient_phase is PatientPhase.READ and v.rows == () and not s.lookups_due
    open_desk(s)
    assert s.lookups_due and len(s.view().rows) == 2


def test_full_flow_results_as_they_arrive() -> None:
    s = DeskSession()
    open_desk(s)
    s.patient_inserted(7)
    assert s.view().patient_phase is PatientPhase.READING
    s.vitale_read(family())
    ticket = s.start_lookups()
    assert ticket.indexes == (0, 1) and not s.lookups_due
    assert all(r.insi_step is Step.PENDING for r in s.view().rows)
    s.insi_result(ticket, 1, ECETINSI)  # the second one answers first
    r1 = s.view().row(1)
    assert r1.insi_step is Step.DONE and r1.ins_status is InsStatus.RECUPEREE and r1.dmp_step is Step.IDLE
    assert s.view().row(0).insi_step is Step.PENDING
    s.dmp_started(ticket, 1)
    assert s.view().row(1).dmp_step is Step.PENDING
    s.dmp_result(ticket, 1, DmpOutcome(DmpState.AUTHORISED))
    assert s.view().row(1).settled
    s.insi_result(ticket, 0, ADRTROIS)
    s.dmp_started(ticket, 0)
    s.dmp_failed(ticket, 0, Problem(Reason.SERVICE_DOWN, service="DMP"))
    r0 = s.view().row(0)
    assert r0.dmp_step is Step.FAILED and r0.dmp_error == Problem(Reason.SERVICE_DOWN, service="DMP") and r0.settled


def test_not_found_identity_skips_the_dmp() -> None:
    s, t = looking_up()
    s.insi_result(t, 0, NOT_FOUND)
    r = s.view().row(0)
    assert r.dmp_step is Step.DONE and r.dmp.state is DmpState.NO_INS and r.ins_status is InsStatus.PROVISOIRE
    with pytest.raises(DeskStateError):
        s.dmp_started(t, 0)


def test_insi_failure_and_retry() -> None:
    s, t = looking_up()
    s.insi_failed(t, 0, Problem(Reason.NETWORK_DOWN, service="INSi"))
    assert s.view().row(0).dmp_step is Step.SKIPPED and s.view().row(0).settled
    with pytest.raises(DeskStateError):
        s.insi_result(t, 0, ADRTROIS)  # no answer expected any more for that one
    assert s.retry_failed() and s.lookups_due
    t2 = s.start_lookups()
    assert t2.indexes == (0,)
    s.insi_result(t2, 0, ADRTROIS)
    assert s.view().row(0).insi_step is Step.DONE
    assert s.retry_failed() is False


def test_card_pulled_out_mid_lookup_clears_at_once_and_drops_late_results() -> None:
    s, t = looking_up()
    s.insi_result(t, 0, ADRTROIS)
    s.patient_removed()
    v = s.view()
    assert v.rows == () and v.patient_phase is PatientPhase.EMPTY
    assert s.insi_result(t, 1, ECETINSI) is False
    assert s.dmp_started(t, 0) is False and s.dmp_result(t, 0, DmpOutcome(DmpState.CLOSED)) is False
    # a new card gets a new ticket; the old one stays dead even for the same indexes
    s.patient_inserted(8)
    s.vitale_read(family(8))
    t2 = s.start_lookups()
    assert s.insi_result(t, 0, ADRTROIS) is False and s.insi_result(t2, 0, ADRTROIS) is True


def test_one_patient_at_a_time_new_card_replaces_the_previous() -> None:
    s = DeskSession()
    open_desk(s)
    s.patient_inserted(7)
    s.vitale_read(family(7))
    s.patient_inserted(9)  # no removal event seen (fast swap): the old patient goes anyway
    assert s.view().rows == () and s.view().patient_phase is PatientPhase.READING
    assert s.vitale_read(family(7)) is False  # the first card's read, late
    assert s.vitale_read(family(9)) is True


def test_staff_removal_locks_at_once_and_reopen_asks_again() -> None:
    s, t = looking_up()
    s.insi_result(t, 0, ADRTROIS)
    s.staff_removed()
    v = s.view()
    assert not v.is_open and v.rows == () and v.holder is None and v.patient_present
    assert s.insi_result(t, 1, ECETINSI) is False
    open_desk(s, counter=4)
    assert s.lookups_due and all(r.insi_step is Step.IDLE and r.insi is None for r in s.view().rows)


def test_idle_lock_asks_pin_again() -> None:
    s = DeskSession()
    open_desk(s)
    s.lock(Problem(Reason.LOCKED_IDLE))
    v = s.view()
    assert v.staff_phase is StaffPhase.PIN_REQUIRED and v.staff_problem == v.lock_problem == Problem(Reason.LOCKED_IDLE)
    s.pin_submitted()
    s.pin_result(3, True, 3)
    assert s.view().is_open


def test_staff_card_swap_without_removal_closes_the_session() -> None:
    s = DeskSession()
    open_desk(s)
    s.staff_inserted(5)
    assert not s.view().is_open and s.view().holder is None


def test_qualification_statuses() -> None:
    s, t = looking_up()
    with pytest.raises(DeskStateError):
        s.qualify(0, IdDocument.CNI)  # INSi has not answered yet
    s.insi_result(t, 0, ADRTROIS)
    s.insi_result(t, 1, NOT_FOUND)
    assert s.qualify(0, IdDocument.PASSEPORT) is InsStatus.QUALIFIEE
    assert s.qualify(1, IdDocument.LIVRET_FAMILLE) is InsStatus.VALIDEE
    with pytest.raises(DeskStateError):
        s.qualify(5, IdDocument.CNI)
    s.staff_removed()
    open_desk(s, 4)  # a lock is not a loss: the ID documents checked during this insertion stay (issue 15.4)
    assert [r.document for r in s.view().rows] == [IdDocument.PASSEPORT, IdDocument.LIVRET_FAMILLE]


def test_inconsistent_key_is_shown_flagged_and_never_qualified() -> None:
    s, t = looking_up()
    hermann = found("181036322045660", "HERMANN", ("GATIEN",), "M", "1981-03-24")
    s.insi_result(t, 0, hermann)
    r = s.view().row(0)
    assert r.insi.found and not r.insi.key_ok and r.ins_status is InsStatus.PROVISOIRE
    with pytest.raises(DeskStateError, match=Reason.INS_KEY_INVALID.value):
        s.qualify(0, IdDocument.CNI)


def test_trait_differences_are_found_and_tolerant_of_accents() -> None:
    s, t = looking_up()
    s.insi_result(t, 1, found("109076322083489", "Écétinsi", ("PIERRE ALAIN", "JEAN"), "M", "2009-07-14"))
    assert s.view().row(1).differences == ()
    s.insi_result(t, 0, found("297022A02077878", "ADRTROIS-MARTIN", ("DOMI",), "F", "1997-02-27"))
    diffs = {d.trait for d in s.view().row(0).differences}
    assert diffs == {"nom de naissance", "prénom", "date de naissance"}


def test_empty_or_unreadable_vitale() -> None:
    s = DeskSession()
    open_desk(s)
    s.patient_inserted(7)
    s.vitale_read(VitaleRead("vitale", 7, ()))
    assert s.view().patient_phase is PatientPhase.UNREADABLE and not s.lookups_due
    s.patient_inserted(8)
    assert s.vitale_unreadable(7, Problem(Reason.CARD_DATA_INVALID)) is False
    s.vitale_unreadable(8, Problem(Reason.CARD_DATA_INVALID))
    assert s.view().patient_problem == Problem(Reason.CARD_DATA_INVALID)


def test_lookup_by_traits_for_a_patient_without_card() -> None:
    s = DeskSession()
    open_desk(s)
    traits = ReferenceTraits("HOUILLES", ("PIERRE",), "M", "1993-01-27", "63220")
    s.manual_patient(traits)
    v = s.view()
    assert v.patient_phase is PatientPhase.MANUAL and v.rows[0].beneficiary.date_naissance == "19930127"
    assert s.manual_traits == traits and s.lookups_due
    t = s.start_lookups()
    s.insi_result(t, 0, NOT_FOUND)
    assert s.view().row(0).ins_status is InsStatus.PROVISOIRE
    s.patient_inserted(7)  # a card arrives: it replaces the typed patient
    assert s.manual_traits is None
    s.vitale_read(family())
    s.manual_patient(traits)  # a child INSi does not know from the parent's card: the card's patient is replaced
    assert s.view().patient_phase is PatientPhase.MANUAL and len(s.view().rows) == 1
    assert s.patient_removed() is False and s.view().patient_phase is PatientPhase.MANUAL  # card out: kept
    s.forget_patient()
    assert s.view().patient_phase is PatientPhase.EMPTY


def test_a_lock_keeps_the_id_documents_of_this_insertion_and_asks_again() -> None:
    s, t = looking_up()
    s.insi_result(t, 0, ADRTROIS)
    s.qualify(0, IdDocument.CNI)
    s.lock()
    assert s.view().lock_problem == Problem(Reason.LOCKED_MANUAL) and s.view().rows == ()
    s.pin_submitted()
    s.pin_result(s.staff_counter, True, 3)
    v = s.view()
    assert v.lock_problem is None and v.row(0).document is IdDocument.CNI and v.row(0).insi is None
    assert s.lookups_due
    t2 = s.start_lookups()
    s.insi_result(t2, 0, ADRTROIS)
    assert s.view().row(0).ins_status is InsStatus.QUALIFIEE


def test_results_for_another_beneficiary_or_twice_are_refused() -> None:
    s, t = looking_up()
    with pytest.raises(DeskStateError):
        s.insi_result(t, 4, ADRTROIS)
    s.insi_result(t, 0, ADRTROIS)
    with pytest.raises(DeskStateError):
        s.insi_result(t, 0, ADRTROIS)
    with pytest.raises(DeskStateError):
        s.dmp_result(t, 0, DmpOutcome(DmpState.AUTHORISED))  # dmp_started first


def test_view_never_reveals_patient_data_in_repr() -> None:
    s, t = looking_up()
    s.insi_result(t, 0, ADRTROIS)
    text = repr(s.view())
    for secret in ("ADRTROIS", "DOMINIQUE", "1997", "297022A020778"):
        assert secret not in text


def test_inconsistent_key_never_reaches_the_dmp() -> None:
    s, t = looking_up()
    s.insi_result(t, 0, found("181036322045660", "HERMANN", ("GATIEN",), "M", "1981-03-24"))
    r = s.view().row(0)
    assert r.dmp_step is Step.DONE and r.dmp.state is DmpState.NO_INS
    with pytest.raises(DeskStateError):
        s.dmp_started(t, 0)
