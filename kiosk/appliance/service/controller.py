"""The desk controller: reader events and staff intents in, blocking work on worker threads, snapshots out.

It owns the pure `DeskSession` behind one lock and does what the session cannot: read cards, verify the PIN,
call INSi then the DMP for each beneficiary (results reported as they arrive), open or print Web PS pages,
and journal every desk action. Listeners (the TUI, the JSON-lines journal, the API) receive
`(DeskView, DeskEvent)` after each change; they are called on worker or reader threads and must not block.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from drivers.errors import CardDataError, ReaderError
from kiosk.appliance.service.audit import AuditJournal
from kiosk.appliance.service.his_desk import HisDesk
from kiosk.appliance.service.ports import CardEvent, CardEventKind, DeskPorts, LookupStep, LookupUpdate, Role
from kiosk.appliance.service.problems import problem_of
from kiosk.desk import (
    CardChangedError,
    DeskSession,
    DeskStateError,
    DeskView,
    IdDocument,
    InsStatus,
    PatientPhase,
    ReferenceTraits,
    StaffPhase,
    Ticket,
    UntraceableError,
)
from kiosk.desk.events import DeskEvent, EventKind, JournalAction, Problem, Reason
from kiosk.desk.texts import Texts
from kiosk.domain.patient import VitaleRead
from kiosk.errors import KioskError, TeleserviceError

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["DeskController", "DeskEvent", "EventKind"]

log = logging.getLogger(__name__)
VITALE_FRESH_S = 20 * 60  # the INSi "Vitale assertion" goes stale after about 20 minutes (teleservices.md)


Listener = Callable[[DeskView, DeskEvent], None]


class DeskController:
    def __init__(
        self, ports: DeskPorts, *, texts: Texts | None = None, audit: AuditJournal | None = None, workers: int = 6
    ) -> None:
        self.ports = ports
        self.texts = texts or Texts()
        self.audit = audit
        self._session = DeskSession()
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="desk")
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._readers: dict[Role, str] = {}
        self._vitale: VitaleRead | None = None  # the card's data, in memory only while it is in the reader
        self._vitale_at = 0.0  # monotonic time of that read
        self._pages = 0  # bumped when the desk's browser windows are closed: a page still opening is dropped
        self._traceable = True  # False once an audit entry could not be written: patient actions are refused
        self.his = self._his_desk(ports)  # the hospital system side (issue 17): PDQ candidates, identity sends

    # ---- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.ports.start_readers(self.on_card_event)

    def stop(self) -> None:
        self.ports.close_pages()
        self.ports.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._vitale = None

    def replace_ports(self, ports: DeskPorts, problem: Problem | None = None) -> None:
        """New readers: restart on the new ports. Cards still in are reported again, so the staff PIN is
        asked again: a session never survives a change of readers. `problem` says why, on the lock screen."""
        with self._lock:
            self._close_pages()
            holder = self._session.view().holder
            if self._session.is_open and holder is not None:
                self._journal(JournalAction.DESK_LOCKED, Reason.LOCKED_CONFIG.value, holder.id_nat)
        self.ports.stop()
        with self._lock:
            self.ports = ports
            self.his = self._his_desk(ports)
            self._vitale = None
            self._session.staff_removed()  # both bump the session's generation: late answers are dropped
            self._session.forget_patient()
            if problem is not None:
                self._session.note_lock(problem)
            self._emit(EventKind.READERS_RESTARTED, **({"problem": problem} if problem else {}))
        ports.start_readers(self.on_card_event)

    def reconfigure(self, config: Config) -> None:
        """Same readers, new settings for the services, the Web PS or the printer: the session goes on."""
        with self._lock:
            self.ports.reconfigure(config)

    def notice(self, kind: EventKind, **data: Any) -> None:
        """Tell the listeners something that does not change the desk (a refused configuration...)."""
        with self._lock:
            self._emit(kind, **data)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def view(self) -> DeskView:
        with self._lock:
            return self._session.view()

    def vitale(self) -> VitaleRead | None:
        """The current card's data, only while the desk is open (for the local API)."""
        with self._lock:
            return self._vitale if self._session.is_open else None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no worker is running (tests, the scripted demo)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    # ---- reader events (called on the backend's thread: no blocking here) -------------------------------------
    def on_card_event(self, event: CardEvent) -> None:
        with self._lock:
            if event.kind is CardEventKind.BACKEND_DOWN:
                # Cards can no longer be watched: a pulled-out card would go unseen, so lock and forget now.
                # The backend reports the cards still in as inserted when it is back (PIN asked again).
                self._close_pages()
                holder = self._session.view().holder
                if self._session.is_open and holder is not None:
                    self._journal(JournalAction.DESK_LOCKED, Reason.LOCKED_READERS_DOWN.value, holder.id_nat)
                self._vitale = None
                self._session.staff_removed()
                self._session.forget_patient()
                self.his.clear()
                self._emit(EventKind.READERS_DOWN, problem=Problem(Reason.READERS_DOWN))
                return
            if event.kind is CardEventKind.BACKEND_UP:
                self._emit(EventKind.READERS_UP)
                return
            assert event.role is not None
            self._readers[event.role] = event.reader
            if event.role is Role.STAFF:
                self._staff_event(event)
            else:
                self._patient_event(event)

    def _staff_event(self, event: CardEvent) -> None:
        if event.kind is CardEventKind.INSERTED:
            self._close_pages()
            self._session.staff_inserted(event.counter)
            self._emit(EventKind.STAFF_CARD_INSERTED, reader=event.reader)
            self._submit(self._read_staff, event.reader, event.counter)
        else:
            self._close_pages()
            was_open = self._session.is_open
            holder = self._session.view().holder
            self._session.staff_removed()
            self.his.clear()
            if was_open and holder is not None:
                self._journal(JournalAction.DESK_LOCKED, "staff_card_removed", holder.id_nat)
            self._emit(EventKind.DESK_LOCKED if was_open else EventKind.STAFF_CARD_REMOVED)

    def _patient_event(self, event: CardEvent) -> None:
        self._close_pages()
        self.his.clear()
        if event.kind is CardEventKind.INSERTED:
            self._vitale = None
            self._session.patient_inserted(event.counter)
            self._emit(EventKind.VITALE_INSERTED, reader=event.reader)
            self._submit(self._read_vitale, event.reader, event.counter)
        else:
            self._vitale = None
            if self._session.patient_removed():
                self._emit(EventKind.PATIENT_CLEARED, problem=Problem(Reason.PATIENT_CLEARED))

    # ---- staff intents ----------------------------------------------------------------------------------------
    def submit_pin(self, pin: str, *, origin: str = "desk", spare_last_try: bool = False) -> None:
        """Raises DeskStateError when no PIN is asked. `origin`: "desk" or "api:<uid>", journaled with the
        attempt; `spare_last_try` (the local API): refused when the card has one try left or an unknown count,
        so that only the receptionist, warned on screen, can use the last one."""
        with self._lock:
            v = self._session.view()
            if v.staff_phase is StaffPhase.PIN_REQUIRED:  # otherwise pin_submitted() below says why not
                if spare_last_try and (v.pin_tries_left or 0) <= 1:
                    self._emit(EventKind.PIN_DESK_ONLY, problem=Problem(Reason.PIN_DESK_ONLY))
                    raise DeskStateError(Reason.PIN_DESK_ONLY)
                self._require_traceable()
                staff = v.holder.id_nat if v.holder else ""
                if not self._journal(JournalAction.PIN_SUBMITTED, "checking", staff, origin=origin):
                    raise UntraceableError()
            counter = self._session.pin_submitted()
            reader = self._readers.get(Role.STAFF, "")
            self._emit(EventKind.PIN_CHECKING)
        self._submit(self._verify_pin, reader, counter, pin)

    def lock(self, reason: Reason = Reason.LOCKED_MANUAL, detail: str = "") -> None:
        """Lock with the staff card in: V (manual), the idle timer, or a configuration change that matters."""
        with self._lock:
            holder = self._session.view().holder
            self._session.lock(Problem(reason, detail))
            self._close_pages()
            self.his.clear()
            self._journal(JournalAction.DESK_LOCKED, reason.value, holder.id_nat if holder else "")
            self._emit(EventKind.DESK_LOCKED, problem=Problem(reason, detail))

    def retry(self) -> bool:
        with self._lock:
            again = self._session.retry_failed()
            if again:
                self._start_lookups()
            return again

    def lookup_traits(self, traits: ReferenceTraits) -> None:
        """A patient looked up by traits replaces the current one (a card's patient too: the screen confirmed)."""
        with self._lock:
            self._require_traceable()
            self._session.manual_patient(traits)
            self._close_pages()
            self.his.clear()
            self._emit(EventKind.MANUAL_PATIENT)
            self._start_lookups()

    def qualify(
        self, index: int, document: IdDocument, *, card: int | None = None, ins: str | None = None
    ) -> InsStatus:
        """`card` / `ins`: what the caller saw (local API); refused when the desk now shows another patient."""
        with self._lock:
            self._expect_patient(index, card, ins)
            self._require_traceable()
            status = self._session.qualify(index, document)
            row = self._session.view().row(index)
            assert row is not None
            target = row.insi.ins if row.insi else None
            self._journal(JournalAction.ID_DOCUMENT_CHECKED, status.value, self._staff_id(), target,
                          document=document.name)
            self._emit(EventKind.QUALIFIED, index=index, status=status, document=document)
            if status is InsStatus.QUALIFIEE:  # the INS may now be asked for: PDQ again, by INS
                self.his.begin(self._session.view().card_counter, [row], self._staff_id(), by_ins=True)
            return status

    def page_target(
        self, index: int | None, page: str, *, card: int | None = None, ins: str | None = None
    ) -> tuple[Any, str]:
        """(INS, OID) for a page; refuses a page that needs an INS when the beneficiary has none."""
        with self._lock:
            if not self._session.is_open:
                raise DeskStateError(Reason.DESK_NOT_OPEN)
            if index is None:
                return None, ""
            self._expect_patient(index, card, ins)
            self._require_traceable()
            row = self._session.view().row(index)
            if row is None or row.insi is None or not row.insi.found or not row.insi.key_ok:
                raise DeskStateError(Reason.NO_VALID_INS)
            return row.insi.ins, row.insi.oid

    def open_page(self, index: int | None, page: str) -> None:
        """Open the page in the desk's browser; `page_opened` only once the browser fetched it."""
        ins, oid = self.page_target(index, page)
        self._submit(self._page_action, EventKind.PAGE_OPENED, page, ins, oid,
                     lambda: self.ports.open_page(page, ins, oid))

    def print_page(self, index: int | None, page: str) -> None:
        ins, oid = self.page_target(index, page)
        data = {"page": page, "ins": ins, "oid": oid}
        self._submit(self._page_action, EventKind.LINK_PRINTED, page, ins, oid,
                     lambda: self.ports.print_document("link", data))

    def print_ticket(self, index: int) -> None:
        with self._lock:
            row = self._session.view().row(index)
            if row is None:
                raise DeskStateError(Reason.UNKNOWN_BENEFICIARY)
            ins = row.insi.ins if row.insi and row.insi.found else None
            data = {"row": row, "status": self.texts.status(row.ins_status)}
        self._submit(self._page_action, EventKind.TICKET_PRINTED, "", ins, "",
                     lambda: self.ports.print_document("ticket", data))

    # ---- hospital system intents (issue 17) --------------------------------------------------------------------
    def his_choose(self, index: int, choice: int) -> None:
        """A PDQ candidate (its position) or `his_desk.NEW_PATIENT`; nothing is sent before `his_send`."""
        with self._lock:
            if not self._session.is_open:
                raise DeskStateError(Reason.DESK_NOT_OPEN)
        self.his.choose(index, choice)

    def his_send(self, index: int) -> str:
        """The receptionist confirms: ADT^A28 / A31 queued (validated first); returns its control id."""
        with self._lock:
            if not self._session.is_open:
                raise DeskStateError(Reason.DESK_NOT_OPEN)
            view = self._session.view()
            row = view.row(index)
            if row is None:
                raise DeskStateError(Reason.UNKNOWN_BENEFICIARY)
            self._require_traceable()  # no identity leaves without its journal entry
            manual, staff = view.patient_phase is PatientPhase.MANUAL, self._staff_id()
        return self.his.send(row, staff, manual=manual)

    def his_drop(self, control_id: str) -> bool:
        """The receptionist gives up on a message the hospital system has not acknowledged."""
        return self.his.drop(control_id, self._staff_id())

    def _his_desk(self, ports: DeskPorts) -> HisDesk:
        client = None
        factory = getattr(ports, "his_client", None)
        if factory is not None:
            try:
                client = factory()
            except KioskError as e:
                log.error("liaison avec le système de l'hôpital impossible : %s", e)
        return HisDesk(client, emit=lambda kind, **data: self.notice(kind, **data), submit=self._submit,
                       journal=self._journal)

    # ---- workers ----------------------------------------------------------------------------------------------
    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            self._busy += 1

        def run() -> None:
            try:
                fn(*args)
            except Exception:  # a bug in a worker must not leave the desk waiting forever
                log.exception("erreur interne du poste")
                with self._lock:
                    self._emit(EventKind.ERROR, problem=Problem(Reason.INTERNAL))
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        self._pool.submit(run)

    def _read_staff(self, reader: str, counter: int) -> None:
        try:
            read = self.ports.read_staff_card(reader, counter)
        except (ReaderError, CardDataError, KioskError) as e:
            with self._lock:
                problem = problem_of(e)
                if self._session.staff_unreadable(counter, problem):
                    self._journal(JournalAction.STAFF_CARD_READ, "refused", "", detail=type(e).__name__)
                    self._emit(EventKind.STAFF_CARD_REFUSED, problem=problem)
            return
        with self._lock:
            if self._session.staff_read(counter, read.holder, read.tries_left):
                v = self._session.view()
                self._journal(JournalAction.STAFF_CARD_READ, v.staff_phase.value, read.holder.id_nat)
                self._emit(EventKind.STAFF_CARD_READ, card_type=read.holder.card_type, tries_left=read.tries_left,
                           blocked=v.staff_phase is StaffPhase.BLOCKED)

    def _verify_pin(self, reader: str, counter: int, pin: str) -> None:
        try:
            answer = self.ports.verify_pin(reader, counter, pin)
        except (ReaderError, CardDataError, KioskError) as e:
            with self._lock:
                problem = problem_of(e)
                if self._session.pin_failed(counter, problem):
                    self._emit(EventKind.PIN_ERROR, problem=problem)
            return
        with self._lock:
            if not self._session.pin_result(counter, answer.ok, answer.tries_left):
                return
            v = self._session.view()
            staff = self._staff_id()
            if answer.ok:
                self._journal(JournalAction.DESK_OPENED, "ok", staff)
                self._emit(EventKind.DESK_OPENED, card_type=v.holder.card_type if v.holder else "")
                if self._session.lookups_due:
                    if v.patient_phase is PatientPhase.READ:  # a lock is not a loss: the same card, asked again
                        self._journal(JournalAction.LOOKUPS_RESTARTED, "ok", staff, card_counter=v.card_counter)
                    self._start_lookups()
            else:
                blocked = v.staff_phase is StaffPhase.BLOCKED
                self._journal(JournalAction.PIN_REFUSED, "blocked" if blocked else "wrong", staff,
                              tries_left=answer.tries_left)
                self._emit(EventKind.PIN_BLOCKED if blocked else EventKind.PIN_WRONG, tries_left=answer.tries_left)

    def _read_vitale(self, reader: str, counter: int) -> None:
        try:
            read = self.ports.read_vitale(reader, counter)
        except (ReaderError, CardDataError, KioskError) as e:
            with self._lock:
                problem = problem_of(e)
                if self._session.vitale_unreadable(counter, problem):
                    self._journal(JournalAction.VITALE_READ, "unreadable", self._staff_id(), detail=type(e).__name__)
                    self._emit(EventKind.VITALE_UNREADABLE, problem=problem)
            return
        with self._lock:
            if not self._session.vitale_read(read):
                return  # the card left while it was read
            if self._session.view().patient_phase is PatientPhase.READ:
                self._vitale, self._vitale_at = read, time.monotonic()
            self._journal(JournalAction.VITALE_READ, "ok", self._staff_id(), beneficiaries=len(read.beneficiaries))
            self._emit(EventKind.VITALE_READ, beneficiaries=len(read.beneficiaries), nature=read.nature.value,
                       shown=self._session.is_open)
            if self._session.lookups_due:
                self._start_lookups()

    def _start_lookups(self) -> None:
        if not self._traceable and not self._journal(JournalAction.AUDIT_RESUMED, "ok", self._staff_id()):
            return  # no teleservice call that cannot be traced; the desk already shows why
        ticket = self._session.start_lookups()
        read, traits = self._vitale, self._session.manual_traits
        staff = self._staff_id()
        self._emit(EventKind.LOOKUPS_STARTED, beneficiaries=len(ticket.indexes))
        view = self._session.view()  # PDQ by the card's traits runs beside INSi: it does not need the INS
        self.his.begin(view.card_counter, [r for r in view.rows if r.index in ticket.indexes], staff)
        if traits is not None:
            self._submit(self._lookup_traits, ticket, traits, staff)
        else:
            assert read is not None
            stale = time.monotonic() - self._vitale_at > VITALE_FRESH_S
            self._submit(self._lookup_card, ticket, read, staff, stale)

    def _lookup_card(self, ticket: Ticket, read: VitaleRead, staff: str, stale: bool = False) -> None:
        """INSi then DMP for every beneficiary at once; each answer is reported the moment it arrives."""
        if stale:  # the INSi rules want a card read of the last minutes: read the same card again
            try:
                fresh = self.ports.read_vitale(read.reader, read.card_counter)
            except (ReaderError, CardDataError, KioskError) as e:
                log.info("relecture de la carte Vitale impossible (%s)", type(e).__name__)
            else:
                with self._lock:
                    if self._vitale is read:
                        self._vitale, self._vitale_at, read = fresh, time.monotonic(), fresh
        people = [b for b in read.beneficiaries if b.index in ticket.indexes]
        try:
            self.ports.lookup_card(read, people, lambda u: self._lookup_update(ticket, u, staff, "card"))
        except (TeleserviceError, ReaderError, CardDataError, KioskError) as e:  # refused before any request
            for b in people:
                self._lookup_update(ticket, LookupUpdate(b.index, LookupStep.INSI_FAILED, error=e), staff, "card")

    def _lookup_traits(self, ticket: Ticket, traits: ReferenceTraits, staff: str) -> None:
        (index,) = ticket.indexes
        try:
            outcome = self.ports.insi_by_traits(traits)
        except (TeleserviceError, ReaderError, CardDataError, KioskError) as e:
            self._lookup_update(ticket, LookupUpdate(index, LookupStep.INSI_FAILED, error=e), staff, "traits")
            return
        self._lookup_update(ticket, LookupUpdate(index, LookupStep.INSI, insi=outcome), staff, "traits")
        if outcome.found and outcome.key_ok and outcome.ins is not None:
            try:
                dmp = self.ports.dmp_state(outcome.ins, outcome.oid)
            except (TeleserviceError, KioskError) as e:
                update = LookupUpdate(index, LookupStep.DMP_FAILED, insi=outcome, error=e)
                self._lookup_update(ticket, update, staff, "traits")
                return
            self._lookup_update(ticket, LookupUpdate(index, LookupStep.DMP, insi=outcome, dmp=dmp), staff, "traits")

    def _lookup_update(self, ticket: Ticket, u: LookupUpdate, staff: str, by: str) -> None:
        """One answer into the session; dropped there when the patient has gone meanwhile."""
        i = u.index
        with self._lock:
            if u.step is LookupStep.INSI:
                assert u.insi is not None
                if not self._session.insi_result(ticket, i, u.insi):
                    return
                ins = u.insi.ins
                self._journal(JournalAction.INSI_CALL, f"CR {u.insi.code.value}", staff, ins, by=by,
                              key_ok=u.insi.key_ok if ins else None)
                row = self._session.view().row(i)
                self._emit(EventKind.INSI_RESULT, index=i, code=u.insi.code, ins=ins.masked if ins else "",
                           key_ok=u.insi.key_ok, status=row.ins_status if row else None,
                           differences=[d.trait for d in row.differences] if row else [])
                if u.insi.found and u.insi.key_ok:
                    self._session.dmp_started(ticket, i)  # the pipeline asks the DMP right after, same worker
            elif u.step is LookupStep.INSI_FAILED:
                problem = problem_of(u.error, "INSi")
                if self._session.insi_failed(ticket, i, problem):
                    self._journal(JournalAction.INSI_CALL, "error", staff, detail=type(u.error).__name__, by=by,
                                  reason=problem.reason.value)
                    self._emit(EventKind.INSI_FAILED, index=i, problem=problem)
            elif u.step is LookupStep.DMP:
                assert u.dmp is not None
                if self._session.dmp_result(ticket, i, u.dmp):
                    self._journal(JournalAction.DMP_CHECK, u.dmp.state.value, staff, u.insi.ins if u.insi else None)
                    self._emit(EventKind.DMP_RESULT, index=i, state=u.dmp.state)
            elif u.step is LookupStep.DMP_FAILED:
                problem = problem_of(u.error, "DMP")
                if self._session.dmp_failed(ticket, i, problem):
                    self._journal(JournalAction.DMP_CHECK, "error", staff, u.insi.ins if u.insi else None,
                                  detail=type(u.error).__name__, reason=problem.reason.value)
                    self._emit(EventKind.DMP_FAILED, index=i, problem=problem)

    def _page_action(self, kind: EventKind, page: str, ins: Any, oid: str, action: Callable[[], None]) -> None:
        with self._lock:
            epoch = self._pages
        try:
            action()
        except (KioskError, OSError) as e:
            problem = _action_problem(kind, e)
            with self._lock:
                if kind is EventKind.PAGE_OPENED and epoch != self._pages:
                    return  # the desk locked or the patient left while the browser started: nothing to say
                code = getattr(e, "reason", None)  # a printer failure's code (kiosk.appliance.printing.PrintFailure)
                self._journal(JournalAction(kind.value), "error", self._staff_id(), ins, page=page,
                              detail=str(getattr(code, "value", code) or type(e).__name__), reason=problem.reason.value)
                self._emit(EventKind.ACTION_FAILED, action=kind, page=page, problem=problem)
            return
        with self._lock:
            if kind is EventKind.PAGE_OPENED and epoch != self._pages:
                self.ports.close_pages()  # opened just as the desk locked: close it at once
                return
            self._journal(JournalAction(kind.value), "ok", self._staff_id(), ins, page=page)
            self._emit(kind, page=page)

    # ---- helpers ----------------------------------------------------------------------------------------------
    def _expect_patient(self, index: int, card: int | None, ins: str | None) -> None:
        """Checked under the lock, with the action: a swap between the check and the action is impossible."""
        v = self._session.view()
        if card is not None and card != v.card_counter:
            raise CardChangedError()
        if ins is not None:
            row = v.row(index)
            seen = row.insi.ins.value if row is not None and row.insi is not None and row.insi.ins is not None else ""
            if "".join(ins.split()).upper() != seen:
                raise CardChangedError()

    @property
    def traceable(self) -> bool:
        return self._traceable

    def _require_traceable(self) -> None:
        """Before a patient action: the journal must take an entry now (after a failure, an entry saying it is
        back), or the action is refused: an action that cannot be traced does not happen."""
        if self.audit is not None and not self.audit.writable():
            self._journal_failed(OSError("journal d'audit non inscriptible"))
        if not self._traceable and not self._journal(JournalAction.AUDIT_RESUMED, "ok", self._staff_id()):
            raise UntraceableError()

    def journal(
        self, action: JournalAction | str, outcome: str, staff: str = "", ins: Any = None, **detail: Any
    ) -> bool:
        """For the local API: an entry under the desk's lock; False when it could not be written."""
        with self._lock:
            return self._journal(JournalAction(action), outcome, staff, ins, **detail)

    def _close_pages(self) -> None:
        """Close the Web PS windows the desk opened (lock, staff card out, patient change): nothing stays."""
        self._pages += 1
        try:
            closed = self.ports.close_pages()
        except OSError as e:
            log.error("fermeture du navigateur impossible (%s)", e)
            return
        if closed:
            self._journal(JournalAction.PAGE_CLOSED, "ok", self._staff_id(), windows=closed)
            self._emit(EventKind.PAGE_CLOSED, windows=closed)

    def _staff_id(self) -> str:
        holder = self._session.view().holder
        return holder.id_nat if holder else ""

    def _journal(self, action: JournalAction, outcome: str, staff: str, ins: Any = None, **detail: Any) -> bool:
        if self.audit is None:
            return True
        try:
            self.audit.record(action.value, outcome, staff=staff, ins=ins, **detail)
        except OSError as e:
            self._journal_failed(e)
            return False
        if not self._traceable:
            self._traceable = True
            self._emit(EventKind.AUDIT_RESUMED)
        return True

    def _journal_failed(self, error: OSError) -> None:
        log.error("journal d'audit : écriture impossible (%s)", error)
        if self._traceable:
            self._traceable = False
            self._emit(EventKind.AUDIT_UNAVAILABLE, problem=Problem(Reason.AUDIT_UNAVAILABLE))

    def _emit(self, kind: EventKind, **data: Any) -> None:
        view = self._session.view()
        event = DeskEvent(kind, data)
        for listener in list(self._listeners):
            try:
                listener(view, event)
            except Exception:
                log.exception("un abonné du poste a échoué")


def _action_problem(kind: EventKind, error: Exception) -> Problem:
    from kiosk.domain.privacy import scrub

    detail = scrub(str(error))[:160]
    if kind is not EventKind.PAGE_OPENED:
        return Problem(Reason.PRINTER_FAILED, detail)
    reason = getattr(error, "reason", None)
    return Problem(reason if isinstance(reason, Reason) else Reason.BROWSER_FAILED, detail)
