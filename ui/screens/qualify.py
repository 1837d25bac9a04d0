"""INS qualification: staff record which high-trust ID document they checked against INSi's traits."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kiosk.desk import DeskStateError, IdDocument, PatientRow
from ui.format import birth_date
from ui.screens.base import DeskModal

__all__ = ["QualifyScreen"]


class QualifyScreen(DeskModal):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Annuler")]

    def __init__(self, card_counter: int, row: PatientRow) -> None:
        super().__init__(card_counter)
        self.row = row

    def compose(self) -> ComposeResult:
        t = self.t
        traits = self.row.insi.traits if self.row.insi else None
        if traits is not None:
            against = (f"{traits.nom_naissance} {' '.join(traits.prenoms)}, {traits.sexe}, "
                       f"né(e) le {birth_date(traits.date_naissance)}")
        else:
            b = self.row.beneficiary
            against = t(
                "qualify.no_traits", traits=f"{b.birth_name} {b.prenom}, né(e) le {birth_date(b.date_naissance)}"
            )
        with Vertical(classes="dialog"):
            yield self.test_card_line()
            yield Static(t("qualify.title"), classes="dialog-title")
            yield Static(t("qualify.against", traits=against))
            yield OptionList(*[Option(t.document(d), id=d.name) for d in IdDocument], id="documents")
            yield Static(t("qualify.hint"), classes="hint")
            yield Static("", id="message")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        document = IdDocument[str(event.option.id)]
        try:
            status = self.desk.controller.qualify(self.row.index, document)
        except DeskStateError as e:
            self.query_one("#message", Static).update(self.t.problem(e.problem))
            return
        self.desk.notify(self.t("qualify.done", status=self.t.status(status), document=self.t.document(document)))
        self.dismiss()
