"""What every desk screen has: it is shown a fresh `DeskView` after each change, and reaches the app typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.app import App
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from kiosk.desk import DeskView
from kiosk.desk.events import DeskEvent
from kiosk.desk.texts import Texts

if TYPE_CHECKING:
    from ui.app import DeskApp

__all__ = ["DeskModal", "DeskScreen"]


class _HasApp(Protocol):
    @property
    def app(self) -> App[Any]: ...


class _Typed:
    @property
    def desk(self: _HasApp) -> DeskApp:
        """The app, typed (`self.app` is a plain `App`)."""
        return cast("DeskApp", self.app)

    @property
    def t(self: _HasApp) -> Texts:
        """The desk's text catalogue, with the site's overrides."""
        return cast("DeskApp", self.app).texts


class DeskScreen(_Typed, Screen[None]):
    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        """Render `view`; `event` is what just happened (None on the first show)."""


class DeskModal(_Typed, ModalScreen[None]):
    """A dialog about the current patient: it closes itself as soon as that patient leaves."""

    def __init__(self, card_counter: int) -> None:
        super().__init__()
        self.card_counter = card_counter

    def test_card_line(self) -> Static:
        """"CARTE DE TEST" on every dialog that shows a test card's patient (empty otherwise)."""
        shown = self.desk.controller.view().test_card
        line = Static(self.t("test_card") if shown else "", classes="test-card")
        line.display = shown
        return line

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        if not view.is_open or view.card_counter != self.card_counter or not view.rows:
            self.dismiss()
