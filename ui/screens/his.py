"""The hospital system (GAM) for the selected beneficiary: PDQ candidates, the receptionist's pick, the send.

Shown under the detail panel (`his_detail`) and, on `h`, as a dialog: digits pick a candidate, `n` says
« nouveau patient », Entrée sends (ADT^A31 for a candidate, ADT^A28 for a new patient); the messages the
hospital has not acknowledged are listed there too, `x` drops the first refused or waiting one.
Several candidates are listed side by side and never merged: the kiosk sends nothing until staff chose.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from kiosk.appliance.service.his_desk import NEW_PATIENT, HisRow
from kiosk.desk import DeskStateError, DeskView, PatientRow, Step
from kiosk.desk.events import DeskEvent
from kiosk.desk.texts import Texts
from kiosk.errors import KioskError
from kiosk.teleservices.his.link import PendingState, PendingView
from ui.format import birth_date
from ui.screens.base import DeskModal

__all__ = ["HisScreen", "his_detail", "pending_text"]

def his_detail(his: HisRow | None, enabled: bool, texts: Texts) -> Text:
    """The detail panel's hospital section, in the catalogue's words (`his.*`)."""
    t = Text()
    if not enabled:
        return t
    t.append("\n" + texts("his.section"), style="bold")
    if his is None or his.step is Step.IDLE:
        t.append(texts("his.idle") + "\n")
        return t
    if his.step is Step.PENDING:
        t.append(texts("his.searching_by_ins" if his.by_ins else "his.searching") + "\n")
    elif his.step is Step.FAILED:
        t.append(texts("his.failed") + "\n")
        t.append(texts.problem(his.problem) + "\n", style="reverse")
    else:
        t.append(texts("his.found_by_ins" if his.by_ins else "his.found", count=len(his.candidates)) + "\n")
    for n, c in enumerate(his.candidates, start=1):
        mark = "→ " if his.choice == n - 1 else "  "
        line = texts(
            "his.candidate",
            n=n,
            ipp=c.ipp.value,
            names=" ".join([c.birth_name, *c.first_names]),
            used_name=texts("his.candidate.used_name", name=c.used_name) if c.used_name else "",
            sex=c.sex or "?",
            birth_date=birth_date(c.birth_date),
            birthplace=texts("his.candidate.birthplace", place=c.birthplace) if c.birthplace else "",
            ins=texts("his.candidate.ins") if c.ins else "",
        )
        t.append(f"{mark}{line}\n")
    if his.choice == NEW_PATIENT:
        t.append(f"→ {texts('his.new_patient')}\n")
    if his.sent:
        t.append(texts("his.sent", control_id=his.sent) + "\n")
    elif his.step is Step.DONE:
        t.append(texts("his.choose_hint") + "\n", style="dim")
    return t


def pending_text(views: list[PendingView], texts: Texts) -> str:
    if not views:
        return ""
    parts = [f"{v.label} {texts(f'his.state.{v.state.value}')}" + (f" : {v.error}" if v.error else "") for v in views]
    return texts("his.pending", count=len(views), messages=" ; ".join(parts))


class HisScreen(DeskModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Fermer"),
        Binding("n", "new_patient", "Nouveau patient"),
        Binding("enter", "send", "Envoyer"),
        Binding("x", "drop", "Abandonner un message"),
        *[Binding(str(d), f"pick({d})", show=False) for d in range(1, 10)],
    ]

    def __init__(self, card_counter: int, row: PatientRow) -> None:
        super().__init__(card_counter)
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.t("his.title"), classes="dialog-title")
            yield Static("", id="his")
            yield Static("", id="pending")
            yield Static(self.t("his.hint"), classes="hint")
            yield Static("", id="message")

    def on_mount(self) -> None:
        self._refresh()

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        super().show(view, event)
        row = view.row(self.row.index)
        if row is not None:
            self.row = row
        self._refresh()

    def _refresh(self) -> None:
        his = self.desk.controller.his
        self.query_one("#his", Static).update(his_detail(his.row(self.row.index), his.enabled, self.t))
        self.query_one("#pending", Static).update(pending_text(his.pending(), self.t))

    def _do(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except DeskStateError as e:
            self.query_one("#message", Static).update(self.t.problem(e.problem))
            return
        except KioskError as e:  # a message that does not validate: its text names the rule, never the patient
            self.query_one("#message", Static).update(str(e))
            return
        self.query_one("#message", Static).update("")
        self._refresh()

    def action_pick(self, n: int) -> None:
        self._do(self.desk.controller.his_choose, self.row.index, n - 1)

    def action_new_patient(self) -> None:
        self._do(self.desk.controller.his_choose, self.row.index, NEW_PATIENT)

    def action_send(self) -> None:
        self._do(self.desk.controller.his_send, self.row.index)

    def action_drop(self) -> None:
        views = self.desk.controller.his.pending()
        waiting = [v for v in views if v.state in (PendingState.REFUSED, PendingState.RETRYING)]
        if waiting:
            self._do(self.desk.controller.his_drop, waiting[0].control_id)
