"""The open desk: the beneficiaries table, the selected one's detail, and what staff can do next."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from kiosk.desk import DeskStateError, DeskView, PatientPhase
from kiosk.service.controller import DeskEvent
from ui.format import detail, row_cells
from ui.screens.base import DeskScreen

__all__ = ["OpenDeskScreen"]

# Fixed widths: the table does not jump while answers arrive (the detail panel has the full texts).
COLUMNS = (("Nom Prénom", 24), ("Naissance", 10), ("Qualité", 8), ("Identité", 20), ("DMP", 19))


class OpenDeskScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "qualify", "Qualifier"),
        Binding("a", "actions", "Pages / impression"),
        Binding("t", "traits", "Sans carte (traits)"),
        Binding("r", "retry", "Relancer"),
        Binding("d", "diagnostics", "Diagnostic"),
        Binding("v", "lock", "Verrouiller"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._view: DeskView | None = None
        self._shown_counter: int | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.app.show_clock, icon="")  # type: ignore[attr-defined]
        yield Static("", id="staff")
        yield Static("", id="waiting")
        with Horizontal(id="patient"):
            table: DataTable[str] = DataTable(id="rows", cursor_type="row", zebra_stripes=False)
            for label, width in COLUMNS:
                table.add_column(label, width=width)
            yield table
            with VerticalScroll(id="detail-box"):  # Tab reaches it; arrows scroll a long detail
                yield Static("", id="detail")
        yield Static("", id="notice")
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        """A narrow console (80 columns): the detail goes under the table instead of beside it."""
        narrow = event.size.width < 110
        self.query_one("#patient").set_class(narrow, "narrow")

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        t = self.app.texts  # type: ignore[attr-defined]
        self._view = view
        holder = view.holder
        self.query_one("#staff", Static).update(
            t("desk.open", holder=f"{holder.name} ({holder.card_type or 'CPx'})" if holder else "")
        )
        waiting = self.query_one("#waiting", Static)
        patient = self.query_one("#patient")
        if view.patient_phase is PatientPhase.READING:
            waiting.update(t("patient.reading"))
        elif view.patient_phase is PatientPhase.UNREADABLE:
            waiting.update(t("patient.unreadable", message=view.patient_message))
        elif not view.rows:
            waiting.update(t("waiting.vitale"))
        waiting.display = not view.rows
        patient.display = bool(view.rows)
        self._fill(view)
        if event is not None:
            notice = self.query_one("#notice", Static)
            if "message" in event.data:
                notice.update(str(event.data["message"]))
            elif event.kind in ("vitale_inserted", "manual_patient"):
                notice.update("")

    def _fill(self, view: DeskView) -> None:
        table = self.query_one("#rows", DataTable)
        cursor = table.cursor_row if view.card_counter == self._shown_counter else 0
        table.clear()
        for row in view.rows:
            table.add_row(*row_cells(row), key=str(row.index))
        self._shown_counter = view.card_counter
        if view.rows:
            table.move_cursor(row=min(cursor, len(view.rows) - 1))
            table.focus()
        self._show_detail()

    def _show_detail(self) -> None:
        row = self.selected()
        self.query_one("#detail", Static).update(detail(row) if row else "")

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def selected(self):  # type: ignore[no-untyped-def]
        if self._view is None or not self._view.rows:
            return None
        table = self.query_one("#rows", DataTable)
        index = min(max(table.cursor_row, 0), len(self._view.rows) - 1)
        return self._view.rows[index]

    def _say(self, text: str) -> None:
        self.query_one("#notice", Static).update(text)

    def action_qualify(self) -> None:
        row = self.selected()
        if row is None or self._view is None:
            return
        from ui.screens.qualify import QualifyScreen

        self.app.push_screen(QualifyScreen(self._view.card_counter, row))

    def action_actions(self) -> None:
        from ui.screens.actions import ActionsScreen

        row = self.selected()
        counter = self._view.card_counter if self._view else 0
        self.app.push_screen(ActionsScreen(counter, row))

    def action_traits(self) -> None:
        from ui.screens.traits import TraitsScreen

        self.app.push_screen(TraitsScreen())

    def action_retry(self) -> None:
        try:
            if not self.app.controller.retry():  # type: ignore[attr-defined]
                self._say("Rien à relancer.")
        except DeskStateError as e:
            self._say(str(e))

    def action_diagnostics(self) -> None:
        self.app.action_diagnostics()  # type: ignore[attr-defined]

    def action_lock(self) -> None:
        try:
            self.app.controller.lock()  # type: ignore[attr-defined]
        except DeskStateError as e:
            self._say(str(e))
