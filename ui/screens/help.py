"""F1: the desk's keys, in French, on one screen that fits 80×24."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from ui.screens.base import DeskScreen

__all__ = ["KEYS", "HelpScreen"]

# The keys (as printed) and their help text id in the desk's catalogue (`help.<id>`), in the order shown.
KEYS = (
    ("Carte CPE/CPS", "staff_card"),
    ("Carte Vitale", "vitale_card"),
    ("↑ ↓", "arrows"),
    ("Tab", "tab"),
    ("Q", "q"),
    ("A", "a"),
    ("T", "t"),
    ("H", "h"),
    ("R", "r"),
    ("V", "v"),
    ("D ou F12", "d"),
    ("F1", "f1"),
    ("Échap", "escape"),
    ("Alt+F4", "browser"),
    ("Ctrl+Q", "quit"),
)


class HelpScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Retour")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.desk.show_clock, icon="")
        yield Static(self.t("help.title"), classes="dialog-title")
        with VerticalScroll():
            yield Static("\n".join(f"{key:<14}{self.t(f'help.{ident}')}" for key, ident in KEYS), id="keys")
        yield Footer()
