"""The desk controller: reader events and staff intents in, blocking work on worker threads, snapshots out.

It owns the pure `DeskSession` behind one lock and does what the session cannot: read cards, verify the PIN,
call INSi then the DMP for each beneficiary (results reported as they arrive), open or print Web PS pages,
and journal every desk action. Listeners (the TUI, the JSON-lines journal, the API) receive
`(DeskView, DeskEvent)` after each change; they are called on worker or reader threads and must not block.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import CardDataError, CardSwappedError, ReaderError
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
from kiosk.desk.texts import Texts
from kiosk.errors import KioskError, TeleserviceError
from kiosk.patient import VitaleRead
from kiosk.service.audit import AuditJournal
from kiosk.service.ports import CardEvent, CardEventKind, DeskPorts, LookupStep, LookupUpdate, Role

__all__ = ["DeskController", "DeskEvent"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeskEvent:
    """What just happened. `data` holds no patient value in clear (initials and masked INS at most)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


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
        self._traceable = True  # False once an audit entry could not be written: patient actions are refused

    # ---- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.ports.start_readers(self.on_card_event)

    def stop(self) -> None:
        self.ports.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._vitale = None

    def replace_ports(self, ports: DeskPorts) -> None:
        """A new configuration for readers or services: restart on the new ports. Cards still in are
        reported again, so the staff PIN is asked again: a session never survives a change of readers."""
        self.ports.stop()
        with self._lock:
            self.ports = ports
            self._vitale = None
            self._session.staff_removed()  # both bump the session's generation: late answers are dropped
            self._session.patient_removed()
            self._emit("readers_restarted")
        ports.start_readers(self.on_card_event)

    def notice(self, kind: str, **data: Any) -> None:
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
                holder = self._session.view().holder
                if self._session.is_open and holder is not None:
                    self._journal("desk_locked", "readers down", holder.id_nat)
                self._vitale = None
                self._session.staff_removed()
                self._session.patient_removed()
                self._emit("readers_down", message=self.texts("error.backend_down"))
                return
            if event.kind is CardEventKind.BACKEND_UP:
                self._emit("readers_up")
                return
            assert event.role is not None
            self._readers[event.role] = event.reader
            if event.role is Role.STAFF:
                self._staff_event(event)
            else:
                self._patient_event(event)

    def _staff_event(self, event: CardEvent) -> None:
        if event.kind is CardEventKind.INSERTED:
            self._session.staff_inserted(event.counter)
            self._emit("staff_card_inserted", reader=event.reader)
            self._submit(self._read_staff, event.reader, event.counter)
        else:
            was_open = self._session.is_open
            holder = self._session.view().holder
            self._session.staff_removed()
            if was_open and holder is not None:
                self._journal("desk_locked", "staff card removed", holder.id_nat)
            self._emit("desk_locked" if was_open else "staff_card_removed")

    def _patient_event(self, event: CardEvent) -> None:
        if event.kind is CardEventKind.INSERTED:
            self._vitale = None
            self._session.patient_inserted(event.counter)
            self._emit("vitale_inserted", reader=event.reader)
            self._submit(self._read_vitale, event.reader, event.counter)
        else:
            self._vitale = None
            self._session.patient_removed()
            self._emit("patient_cleared", message=self.texts("patient.cleared"))

    # ---- staff intents ----------------------------------------------------------------------------------------
    def submit_pin(self, pin: str, *, origin: str = "desk", spare_last_try: bool = False) -> None:
        """Raises DeskStateError when no PIN is asked. `origin`: "desk" or "api:<uid>", journaled with the
        attempt; `spare_last_try` (the local API): refused when the card has one try left or an unknown count,
        so that only the receptionist, warned on screen, can use the last one."""
        with self._lock:
            v = self._session.view()
            if v.staff_phase is StaffPhase.PIN_REQUIRED:  # otherwise pin_submitted() below says why not
                if spare_last_try and (v.pin_tries_left or 0) <= 1:
                    self._emit("pin_desk_only", message=self.texts("staff.pin_desk_only"))
                    raise DeskStateError(self.texts("staff.pin_desk_only"))
                self._require_traceable()
                if not self._journal("pin_submitted", "checking", v.holder.id_nat if v.holder else "", origin=origin):
                    raise UntraceableError(self.texts("error.audit"))
            counter = self._session.pin_submitted()
            reader = self._readers.get(Role.STAFF, "")
            self._emit("pin_checking")
        self._submit(self._verify_pin, reader, counter, pin)

    def lock(self) -> None:
        with self._lock:
            holder = self._session.view().holder
            self._session.lock()
            self._journal("desk_locked", "idle", holder.id_nat if holder else "")
            self._emit("desk_locked", message=self.texts("staff.locked_idle"))

    def retry(self) -> bool:
        with self._lock:
            again = self._session.retry_failed()
            if again:
                self._start_lookups()
            return again

    def lookup_traits(self, traits: ReferenceTraits) -> None:
        with self._lock:
            self._require_traceable()
            self._session.manual_patient(traits)
            self._emit("manual_patient")
            self._start_lookups()

    def qualify(self, index: int, document: IdDocument, *, card: int | None = None, ins: str | None = None) -> InsStatus:
        """`card` / `ins`: what the caller saw (local API); refused when the desk now shows another patient."""
        with self._lock:
            self._expect_patient(index, card, ins)
            self._require_traceable()
            status = self._session.qualify(index, document)
            row = self._session.view().row(index)
            assert row is not None
            target = row.insi.ins if row.insi else None
            self._journal("id_document_checked", status.value, self._staff_id(), target, document=document.name)
            self._emit("qualified", index=index, status=status.value, document=document.name)
            return status

    def page_target(
        self, index: int | None, page: str, *, card: int | None = None, ins: str | None = None
    ) -> tuple[Any, str]:
        """(INS, OID) for a page; refuses a page that needs an INS when the beneficiary has none."""
        with self._lock:
            if not self._session.is_open:
                raise DeskStateError("ouvrez d'abord le poste avec votre carte professionnelle")
            if index is None:
                return None, ""
            self._expect_patient(index, card, ins)
            self._require_traceable()
            row = self._session.view().row(index)
            if row is None or row.insi is None or not row.insi.found or not row.insi.key_ok:
                raise DeskStateError("ce bénéficiaire n'a pas d'INS valide : page impossible")
            return row.insi.ins, row.insi.oid

    def open_page(self, index: int | None, page: str) -> None:
        ins, oid = self.page_target(index, page)
        self._submit(self._page_action, "page_opened", page, ins, oid, lambda: self.ports.open_page(page, ins, oid))

    def print_page(self, index: int | None, page: str) -> None:
        ins, oid = self.page_target(index, page)
        data = {"page": page, "ins": ins, "oid": oid}
        self._submit(self._page_action, "link_printed", page, ins, oid, lambda: self.ports.print_document("link", data))

    def print_ticket(self, index: int) -> None:
        with self._lock:
            row = self._session.view().row(index)
            if row is None:
                raise DeskStateError("bénéficiaire inconnu")
            ins = row.insi.ins if row.insi and row.insi.found else None
            data = {"row": row, "status": row.ins_status.value}
        self._submit(self._page_action, "ticket_printed", "", ins, "", lambda: self.ports.print_document("ticket", data))

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
                    self._emit("error", message="erreur interne : redémarrez la borne si le poste ne répond plus")
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
                if self._session.staff_unreadable(counter, self._error_text(e)):
                    self._journal("staff_card_read", "refused", "", detail=type(e).__name__)
                    self._emit("staff_card_refused", message=self._session.view().staff_message)
            return
        with self._lock:
            if self._session.staff_read(counter, read.holder, read.tries_left):
                v = self._session.view()
                self._journal("staff_card_read", v.staff_phase.value, read.holder.id_nat)
                self._emit("staff_card_read", card_type=read.holder.card_type, tries_left=read.tries_left,
                           blocked=v.staff_phase is StaffPhase.BLOCKED)

    def _verify_pin(self, reader: str, counter: int, pin: str) -> None:
        try:
            answer = self.ports.verify_pin(reader, counter, pin)
        except (ReaderError, CardDataError, KioskError) as e:
            with self._lock:
                if self._session.pin_failed(counter, self._error_text(e)):
                    self._emit("pin_error", message=self._session.view().staff_message)
            return
        with self._lock:
            if not self._session.pin_result(counter, answer.ok, answer.tries_left):
                return
            v = self._session.view()
            staff = self._staff_id()
            if answer.ok:
                self._journal("desk_opened", "ok", staff)
                self._emit("desk_opened", card_type=v.holder.card_type if v.holder else "")
                if self._session.lookups_due:
                    self._start_lookups()
            else:
                outcome = "blocked" if v.staff_phase is StaffPhase.BLOCKED else "wrong"
                self._journal("pin_refused", outcome, staff, tries_left=answer.tries_left)
                self._emit("pin_blocked" if outcome == "blocked" else "pin_wrong", tries_left=answer.tries_left)

    def _read_vitale(self, reader: str, counter: int) -> None:
        try:
            read = self.ports.read_vitale(reader, counter)
        except (ReaderError, CardDataError, KioskError) as e:
            with self._lock:
                if self._session.vitale_unreadable(counter, self._error_text(e)):
                    self._journal("vitale_read", "unreadable", self._staff_id(), detail=type(e).__name__)
                    self._emit("vitale_unreadable", message=self._session.view().patient_message)
            return
        with self._lock:
            if not self._session.vitale_read(read):
                return  # the card left while it was read
            if self._session.view().patient_phase is PatientPhase.READ:
                self._vitale = read
            self._journal("vitale_read", "ok", self._staff_id(), beneficiaries=len(read.beneficiaries))
            self._emit("vitale_read", beneficiaries=len(read.beneficiaries), nature=read.nature.value,
                       shown=self._session.is_open)
            if self._session.lookups_due:
                self._start_lookups()

    def _start_lookups(self) -> None:
        if not self._traceable and not self._journal("audit_resumed", "ok", self._staff_id()):
            return  # no teleservice call that cannot be traced; the desk already shows why
        ticket = self._session.start_lookups()
        read, traits = self._vitale, self._session.manual_traits
        staff = self._staff_id()
        self._emit("lookups_started", beneficiaries=len(ticket.indexes))
        if traits is not None:
            self._submit(self._lookup_traits, ticket, traits, staff)
        else:
            assert read is not None
            self._submit(self._lookup_card, ticket, read, staff)

    def _lookup_card(self, ticket: Ticket, read: VitaleRead, staff: str) -> None:
        """INSi then DMP for every beneficiary at once; each answer is reported the moment it arrives."""
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
                self._lookup_update(ticket, LookupUpdate(index, LookupStep.DMP_FAILED, insi=outcome, error=e), staff, "traits")
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
                self._journal("insi_call", f"CR {u.insi.code.value}", staff, ins, by=by,
                              key_ok=u.insi.key_ok if ins else None)
                row = self._session.view().row(i)
                self._emit("insi_result", index=i, code=u.insi.code.value, ins=ins.masked if ins else "",
                           key_ok=u.insi.key_ok, status=row.ins_status.value if row else "",
                           differences=[d.trait for d in row.differences] if row else [])
                if u.insi.found and u.insi.key_ok:
                    self._session.dmp_started(ticket, i)  # the pipeline asks the DMP right after, same worker
            elif u.step is LookupStep.INSI_FAILED:
                if self._session.insi_failed(ticket, i, self._error_text(u.error, "error.insi")):
                    self._journal("insi_call", "error", staff, detail=type(u.error).__name__, by=by)
                    self._emit("insi_failed", index=i, message=self._row_text(i, "insi_error"))
            elif u.step is LookupStep.DMP:
                assert u.dmp is not None
                if self._session.dmp_result(ticket, i, u.dmp):
                    self._journal("dmp_check", u.dmp.state.value, staff, u.insi.ins if u.insi else None)
                    self._emit("dmp_result", index=i, state=u.dmp.state.value)
            elif u.step is LookupStep.DMP_FAILED and self._session.dmp_failed(
                ticket, i, self._error_text(u.error, "error.dmp")
            ):
                self._journal("dmp_check", "error", staff, u.insi.ins if u.insi else None, detail=type(u.error).__name__)
                self._emit("dmp_failed", index=i, message=self._row_text(i, "dmp_error"))

    def _page_action(self, kind: str, page: str, ins: Any, oid: str, action: Callable[[], None]) -> None:
        try:
            action()
        except (KioskError, OSError) as e:
            key = "error.browser" if kind == "page_opened" else "error.printer"
            with self._lock:
                reason = getattr(e, "reason", None)  # a printer failure's code (kiosk.printing.PrintFailure)
                self._journal(kind, "error", self._staff_id(), ins, page=page, detail=str(reason or type(e).__name__))
                self._emit("action_failed", action=kind, message=self.texts(key, detail=_safe(e)))
            return
        with self._lock:
            self._journal(kind, "ok", self._staff_id(), ins, page=page)
            message = self.texts("page.opened", page=page) if kind == "page_opened" else self.texts("print.done")
            self._emit(kind, page=page, message=message)

    # ---- helpers ----------------------------------------------------------------------------------------------
    def _expect_patient(self, index: int, card: int | None, ins: str | None) -> None:
        """Checked under the lock, with the action: a swap between the check and the action is impossible."""
        v = self._session.view()
        if card is not None and card != v.card_counter:
            raise CardChangedError("la carte a changé : relisez les identités avant d'agir")
        if ins is not None:
            row = v.row(index)
            seen = row.insi.ins.value if row is not None and row.insi is not None and row.insi.ins is not None else ""
            if "".join(ins.split()).upper() != seen:
                raise CardChangedError("la carte a changé : relisez les identités avant d'agir")

    def _row_text(self, index: int, field: str) -> str:
        row = self._session.view().row(index)
        return str(getattr(row, field)) if row is not None else ""

    def _staff_id(self) -> str:
        holder = self._session.view().holder
        return holder.id_nat if holder else ""

    def _error_text(self, error: Exception | None, network_key: str = "error.insi") -> str:
        if isinstance(error, CardSwappedError):
            return self.texts("error.swapped")
        if isinstance(error, ReaderError):
            return self.texts("error.reader")
        if isinstance(error, CardDataError):
            return self.texts("error.card")
        if isinstance(error, TeleserviceError):
            return self.texts(network_key, detail=_safe(error))
        return self.texts("error.config", detail=_safe(error) if error else "?")

    @property
    def traceable(self) -> bool:
        return self._traceable

    def _require_traceable(self) -> None:
        """Before a patient action: after a failed audit write, try once more (an entry saying so) or refuse."""
        if not self._traceable and not self._journal("audit_resumed", "ok", self._staff_id()):
            raise UntraceableError(self.texts("error.audit"))

    def journal(self, action: str, outcome: str, staff: str = "", ins: Any = None, **detail: Any) -> bool:
        """For the local API: an entry under the desk's lock; False when it could not be written."""
        with self._lock:
            return self._journal(action, outcome, staff, ins, **detail)

    def _journal(self, action: str, outcome: str, staff: str, ins: Any = None, **detail: Any) -> bool:
        if self.audit is None:
            return True
        try:
            self.audit.record(action, outcome, staff=staff, ins=ins, **detail)
        except OSError as e:
            log.error("journal d'audit : écriture impossible (%s)", e)
            if self._traceable:
                self._traceable = False
                self._emit("audit_unavailable", message=self.texts("error.audit"))
            return False
        if not self._traceable:
            self._traceable = True
            self._emit("audit_resumed")
        return True

    def _emit(self, kind: str, **data: Any) -> None:
        view = self._session.view()
        event = DeskEvent(kind, data)
        for listener in list(self._listeners):
            try:
                listener(view, event)
            except Exception:
                log.exception("un abonné du poste a échoué")


def _safe(error: Exception) -> str:
    from kiosk.privacy import scrub

    return scrub(str(error))[:160]
