"""Web PS pages for the selected beneficiary: open one in the browser, print its link, or an admission ticket."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kiosk.desk import DeskStateError, DeskView, PatientRow
from kiosk.desk.events import DeskEvent, Reason
from ui.screens.base import DeskModal

__all__ = ["ActionsScreen"]


class ActionsScreen(DeskModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Fermer"),
        Binding("p", "print_link", "Imprimer le lien"),
        Binding("i", "print_ticket", "Ticket d'admission"),
    ]

    def __init__(self, card_counter: int, row: PatientRow | None) -> None:
        super().__init__(card_counter)
        self.row = row
        self.has_ins = bool(row and row.insi and row.insi.found and row.insi.key_ok)

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        if self.row is None:
            if not view.is_open or view.rows:
                self.dismiss()
            return
        super().show(view, event)

    def compose(self) -> ComposeResult:
        t = self.t
        options = []
        for page, needs_ins in self.desk.pages.items():
            usable = self.has_ins or not needs_ins
            label = t.page(page) if usable else t("actions.needs_ins", page=t.page(page))
            options.append(Option(label, id=page, disabled=not usable))
        who = f"{self.row.beneficiary.nom_usuel} {self.row.beneficiary.prenom}" if self.row else t("actions.no_patient")
        with Vertical(classes="dialog"):
            yield self.test_card_line()
            yield Static(t("actions.title", who=who), classes="dialog-title")
            yield OptionList(*options, id="pages")
            yield Static(t("actions.hint"), classes="hint")
            yield Static("", id="message")

    def _page(self) -> tuple[str, int | None] | None:
        pages = self.query_one("#pages", OptionList)
        if pages.highlighted is None:
            return None
        option = pages.get_option_at_index(pages.highlighted)
        if option.disabled:
            return None
        needs_ins = self.desk.pages[str(option.id)]
        return str(option.id), (self.row.index if self.row and needs_ins else None)

    def _run(self, action: str) -> None:
        controller = self.desk.controller
        try:
            if action == "ticket":
                if self.row is None:
                    raise DeskStateError(Reason.NO_PATIENT_SELECTED)
                controller.print_ticket(self.row.index)
            else:
                target = self._page()
                if target is None:
                    raise DeskStateError(Reason.CHOOSE_PAGE)
                page, index = target
                (controller.open_page if action == "open" else controller.print_page)(index, page)
                if action == "open":
                    self.desk.notify(self.t("page.opening", page=self.t.page(page)))
        except DeskStateError as e:
            self.query_one("#message", Static).update(self.t.problem(e.problem))
            return
        self.dismiss()

    def on_option_list_option_selected(self, _: OptionList.OptionSelected) -> None:
        self._run("open")

    def action_print_link(self) -> None:
        self._run("link")

    def action_print_ticket(self) -> None:
        self._run("ticket")
