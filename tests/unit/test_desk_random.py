"""Random event storms on the desk session: only `DeskStateError` may escape, and its invariants always hold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.desk import DeskSession, DeskStateError, DmpOutcome, DmpState, IdDocument, PatientPhase, StaffPhase
from kiosk.desk.events import Problem, Reason
from tests.unit.test_desk_session import ADRTROIS, HOLDER, NOT_FOUND, family

X = Problem(Reason.READER_UNREACHABLE)
OPS = st.lists(
    st.tuples(
        st.sampled_from([
            "staff_in", "staff_read", "staff_read0", "pin", "pin_ok", "pin_bad", "pin_fail", "staff_out", "lock",
            "vitale_in", "vitale_read", "vitale_out", "start", "insi", "insi_nf", "insi_fail", "dmp_start",
            "dmp", "dmp_fail", "qualify", "retry",
        ]),
        st.integers(0, 3),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(OPS)
def test_invariants_hold_under_any_sequence(ops) -> None:
    s = DeskSession()
    tickets = []
    counter = 10
    removed_counters: set[int] = set()
    for op, n in ops:
        counter += 1
        try:
            match op:
                case "staff_in": s.staff_inserted(counter)
                case "staff_read": s.staff_read(s.staff_counter, HOLDER, 3)
                case "staff_read0": s.staff_read(s.staff_counter, HOLDER, 0)
                case "pin": s.pin_submitted()
                case "pin_ok": s.pin_result(s.staff_counter, True, 3)
                case "pin_bad": s.pin_result(s.staff_counter, False, n)
                case "pin_fail": s.pin_failed(s.staff_counter, X)
                case "staff_out": s.staff_removed()
                case "lock": s.lock()
                case "vitale_in": s.patient_inserted(counter)
                case "vitale_read": s.vitale_read(family(s.view().card_counter))
                case "vitale_out":
                    removed_counters.add(s.view().card_counter)
                    s.patient_removed()
                case "start": tickets.append(s.start_lookups())
                case "insi" if tickets: s.insi_result(tickets[n % len(tickets)], n % 2, ADRTROIS)
                case "insi_nf" if tickets: s.insi_result(tickets[n % len(tickets)], n % 2, NOT_FOUND)
                case "insi_fail" if tickets: s.insi_failed(tickets[n % len(tickets)], n % 2, X)
                case "dmp_start" if tickets: s.dmp_started(tickets[n % len(tickets)], n % 2)
                case "dmp" if tickets: s.dmp_result(tickets[n % len(tickets)], n % 2, DmpOutcome(DmpState.CLOSED))
                case "dmp_fail" if tickets: s.dmp_failed(tickets[n % len(tickets)], n % 2, X)
                case "qualify": s.qualify(n % 2, IdDocument.CNI)
                case "retry": s.retry_failed()
        except DeskStateError:
            pass
        v = s.view()
        if not v.is_open:
            assert v.rows == ()
        if v.patient_phase in (PatientPhase.EMPTY, PatientPhase.READING):
            assert v.rows == ()
        if v.staff_phase is StaffPhase.ABSENT:
            assert v.holder is None
        for r in v.rows:
            if r.insi is not None or r.document is not None:
                assert v.is_open
