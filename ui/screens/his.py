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

from kiosk.desk import DeskStateError, DeskView, PatientRow, Step
from kiosk.desk.events import DeskEvent
from kiosk.desk.texts import Texts
from kiosk.errors import KioskError
from kiosk.service.his_desk import NEW_PATIENT, HisRow
from ui.format import birth_date
from ui.screens.base import DeskModal

__all__ = ["HisScreen", "his_detail", "pending_text"]

_STATES = {"queued": "en file", "sending": "envoi…", "retrying": "non acquitté, nouvel essai", "refused": "refusé"}


def his_detail(his: HisRow | None, enabled: bool, texts: Texts) -> Text:
    """The detail panel's hospital section."""
    t = Text()
    if not enabled:
        return t
    t.append("\nSystème de l'hôpital : ", style="bold")
    if his is None or his.step is Step.IDLE:
        t.append("pas encore interrogé\n")
        return t
    if his.step is Step.PENDING:
        t.append("recherche" + (" par INS" if his.by_ins else "") + "…\n")
    elif his.step is Step.FAILED:
        t.append("échec\n")
        t.append(texts.problem(his.problem) + "\n", style="reverse")
    else:
        t.append(f"{len(his.candidates)} patient(s) connu(s)" + (" (recherche par INS)" if his.by_ins else "") + "\n")
    for n, c in enumerate(his.candidates, start=1):
        mark = "→ " if his.choice == n - 1 else "  "
        t.append(
            f"{mark}{n}. IPP {c.ipp.value}  {c.birth_name} {' '.join(c.first_names)}"
            f"{' (' + c.used_name + ')' if c.used_name else ''}, {c.sex or '?'}, né(e) le {birth_date(c.birth_date)}"
            f"{', lieu ' + c.birthplace if c.birthplace else ''}{', INS connu' if c.ins else ''}\n"
        )
    if his.choice == NEW_PATIENT:
        t.append("→ nouveau patient\n")
    if his.sent:
        t.append(f"Identité envoyée (message {his.sent})\n")
    elif his.step is Step.DONE:
        t.append("h : choisir le patient de l'hôpital puis envoyer l'identité\n", style="dim")
    return t


def pending_text(views: list[Any]) -> str:
    if not views:
        return ""
    parts = [f"{v.label} {_STATES.get(v.state.value, v.state.value)}" + (f" : {v.error}" if v.error else "")
             for v in views]
    return f"{len(views)} message(s) non acquitté(s) par le système de l'hôpital — " + " ; ".join(parts)


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
            yield Static("Système de l'hôpital (GAM)", classes="dialog-title")
            yield Static("", id="his")
            yield Static("", id="pending")
            yield Static("1-9 : ce patient · n : nouveau patient · Entrée : envoyer · x : abandonner un message en "
                         "attente · Échap : fermer", classes="hint")
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
        self.query_one("#pending", Static).update(pending_text(his.pending()))

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
        waiting = [v for v in views if v.state.value in ("refused", "retrying")]
        if waiting:
            self._do(self.desk.controller.his_drop, waiting[0].control_id)
