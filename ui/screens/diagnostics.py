"""Diagnostics for staff and technicians: readers, services, param-lps age, certificates, fleet sync."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from ui.screens.base import DeskScreen

__all__ = ["DiagnosticsScreen"]


class DiagnosticsScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Retour"),
        Binding("f5", "refresh", "Actualiser"),
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.desk.show_clock, icon="")
        yield Static(self.t("diagnostics.title"), classes="dialog-title")
        table: DataTable[str] = DataTable(id="checks", cursor_type="row")
        # Fixed widths: auto-sized columns sometimes kept their label's width after `clear()` + `add_row()`
        # (seen on a loaded 2-core machine), which cut every line to a few letters.
        table.add_column(self.t("diagnostics.what"), width=30)
        table.add_column(self.t("diagnostics.state"), width=6)
        table.add_column(self.t("diagnostics.detail"), width=90)
        yield table
        yield Static("", id="check-detail")  # the highlighted row's whole text: nothing is cut silently
        yield Static(self.t("diagnostics.checking"), id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.query_one("#message", Static).update(self.t("diagnostics.checking"))
        self._collect()

    @work(thread=True, exclusive=True)
    def _collect(self) -> None:
        try:
            rows = self.desk.controller.ports.diagnostics()
        except Exception as e:  # noqa: BLE001  (a diagnostic that fails is itself a diagnostic)
            rows = [{"what": "diagnostic", "ok": False, "detail": f"{type(e).__name__}: {e}"}]
        self.app.call_from_thread(self._fill, rows)

    def _fill(self, rows: list[dict[str, Any]]) -> None:
        table = self.query_one("#checks", DataTable)
        table.clear()
        for r in rows:
            state = "OK" if r.get("ok") else ("?" if r.get("ok") is None else "ÉCHEC")
            table.add_row(str(r.get("what", "")), state, str(r.get("detail", "")))
        self._rows = rows
        self._show_detail(table.cursor_row)
        failed = sum(1 for r in rows if r.get("ok") is False)
        self.query_one("#message", Static).update(
            self.t("diagnostics.all_ok") if not failed else self.t("diagnostics.failed", count=failed)
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        rows = getattr(self, "_rows", [])
        if 0 <= index < len(rows):
            row = rows[index]
            self.query_one("#check-detail", Static).update(f"{row.get('what', '')} : {row.get('detail', '')}")
