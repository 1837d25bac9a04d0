"""The headless renderer: desk events told as short French sentences, patient data masked (initials,
`2970...78`), for `kiosk demo --headless` and anyone reading a terminal without the TUI. Reasons, states and
page names come from the desk's text catalogue."""

from __future__ import annotations

import threading
from typing import TextIO

from kiosk.appliance.service.eventlog import masked_row
from kiosk.desk import DeskView, DmpState, InsStatus
from kiosk.desk.events import DeskEvent, EventKind
from kiosk.desk.texts import Texts

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
        """The event told in the catalogue's words (`narrate.*` ids); "" for events not narrated."""
        t, d, kind = self.texts, event.data, event.kind
        row = view.row(d["index"]) if isinstance(d.get("index"), int) else None
        who = masked_row(row)["initials"] if row else ""
        status = d.get("status")
        status_words = t.status(status) if isinstance(status, InsStatus) else ""
        card_type = d.get("card_type") or "CPx"

        def say(key: str, **values: object) -> str:
            return t(f"narrate.{key}", **values)

        if kind in _PROBLEM_EVENTS:
            return say("problem", problem=t.problem(event.problem))
        match kind:
            case EventKind.STAFF_CARD_READ:
                if d.get("blocked"):
                    return say("staff_card_read.blocked", card_type=card_type)
                return say(kind.value, card_type=card_type, tries=d.get("tries_left"))
            case EventKind.PIN_WRONG:
                return say(kind.value, tries=d.get("tries_left"))
            case EventKind.DESK_OPENED:
                return say(kind.value, card_type=card_type)
            case EventKind.VITALE_READ:
                return say(kind.value if d.get("shown") else "vitale_read.locked", count=d.get("beneficiaries"))
            case EventKind.LOOKUPS_STARTED:
                return say(kind.value, count=d.get("beneficiaries"))
            case EventKind.INSI_RESULT:
                code = d.get("code")
                return say(
                    kind.value,
                    who=who,
                    code=getattr(code, "value", code),
                    answer=masked_row(row)["insi"] if row else "",
                    ins=say("insi_result.ins", ins=d["ins"]) if d.get("ins") else "",
                    status=status_words,
                    differences=(
                        say("insi_result.differences", fields=", ".join(d["differences"]))
                        if d.get("differences")
                        else ""
                    ),
                )
            case EventKind.INSI_FAILED | EventKind.DMP_FAILED | EventKind.HIS_FAILED:
                return say("who_problem", who=who, problem=t.problem(event.problem))
            case EventKind.DMP_RESULT:
                state = d.get("state")
                words = masked_row(row)["dmp"] if row else (state.value if isinstance(state, DmpState) else "")
                return say(kind.value, who=who, dmp=words)
            case EventKind.QUALIFIED:
                document = d.get("document")
                return say(kind.value, who=who, document=getattr(document, "value", document), status=status_words)
            case EventKind.PAGE_OPENED:
                return t("page.opened", page=t.page(str(d.get("page", ""))))
            case EventKind.PAGE_CLOSED:
                return t("page.closed")
            case EventKind.LINK_PRINTED | EventKind.TICKET_PRINTED:
                return t("print.done")
            case EventKind.HIS_CANDIDATES:
                return say(kind.value, who=who, count=d.get("candidates"), status=d.get("status"))
            case EventKind.HIS_SENT:
                return say(kind.value, who=who, event=d.get("event"), control_id=d.get("control_id"))
            case EventKind.HIS_ACKNOWLEDGED:
                refused = f" — {t.problem(event.problem)}" if event.problem else ""
                return say(kind.value, control_id=d.get("control_id"), ack=d.get("ack"), refused=refused)
            case (
                EventKind.STAFF_CARD_INSERTED
                | EventKind.PIN_BLOCKED
                | EventKind.DESK_LOCKED
                | EventKind.VITALE_INSERTED
                | EventKind.PATIENT_CLEARED
                | EventKind.MANUAL_PATIENT
            ):
                return say(kind.value)
        return ""
