"""The headless renderer: desk events told as short French sentences, patient data masked (initials,
`2970...78`), for `kiosk demo --headless` and anyone reading a terminal without the TUI."""

from __future__ import annotations

import threading
from typing import TextIO

from kiosk.desk import DeskView
from kiosk.service.controller import DeskEvent
from kiosk.service.eventlog import masked_row

__all__ = ["Narrator"]


class Narrator:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()

    def __call__(self, view: DeskView, event: DeskEvent) -> None:
        text = self.sentence(view, event)
        if text:
            self.say("   " + text)

    @staticmethod
    def sentence(view: DeskView, event: DeskEvent) -> str:
        d = event.data
        row = view.row(d["index"]) if isinstance(d.get("index"), int) else None
        who = masked_row(row)["initials"] if row else ""
        match event.kind:
            case "staff_card_inserted":
                return "carte professionnelle insérée"
            case "staff_card_read":
                if d.get("blocked"):
                    return f"carte {d.get('card_type') or 'CPx'} lue : code porteur bloqué"
                return f"carte {d.get('card_type') or 'CPx'} lue ({d.get('tries_left')} essai(s) de code) : code demandé"
            case "staff_card_refused" | "vitale_unreadable" | "pin_error" | "action_failed" | "readers_down" | "error":
                return f"problème : {d.get('message', '')}"
            case "pin_wrong":
                return f"code incorrect, {d.get('tries_left')} essai(s) restant(s)"
            case "pin_blocked":
                return "code porteur bloqué"
            case "desk_opened":
                return f"poste ouvert ({d.get('card_type') or 'CPx'})"
            case "desk_locked":
                return "poste verrouillé : plus aucune donnée patient à l'écran"
            case "vitale_inserted":
                return "carte Vitale insérée"
            case "vitale_read":
                shown = "" if d.get("shown") else " (poste verrouillé : rien n'est affiché)"
                return f"carte Vitale lue : {d.get('beneficiaries')} bénéficiaire(s){shown}"
            case "lookups_started":
                return f"INSi puis DMP lancés pour {d.get('beneficiaries')} bénéficiaire(s)"
            case "insi_result":
                r = masked_row(row) if row else {}
                diff = f", différences carte/INSi : {', '.join(d['differences'])}" if d.get("differences") else ""
                ins = f" INS {d['ins']}" if d.get("ins") else ""
                return f"{who} : INSi CR {d.get('code')} ({r.get('insi', '')}){ins}, identité {d.get('status')}{diff}"
            case "insi_failed" | "dmp_failed":
                return f"{who} : {d.get('message', '')}"
            case "dmp_result":
                return f"{who} : {masked_row(row)['dmp'] if row else d.get('state')}"
            case "qualified":
                return f"{who} : pièce vérifiée ({d.get('document')}), identité {d.get('status')}"
            case "patient_cleared":
                return "carte Vitale retirée : données du patient effacées"
            case "manual_patient":
                return "patient sans carte : recherche INSi par traits"
            case "page_opened" | "link_printed" | "ticket_printed":
                return str(d.get("message", ""))
        return ""
