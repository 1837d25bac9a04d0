"""The staff PIN: masked, 4 digits, tries left shown (the last one warned of); Enter submits."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.widgets import Footer, Header, Input, Static

from kiosk.desk import DeskStateError, DeskView, StaffPhase
from kiosk.desk.events import DeskEvent, Reason
from ui.screens.base import DeskScreen

__all__ = ["PinScreen"]


class PinScreen(DeskScreen):
    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.desk.show_clock, icon="")
        with Middle(), Center():
            yield Static("", id="holder")
            yield Input(placeholder="····", password=True, restrict=r"[0-9]*", max_length=4, id="pin")
            yield Static("", id="tries")
            yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        pin = self.query_one("#pin", Input)
        pin.cursor_blink = False  # an idle desk must not wake the terminal twice a second
        pin.focus()

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        t = self.t
        holder = view.holder.name if view.holder else ""
        self.query_one("#holder", Static).update(t("staff.pin", holder=holder))
        tries = "" if view.pin_tries_left is None else t("staff.tries", tries=view.pin_tries_left)
        if view.pin_tries_left == 1:
            tries += "\n" + t("staff.last_try")
        self.query_one("#tries", Static).update(tries)
        pin = self.query_one("#pin", Input)
        checking = view.staff_phase is StaffPhase.CHECKING_PIN
        pin.disabled = checking
        message = t("staff.checking") if checking else t.problem(view.staff_problem or view.lock_problem)
        self.query_one("#message", Static).update(message)
        if not checking:
            pin.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value
        event.input.value = ""
        if len(value) != 4:
            self.query_one("#message", Static).update(self.t.reason(Reason.PIN_FORMAT))
            return
        try:
            self.desk.controller.submit_pin(value)
        except DeskStateError as e:
            self.query_one("#message", Static).update(self.t.problem(e.problem))
