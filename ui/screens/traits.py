"""INSi by identity traits, for a patient who came without a Vitale card."""

from __future__ import annotations

import re
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from kiosk.desk import DeskStateError, ReferenceTraits

__all__ = ["TraitsScreen", "parse_traits"]

_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_LIEU = re.compile(r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$")

FIELDS = (
    ("nom", "Nom de naissance"),
    ("prenoms", "Prénom(s), séparés par des virgules"),
    ("sexe", "Sexe (M ou F)"),
    ("naissance", "Date de naissance (JJ/MM/AAAA)"),
    ("lieu", "Lieu de naissance (code INSEE, 5 caractères ; 99xxx à l'étranger)"),
)


def parse_traits(values: dict[str, str]) -> ReferenceTraits:
    """Check what staff typed; the error says which field and what is expected."""
    nom = " ".join(values.get("nom", "").upper().split())
    prenoms = tuple(p.strip().upper() for p in values.get("prenoms", "").split(",") if p.strip())
    sexe = values.get("sexe", "").strip().upper()
    date = _DATE.match(values.get("naissance", "").strip())
    lieu = values.get("lieu", "").strip().upper()
    if not nom:
        raise DeskStateError("nom de naissance obligatoire")
    if not prenoms:
        raise DeskStateError("au moins un prénom obligatoire")
    if sexe not in ("M", "F"):
        raise DeskStateError("sexe : M ou F")
    if date is None:
        raise DeskStateError("date de naissance : JJ/MM/AAAA (00 accepté pour un jour ou un mois inconnu)")
    if lieu and not _LIEU.match(lieu):
        raise DeskStateError("lieu de naissance : code INSEE de 5 caractères (ex. 63220, 2A020, 99100)")
    return ReferenceTraits(nom, prenoms, sexe, f"{date.group(3)}-{date.group(2)}-{date.group(1)}", lieu)


class TraitsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Annuler")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Recherche INSi par traits d'identité", classes="dialog-title")
            for key, label in FIELDS:
                yield Static(label)
                yield Input(id=key, max_length=80)
            yield Static("Entrée : champ suivant, puis rechercher · Échap : annuler", classes="hint")
            yield Static("", id="message")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        keys = [k for k, _ in FIELDS]
        position = keys.index(str(event.input.id))
        if position < len(keys) - 1:
            self.query_one(f"#{keys[position + 1]}", Input).focus()
            return
        values = {k: self.query_one(f"#{k}", Input).value for k in keys}
        try:
            traits = parse_traits(values)
            self.app.controller.lookup_traits(traits)  # type: ignore[attr-defined]
        except DeskStateError as e:
            self.query_one("#message", Static).update(str(e))
            return
        self.dismiss()
