"""The locked desk: insert a staff card (or it is being read, refused, blocked)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.widgets import Footer, Header, Static

from kiosk.desk import DeskView, StaffPhase
from kiosk.desk.events import DeskEvent
from ui.screens.base import DeskScreen

__all__ = ["WaitingScreen"]


class WaitingScreen(DeskScreen):
    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.desk.show_clock, icon="")
        with Middle(), Center():
            yield Static("", id="big")
            yield Static("", id="sub")
            yield Static("", id="notice")
        yield Footer()

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        t = self.t
        big = {
            StaffPhase.ABSENT: t("waiting.staff"),
            StaffPhase.READING: t("staff.reading"),
            StaffPhase.REFUSED: t("staff.refused", problem=t.problem(view.staff_problem)),
            StaffPhase.BLOCKED: t("staff.blocked"),
        }.get(view.staff_phase, t("waiting.staff"))
        self.query_one("#big", Static).update(big)
        self.query_one("#sub", Static).update(t("patient.locked") if view.patient_present else t("desk.locked"))
        if event is not None and event.problem is not None:
            self.query_one("#notice", Static).update(t.problem(event.problem))
