"""Web PS pages for the selected beneficiary: open one in the browser, print its link, or an admission ticket."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kiosk.desk import DeskStateError, DeskView, PatientRow
from kiosk.service.controller import DeskEvent
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
        pages: dict[str, bool] = self.app.pages  # type: ignore[attr-defined]
        options = []
        for page, needs_ins in pages.items():
            usable = self.has_ins or not needs_ins
            label = page if usable else f"{page} (INS nécessaire)"
            options.append(Option(label, id=page, disabled=not usable))
        who = f"{self.row.beneficiary.nom_usuel} {self.row.beneficiary.prenom}" if self.row else "sans patient"
        with Vertical(classes="dialog"):
            yield Static(f"Web PS — {who}", classes="dialog-title")
            yield OptionList(*options, id="pages")
            yield Static("Entrée : ouvrir · P : imprimer le lien · I : ticket d'admission · Échap : fermer", classes="hint")
            yield Static("", id="message")

    def _page(self) -> tuple[str, int | None] | None:
        pages = self.query_one("#pages", OptionList)
        if pages.highlighted is None:
            return None
        option = pages.get_option_at_index(pages.highlighted)
        if option.disabled:
            return None
        needs_ins = self.app.pages[str(option.id)]  # type: ignore[attr-defined]
        return str(option.id), (self.row.index if self.row and needs_ins else None)

    def _run(self, action: str) -> None:
        controller = self.app.controller  # type: ignore[attr-defined]
        try:
            if action == "ticket":
                if self.row is None:
                    raise DeskStateError("aucun patient sélectionné")
                controller.print_ticket(self.row.index)
            else:
                target = self._page()
                if target is None:
                    raise DeskStateError("choisissez une page disponible")
                page, index = target
                (controller.open_page if action == "open" else controller.print_page)(index, page)
        except DeskStateError as e:
            self.query_one("#message", Static).update(str(e))
            return
        self.dismiss()

    def on_option_list_option_selected(self, _: OptionList.OptionSelected) -> None:
        self._run("open")

    def action_print_link(self) -> None:
        self._run("link")

    def action_print_ticket(self) -> None:
        self._run("ticket")
