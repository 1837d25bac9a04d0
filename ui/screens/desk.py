"""The open desk: the beneficiaries table, the selected one's detail, and what staff can do next.

Built from small widgets (`#staff`, the table, `#detail-box`, `#notice`) inside `#patient`, so another panel
(e.g. the hospital system's candidates) can be composed beside the detail without touching this screen's logic.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from kiosk.desk import DeskStateError, DeskView, PatientPhase, PatientRow
from kiosk.desk.events import DeskEvent, EventKind, Reason
from ui.format import detail, row_cells
from ui.screens.base import DeskScreen

__all__ = ["OpenDeskScreen"]

NARROW = 110  # below this many columns the detail goes under the table, and the columns shrink
# Fixed widths (the table does not jump while answers arrive); a cut cell ends with "…" and the detail panel
# has the whole text. Wide: 81 columns of text; narrow: fits 80 with the cell padding and the scroll bar.
COLUMNS = ("name", "birth", "quality", "identity", "dmp")
WIDE = (24, 10, 8, 20, 19)
NARROW_WIDTHS = (20, 10, 7, 13, 16)


class OpenDeskScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        # Short labels: the whole footer, F1 included, fits 80 columns (F1 lists what each key does).
        Binding("q", "qualify", "Qualifier"),
        Binding("a", "actions", "Pages"),
        Binding("t", "traits", "Traits"),
        Binding("h", "his", "Hôpital"),
        Binding("r", "retry", "Relancer"),
        Binding("v", "lock", "Verrouiller"),
        Binding("d", "diagnostics", "Diagnostic", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._view: DeskView | None = None
        self._shown_counter: int | None = None
        self._widths: tuple[int, ...] = ()

    @property
    def column_widths(self) -> tuple[int, ...]:
        """The widths the rows are drawn with now (they follow the screen's width)."""
        return self._widths

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.desk.show_clock, icon="")
        yield Static("", id="staff")
        yield Static("", id="test-card")
        yield Static("", id="waiting")
        with Horizontal(id="patient"):
            yield DataTable(id="rows", cursor_type="row", zebra_stripes=False)
            with VerticalScroll(id="detail-box"):  # Tab reaches it; arrows scroll a long detail
                yield Static("", id="detail")
        yield Static("", id="countdown")
        yield Static("", id="notice")
        yield Footer()

    def on_mount(self) -> None:
        self._set_columns(WIDE if self.app.size.width >= NARROW else NARROW_WIDTHS)

    def on_resize(self, event: events.Resize) -> None:
        """A narrow console (80 columns): the detail goes under the table and the columns shrink."""
        narrow = event.size.width < NARROW
        self.query_one("#patient").set_class(narrow, "narrow")
        if self._set_columns(NARROW_WIDTHS if narrow else WIDE) and self._view is not None:
            self._fill(self._view)

    def _columns(self) -> tuple[str, ...]:
        """An INSi-only kiosk ([dmp] enabled = false) has no DMP column."""
        return COLUMNS if self.desk.dmp else COLUMNS[:-1]

    def _set_columns(self, widths: tuple[int, ...]) -> bool:
        if widths == self._widths:
            return False
        table = self.query_one("#rows", DataTable)
        table.clear(columns=True)
        for key, width in zip(self._columns(), widths, strict=False):
            table.add_column(self.t(f"column.{key}"), width=width, key=key)
        self._widths = widths
        return True

    def countdown(self, text: str) -> None:
        line = self.query_one("#countdown", Static)
        line.update(text)
        line.display = bool(text)

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        t = self.t
        self._view = view
        holder = view.holder
        self.query_one("#staff", Static).update(
            t("desk.open", holder=f"{holder.name} ({holder.card_type or 'CPx'})" if holder else "")
        )
        marker = self.query_one("#test-card", Static)
        marker.update(t("test_card") if view.test_card and view.rows else "")
        marker.display = view.test_card and bool(view.rows)
        waiting = self.query_one("#waiting", Static)
        patient = self.query_one("#patient")
        if view.patient_phase is PatientPhase.READING:
            waiting.update(t("patient.reading"))
        elif view.patient_phase is PatientPhase.UNREADABLE:
            waiting.update(t("patient.unreadable", problem=t.problem(view.patient_problem)))
        elif not view.rows:
            waiting.update(t("waiting.vitale"))
        waiting.display = not view.rows
        patient.display = bool(view.rows)
        self._fill(view)
        if event is not None:
            if event.kind is EventKind.HIS_PENDING:  # the hospital's unacknowledged messages stay in sight
                from ui.screens.his import pending_text

                self._say(pending_text(self.desk.controller.his.pending(), self.t))
            elif event.problem is not None:
                self._say(t.problem(event.problem))
            elif event.kind in (EventKind.VITALE_INSERTED, EventKind.MANUAL_PATIENT, EventKind.DESK_OPENED):
                self._say("")

    def _fill(self, view: DeskView) -> None:
        table = self.query_one("#rows", DataTable)
        cursor = table.cursor_row if view.card_counter == self._shown_counter else 0
        table.clear()
        for row in view.rows:
            table.add_row(*row_cells(row, self.t, self._widths)[: len(self._columns())], key=str(row.index))
        self._shown_counter = view.card_counter
        if view.rows:
            table.move_cursor(row=min(cursor, len(view.rows) - 1))
            if not isinstance(self.focused, VerticalScroll):
                table.focus()
        self._show_detail()

    def _show_detail(self) -> None:
        row = self.selected()
        if row is None:
            self.query_one("#detail", Static).update("")
            return
        from ui.screens.his import his_detail

        his = self.desk.controller.his
        self.query_one("#detail", Static).update(
            detail(row, self.t) + his_detail(his.row(row.index), his.enabled, self.t)
        )

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def selected(self) -> PatientRow | None:
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
        if row.insi is not None and row.insi.found and not row.insi.key_ok:
            self._say(self.t.reason(Reason.INS_KEY_INVALID))  # refused at once: no dialog for an unusable INS
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

        view = self._view
        replaces = view is not None and view.patient_phase is PatientPhase.READ and bool(view.rows)
        self.app.push_screen(TraitsScreen(self.selected(), replaces=replaces))

    def action_his(self) -> None:
        row = self.selected()
        if row is None or self._view is None:
            return
        from ui.screens.his import HisScreen

        self.app.push_screen(HisScreen(self._view.card_counter, row))

    def action_retry(self) -> None:
        try:
            if not self.desk.controller.retry():
                self._say(self.t.reason(Reason.NOTHING_TO_RETRY))
        except DeskStateError as e:
            self._say(self.t.problem(e.problem))

    def action_diagnostics(self) -> None:
        self.desk.action_diagnostics()

    def action_lock(self) -> None:
        try:
            self.desk.controller.lock(Reason.LOCKED_MANUAL)
        except DeskStateError as e:
            self._say(self.t.problem(e.problem))
