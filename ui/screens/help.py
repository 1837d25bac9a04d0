"""F1: the desk's keys, in French, on one screen that fits 80×24."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from ui.screens.base import DeskScreen

__all__ = ["KEYS", "HelpScreen"]

KEYS = (
    ("Carte CPE/CPS", "insérez-la, tapez votre code à 4 chiffres, Entrée : le poste s'ouvre"),
    ("Carte Vitale", "insérez-la : les bénéficiaires s'affichent, INSi puis le DMP sont interrogés"),
    ("↑ ↓", "choisir un bénéficiaire (son détail s'affiche)"),
    ("Tab", "passer au détail (flèches pour le faire défiler)"),
    ("Q", "qualifier l'identité : pièce d'identité vérifiée"),
    ("A", "pages du DMP (Web PS), impression du lien ou du ticket d'admission"),
    ("T", "chercher un patient par ses traits (sans carte, ou enfant inconnu sur la carte du parent)"),
    ("H", "système de l'hôpital (GAM) : choisir le patient connu ou « nouveau patient », puis envoyer"),
    ("R", "relancer les recherches qui ont échoué"),
    ("V", "verrouiller le poste (retirer la carte le verrouille aussi)"),
    ("D ou F12", "diagnostic de la borne"),
    ("F1", "cette aide"),
    ("Échap", "fermer une fenêtre"),
    ("Alt+F4", "dans le navigateur (page du DMP) : le fermer et revenir au poste"),
    ("Ctrl+Q", "quitter le programme (technicien)"),
)


class HelpScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Retour")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.desk.show_clock, icon="")
        yield Static(self.t("help.title"), classes="dialog-title")
        with VerticalScroll():
            yield Static("\n".join(f"{key:<14}{what}" for key, what in KEYS), id="keys")
        yield Footer()
