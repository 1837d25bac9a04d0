"""The desk's side of the hospital system: PDQ candidates per beneficiary, the receptionist's choice, the send.

The controller calls in at three moments (lookups start, an identity is qualified, the patient goes) and
forwards three intents (pick a candidate or "nouveau patient", confirm, drop a pending message). Several
candidates are listed, never merged: nothing is sent until the receptionist has chosen and confirmed.
Results that arrive for a patient who has gone are dropped (the key given to `begin` changed).

Privacy: events carry counts and codes, never names; the journal gets `his_query` and `his_send` with the
control id, the ACK code, the staff member and the patient by the journal's HMAC only.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk.appliance.service.problems import problem_of
from kiosk.desk.errors import DeskStateError
from kiosk.desk.events import EventKind, JournalAction, Problem, Reason
from kiosk.desk.view import Step
from kiosk.domain.privacy import scrub
from kiosk.errors import KioskError
from kiosk.teleservices.his.model import AckCode, Candidate, Collection, HisIdentity, PdqQuery

if TYPE_CHECKING:  # the link's stack is loaded only when [his] is enabled (kiosk.teleservices.his.open_his)
    from kiosk.teleservices.his.client import HisClient
    from kiosk.teleservices.his.link import PendingView
    from kiosk.teleservices.his.replies import Ack

__all__ = ["NEW_PATIENT", "HisDesk", "HisRow", "Step", "identity_of", "query_of"]

log = logging.getLogger(__name__)
NEW_PATIENT = -1  # the receptionist's choice when no candidate is this patient


@dataclass(frozen=True)
class HisRow:
    index: int
    step: Step = Step.IDLE
    by_ins: bool = False
    candidates: tuple[Candidate, ...] = ()
    problem: Problem | None = None  # why the search failed (codes, no patient data)
    choice: int | None = None  # candidate position, NEW_PATIENT, or None (not chosen yet)
    sent: str = ""  # control id of the identity message sent for this row

    @property
    def chosen(self) -> Candidate | None:
        return self.candidates[self.choice] if self.choice is not None and self.choice >= 0 else None


Emit = Callable[..., None]  # (EventKind, **data) -> the controller's listeners
SERVICE = "Le système de l'hôpital"  # the `{service}` of teleservice reasons
Submit = Callable[..., None]  # (fn, *args) -> run on a desk worker
Journal = Callable[..., object]  # (action, outcome, staff, ins=None, **detail)


def query_of(row: Any, *, by_ins: bool) -> PdqQuery:
    """PDQ parameters for a desk row (`PatientRow`): the INS when asked for, else INSi's traits or the card's."""
    insi = row.insi
    if by_ins and insi is not None and insi.found and insi.ins is not None:
        return PdqQuery(ins=insi.ins, ins_oid=insi.oid)
    b = row.beneficiary
    traits = insi.traits if insi is not None else None
    if traits is not None:
        return PdqQuery(birth_name=traits.nom_naissance, first_name=traits.premier_prenom,
                        birth_date=traits.date_naissance, sex=traits.sexe)
    return PdqQuery(birth_name=b.birth_name, first_name=b.prenom.split(" ")[0] if b.prenom else "",
                    birth_date=b.date_naissance, sex=row.sex)


def patient_key(row: Any) -> Any:
    """What the journal's HMAC is computed over: the INS when there is one, else the identity traits."""
    insi = row.insi
    if insi is not None and insi.found and insi.ins is not None:
        return insi.ins
    b = row.beneficiary
    return f"{b.birth_name}|{b.prenom}|{b.date_naissance}|{row.sex}"


def identity_of(row: Any, his: HisRow, client: HisClient, *, manual: bool) -> HisIdentity:
    """The identity as the hospital receives it: INSi's reference traits when there are some, else the card's."""
    b, insi = row.beneficiary, row.insi
    traits = insi.traits if insi is not None else None
    found = insi is not None and insi.found and insi.key_ok and insi.ins is not None
    birth_name = traits.nom_naissance if traits else b.birth_name
    first_names = traits.prenoms if traits and traits.prenoms else tuple(p for p in b.prenom.split() if p)
    collection = (Collection.INSI_TRAITS if found else Collection.SAISIE) if manual else Collection.CARTE_VITALE
    chosen = his.chosen
    return HisIdentity(
        local_id=client.new_local_id(),
        status=row.ins_status,
        birth_name=birth_name,
        first_names=first_names,
        birth_date=traits.date_naissance if traits else b.date_naissance,
        sex=(traits.sexe if traits and traits.sexe else row.sex) or "U",
        used_name=b.nom_usuel if b.nom_usuel and b.nom_usuel != birth_name else "",
        used_first_name=b.prenom.split(" ")[0] if b.prenom and b.nom_usuel != birth_name else "",
        birthplace=traits.lieu_naissance if traits else "",
        ipp=chosen.ipp if chosen is not None else None,
        ins=insi.ins if found else None,
        ins_oid=insi.oid if found else "",
        document=row.document,
        collection=collection,
    )


class HisDesk:
    def __init__(self, client: HisClient | None, *, emit: Emit, submit: Submit, journal: Journal) -> None:
        self.client = client
        self._emit, self._submit, self._journal = emit, submit, journal
        self._lock = threading.Lock()
        self._key: Hashable | None = None
        self._rows: dict[int, HisRow] = {}
        if client is not None:
            client.link.add_listener(self._pending_changed)

    @property
    def enabled(self) -> bool:
        return self.client is not None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    # ---- called by the controller ----------------------------------------------------------------------------
    def begin(self, key: Hashable, rows: list[Any], staff: str, *, by_ins: bool = False) -> None:
        """PDQ for these desk rows (`PatientRow`s) under `key` (the lookups' ticket): one worker each."""
        if self.client is None:
            return
        with self._lock:
            if key != self._key:
                self._key, self._rows = key, {}
            for row in rows:
                old = self._rows.get(row.index)
                kept = old.candidates if by_ins and old is not None else ()  # shown until the INS answer is in
                self._rows[row.index] = HisRow(row.index, Step.PENDING, by_ins, candidates=kept)
        for row in rows:
            self._submit(self._search, key, row.index, query_of(row, by_ins=by_ins), patient_key(row), staff)
        self._emit(EventKind.HIS_SEARCHING, beneficiaries=len(rows), by_ins=by_ins)

    def clear(self) -> None:
        with self._lock:
            self._key, self._rows = None, {}

    def rows(self) -> dict[int, HisRow]:
        with self._lock:
            return dict(self._rows)

    def row(self, index: int) -> HisRow | None:
        with self._lock:
            return self._rows.get(index)

    def choose(self, index: int, choice: int) -> None:
        """A candidate (its position) or NEW_PATIENT: nothing is sent before the receptionist confirms."""
        with self._lock:
            row = self._rows.get(index)
            if row is None or row.step is not Step.DONE:
                raise DeskStateError(Reason.HIS_WAIT)
            if choice != NEW_PATIENT and not 0 <= choice < len(row.candidates):
                raise DeskStateError(Reason.HIS_UNKNOWN_CANDIDATE)
            self._rows[index] = dataclasses.replace(row, choice=choice)
        self._emit(EventKind.HIS_CHOSEN, index=index, new_patient=choice == NEW_PATIENT)

    def send(self, desk_row: Any, staff: str, *, manual: bool) -> str:
        """Build, validate and queue ADT^A28 (nouveau patient) or ADT^A31 (the candidate chosen)."""
        if self.client is None:
            raise DeskStateError(Reason.HIS_DISABLED)
        with self._lock:
            row = self._rows.get(desk_row.index)
        if row is None or row.choice is None:
            raise DeskStateError(Reason.HIS_CHOOSE_FIRST)
        identity = identity_of(desk_row, row, self.client, manual=manual)
        key = patient_key(desk_row)
        initials = "".join(p[:1] for p in (identity.birth_name, *identity.first_names[:1]))
        label = f"{identity.event.value} {'.'.join(initials)}."

        def acked(control_id: str, ack: Ack) -> None:
            self._journal(JournalAction.HIS_SEND, ack.code.value, staff, key, control_id=control_id,
                          event=identity.event.value)
            refused = ack.code is not AckCode.AA
            detail = f"{ack.code.value} : {scrub(ack.text)[:160]}" if ack.text else ack.code.value
            self._emit(EventKind.HIS_ACKNOWLEDGED, control_id=control_id, ack=ack.code.value,
                       **({"problem": Problem(Reason.HIS_REFUSED, detail)} if refused else {}))

        outgoing = self.client.send(identity, label=label, operator=staff, on_result=acked)
        with self._lock:
            if desk_row.index in self._rows:
                self._rows[desk_row.index] = dataclasses.replace(self._rows[desk_row.index], sent=outgoing.control_id)
        self._journal(
            JournalAction.HIS_SEND,
            "queued",
            staff,
            key,
            control_id=outgoing.control_id,
            event=identity.event.value,
            status=identity.status.value,
            ins_sent=identity.sends_ins,
        )
        self._emit(EventKind.HIS_SENT, index=desk_row.index, control_id=outgoing.control_id, event=identity.event.value)
        return outgoing.control_id

    def pending(self) -> list[PendingView]:
        return self.client.pending() if self.client is not None else []

    def drop(self, control_id: str, staff: str) -> bool:
        if self.client is None or not self.client.drop(control_id):
            return False
        self._journal(JournalAction.HIS_SEND, "dropped", staff, None, control_id=control_id)
        return True

    # ---- workers ----------------------------------------------------------------------------------------------
    def _search(self, key: Hashable, index: int, query: PdqQuery, patient: Any, staff: str) -> None:
        assert self.client is not None
        try:
            control_id, answer = self.client.find(query)
        except KioskError as e:
            failure = problem_of(e, SERVICE)
            if self._store(key, index, Step.FAILED, problem=failure):
                self._emit(EventKind.HIS_FAILED, index=index, problem=failure)
            self._journal(JournalAction.HIS_QUERY, "error", staff, patient, detail=type(e).__name__,
                          by="ins" if query.by_ins else "traits")
            return
        ok = answer.ack.code is AckCode.AA
        problem = (
            None
            if ok
            else Problem(Reason.SERVICE_ERROR, f"{answer.ack.code.value} {scrub(answer.ack.text)[:120]}", SERVICE)
        )
        stored = self._store(key, index, Step.DONE if ok else Step.FAILED, candidates=answer.candidates,
                             problem=problem)
        self._journal(JournalAction.HIS_QUERY, f"{answer.ack.code.value} {answer.status}", staff, patient,
                      control_id=control_id, candidates=len(answer.candidates), by="ins" if query.by_ins else "traits")
        if stored and problem is not None:
            self._emit(EventKind.HIS_FAILED, index=index, problem=problem)
        elif stored:
            self._emit(EventKind.HIS_CANDIDATES, index=index, candidates=len(answer.candidates), status=answer.status)

    def _store(self, key: Hashable, index: int, step: Step, *, candidates: tuple[Candidate, ...] = (),
               problem: Problem | None = None) -> bool:
        with self._lock:
            if key != self._key or index not in self._rows:
                return False  # the patient left meanwhile
            old = self._rows[index]
            if old.by_ins and old.candidates and (step is Step.FAILED or not candidates):
                # the hospital does not hold this INS (or did not answer): the traits candidates stay listed
                self._rows[index] = dataclasses.replace(old, step=Step.DONE, problem=problem)
                return True
            self._rows[index] = dataclasses.replace(old, step=step, candidates=candidates, problem=problem, choice=None)
            return True

    def _pending_changed(self) -> None:
        assert self.client is not None
        from kiosk.teleservices.his.link import PendingState
        from kiosk.teleservices.his.status import service_status_path, write_status

        views = self.client.pending()

        path = service_status_path()
        if path is not None:
            try:
                write_status(views, endpoint=f"{self.client.link.host}:{self.client.link.port}", path=path)
            except OSError as e:
                log.warning("état des messages en attente non écrit pour kiosk doctor (%s)", type(e).__name__)
        self._emit(
            EventKind.HIS_PENDING, count=len(views), refused=sum(1 for v in views if v.state is PendingState.REFUSED)
        )

