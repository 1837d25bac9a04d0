"""The staff PIN: masked, 4 digits, tries left shown; Enter submits."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.widgets import Footer, Header, Input, Static

from kiosk.desk import DeskStateError, DeskView, StaffPhase
from kiosk.service.controller import DeskEvent
from ui.screens.base import DeskScreen

__all__ = ["PinScreen"]


class PinScreen(DeskScreen):
    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.app.show_clock, icon="")  # type: ignore[attr-defined]
        with Middle(), Center():
            yield Static("", id="holder")
            yield Input(placeholder="····", password=True, restrict=r"[0-9]*", max_length=4, id="pin")
            yield Static("", id="tries")
            yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pin", Input).focus()

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        t = self.app.texts  # type: ignore[attr-defined]
        holder = view.holder.name if view.holder else ""
        self.query_one("#holder", Static).update(t("staff.pin", holder=holder))
        tries = "" if view.pin_tries_left is None else t("staff.tries", tries=view.pin_tries_left)
        self.query_one("#tries", Static).update(tries)
        pin = self.query_one("#pin", Input)
        checking = view.staff_phase is StaffPhase.CHECKING_PIN
        pin.disabled = checking
        if checking:
            message = t("staff.checking")
        elif view.staff_message == "code incorrect":
            message = t("staff.wrong", tries=view.pin_tries_left if view.pin_tries_left is not None else "?")
        elif view.staff_message == "poste verrouillé après inactivité":
            message = t("staff.locked_idle")
        else:
            message = view.staff_message
        self.query_one("#message", Static).update(message)
        if not checking:
            pin.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value
        event.input.value = ""
        if len(value) != 4:
            self.query_one("#message", Static).update("Le code porteur a 4 chiffres.")
            return
        try:
            self.app.controller.submit_pin(value)  # type: ignore[attr-defined]
        except DeskStateError as e:
            self.query_one("#message", Static).update(str(e))
