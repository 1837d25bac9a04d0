"""The headless renderer: desk events told as short French sentences, patient data masked (initials,
`2970...78`), for `kiosk demo --headless` and anyone reading a terminal without the TUI. Reasons, states and
page names come from the desk's text catalogue."""

from __future__ import annotations

import threading
from typing import TextIO

from kiosk.desk import DeskView, DmpState, InsStatus
from kiosk.desk.events import DeskEvent, EventKind
from kiosk.desk.texts import Texts
from kiosk.service.eventlog import masked_row

__all__ = ["Narrator"]

_PROBLEM_EVENTS = {EventKind.STAFF_CARD_REFUSED, EventKind.VITALE_UNREADABLE, EventKind.PIN_ERROR,
                   EventKind.ACTION_FAILED, EventKind.READERS_DOWN, EventKind.ERROR, EventKind.CONFIG_REFUSED}


class Narrator:
    def __init__(self, stream: TextIO, texts: Texts | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.texts = texts or Texts()

    def say(self, text: str) -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()

    def __call__(self, view: DeskView, event: DeskEvent) -> None:
        text = self.sentence(view, event)
        if text:
            self.say("   " + text)

    def sentence(self, view: DeskView, event: DeskEvent) -> str:
        t, d, kind = self.texts, event.data, event.kind
        row = view.row(d["index"]) if isinstance(d.get("index"), int) else None
        who = masked_row(row)["initials"] if row else ""
        status = d.get("status")
        status_words = t.status(status) if isinstance(status, InsStatus) else ""
        if kind in _PROBLEM_EVENTS:
            return f"problème : {t.problem(event.problem)}"
        match kind:
            case EventKind.STAFF_CARD_INSERTED:
                return "carte professionnelle insérée"
            case EventKind.STAFF_CARD_READ:
                if d.get("blocked"):
                    return f"carte {d.get('card_type') or 'CPx'} lue : code porteur bloqué"
                return (
                    f"carte {d.get('card_type') or 'CPx'} lue ({d.get('tries_left')} essai(s) de code) : code demandé"
                )
            case EventKind.PIN_WRONG:
                return f"code incorrect, {d.get('tries_left')} essai(s) restant(s)"
            case EventKind.PIN_BLOCKED:
                return "code porteur bloqué"
            case EventKind.DESK_OPENED:
                return f"poste ouvert ({d.get('card_type') or 'CPx'})"
            case EventKind.DESK_LOCKED:
                return "poste verrouillé : plus aucune donnée patient à l'écran"
            case EventKind.VITALE_INSERTED:
                return "carte Vitale insérée"
            case EventKind.VITALE_READ:
                shown = "" if d.get("shown") else " (poste verrouillé : rien n'est affiché)"
                return f"carte Vitale lue : {d.get('beneficiaries')} bénéficiaire(s){shown}"
            case EventKind.LOOKUPS_STARTED:
                return f"INSi puis DMP lancés pour {d.get('beneficiaries')} bénéficiaire(s)"
            case EventKind.INSI_RESULT:
                r = masked_row(row) if row else {}
                diff = f", différences carte/INSi : {', '.join(d['differences'])}" if d.get("differences") else ""
                ins = f" INS {d['ins']}" if d.get("ins") else ""
                code = d.get("code")
                return (f"{who} : INSi CR {getattr(code, 'value', code)} ({r.get('insi', '')}){ins}, "
                        f"identité {status_words}{diff}")
            case EventKind.INSI_FAILED | EventKind.DMP_FAILED:
                return f"{who} : {t.problem(event.problem)}"
            case EventKind.DMP_RESULT:
                state = d.get("state")
                return (
                    f"{who} : {masked_row(row)['dmp'] if row else (state.value if isinstance(state, DmpState) else '')}"
                )
            case EventKind.QUALIFIED:
                document = d.get("document")
                return f"{who} : pièce vérifiée ({getattr(document, 'value', document)}), identité {status_words}"
            case EventKind.PATIENT_CLEARED:
                return "carte Vitale retirée : données du patient effacées"
            case EventKind.MANUAL_PATIENT:
                return "patient sans carte : recherche INSi par traits"
            case EventKind.PAGE_OPENED:
                return t("page.opened", page=t.page(str(d.get("page", ""))))
            case EventKind.PAGE_CLOSED:
                return t("page.closed")
            case EventKind.LINK_PRINTED | EventKind.TICKET_PRINTED:
                return t("print.done")
            case EventKind.HIS_CANDIDATES:
                return f"{who} : système de l'hôpital, {d.get('candidates')} patient(s) connu(s) ({d.get('status')})"
            case EventKind.HIS_FAILED:
                return f"{who} : {t.problem(event.problem)}"
            case EventKind.HIS_SENT:
                return (f"{who} : identité envoyée au système de l'hôpital ({d.get('event')}, message "
                        f"{d.get('control_id')})")
            case EventKind.HIS_ACKNOWLEDGED:
                refused = f" — {t.problem(event.problem)}" if event.problem else ""
                return f"système de l'hôpital : message {d.get('control_id')} acquitté {d.get('ack')}{refused}"
        return ""
