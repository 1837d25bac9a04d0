"""What every desk screen has: it is shown a fresh `DeskView` after each change."""

from __future__ import annotations

from textual.screen import ModalScreen, Screen

from kiosk.desk import DeskView
from kiosk.service.controller import DeskEvent

__all__ = ["DeskModal", "DeskScreen"]


class DeskScreen(Screen[None]):
    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        """Render `view`; `event` is what just happened (None on the first show)."""


class DeskModal(ModalScreen[None]):
    """A dialog about the current patient: it closes itself as soon as that patient leaves."""

    def __init__(self, card_counter: int) -> None:
        super().__init__()
        self.card_counter = card_counter

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        if not view.is_open or view.card_counter != self.card_counter or not view.rows:
            self.dismiss()
