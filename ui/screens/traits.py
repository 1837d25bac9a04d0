"""INSi by identity traits: a patient without a card, or a beneficiary INSi does not know from the card
(the usual case: a child on a parent's card). Prefilled from the selected beneficiary; replacing a card's
patient asks for a confirmation; after "homonymes" the form stays, with a hint to give every first name."""

from __future__ import annotations

import re
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from kiosk.desk import DeskStateError, DeskView, InsiCode, PatientRow, ReferenceTraits, Step
from kiosk.desk.events import DeskEvent, Reason
from kiosk.desk.texts import Texts
from kiosk.domain.places import PlaceError, find_birthplace
from ui.screens.base import DeskModal

__all__ = ["TraitsScreen", "parse_date", "parse_traits"]

_DATE = re.compile(r"^(\d{2})[/ .-]?(\d{2})[/ .-]?(\d{4})$")
_LIEU = re.compile(r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$")
FIELDS = ("nom", "prenoms", "sexe", "naissance", "lieu")


def parse_date(text: str) -> str | None:
    """`14072009`, `14/07/2009`, `14 07 2009` (or with dots / dashes) as YYYY-MM-DD; 00 kept for unknown parts."""
    match = _DATE.match(" ".join(text.split()))
    return f"{match.group(3)}-{match.group(2)}-{match.group(1)}" if match else None


def parse_traits(values: dict[str, str]) -> ReferenceTraits:
    """Check what staff typed; the error's reason says which field and what is expected."""
    nom = " ".join(values.get("nom", "").upper().split())
    prenoms = tuple(p.upper() for p in re.split(r"[,\s]+", values.get("prenoms", "")) if p)
    sexe = values.get("sexe", "").strip().upper()
    date = parse_date(values.get("naissance", ""))
    lieu = _birthplace(values.get("lieu", ""))
    if not nom:
        raise DeskStateError(Reason.TRAITS_NAME)
    if not prenoms:
        raise DeskStateError(Reason.TRAITS_FIRST_NAME)
    if sexe not in ("M", "F"):
        raise DeskStateError(Reason.TRAITS_SEX)
    if date is None:
        raise DeskStateError(Reason.TRAITS_DATE)
    return ReferenceTraits(nom, prenoms, sexe, date, lieu)


def _birthplace(typed: str) -> str:
    """The INSEE code for what staff typed: a commune's current name, its postcode, or the code itself."""
    typed = " ".join(typed.split())
    if not typed:
        return ""
    try:
        return find_birthplace(typed).code
    except PlaceError as e:
        if e.kind == "ambiguous":
            shown = " ; ".join(e.choices[:5]) + (" ; …" if len(e.choices) > 5 else "")
            raise DeskStateError(Reason.TRAITS_PLACE_AMBIGUOUS, shown) from None
        if e.kind == "missing" and _LIEU.match(typed.upper()):  # no list installed: the code as typed
            return typed.upper()
        if e.kind == "missing":
            raise DeskStateError(Reason.TRAITS_PLACE) from None
        raise DeskStateError(Reason.TRAITS_PLACE_UNKNOWN, typed) from None


def place_words(typed: str, t: Texts) -> str:
    """How the birthplace will be sent, for staff to check: "Clermont-Ferrand (63, 63113)" or "99100 (code saisi)"."""
    try:
        place = find_birthplace(typed)
    except PlaceError:
        return typed.upper()
    return place.commune.label() if place.commune else f"{place.code} ({t('traits.place_code')})"


def _prefill(row: PatientRow | None) -> dict[str, str]:
    if row is None:
        return {}
    b = row.beneficiary
    digits = "".join(c for c in b.date_naissance if c.isdigit())[:8]
    return {"nom": b.birth_name, "prenoms": b.prenom, "sexe": row.sex,
            "naissance": f"{digits[6:8]}/{digits[4:6]}/{digits[:4]}" if len(digits) == 8 else ""}


class TraitsScreen(DeskModal):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Annuler")]

    def __init__(self, row: PatientRow | None = None, *, replaces: bool = False, card_counter: int = 0) -> None:
        super().__init__(card_counter)
        self.prefill = _prefill(row)
        self.replaces = replaces  # a Vitale card's patient is on screen: confirm before replacing it
        self._confirmed = not replaces
        self._asked = False

    def show(self, view: DeskView, event: DeskEvent | None) -> None:
        if not view.is_open:
            self.dismiss()
            return
        row = view.rows[0] if self._asked and len(view.rows) == 1 else None
        if row is not None and row.insi is not None and row.insi.code is InsiCode.SEVERAL:
            self.query_one("#message", Static).update(self.t("traits.homonyms"))
            self._asked = False  # homonyms: the form stays for more first names
        elif row is not None and row.insi_step in (Step.DONE, Step.FAILED):
            self.dismiss()

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="dialog"):
            yield Static(t("traits.title"), classes="dialog-title")
            with VerticalScroll(classes="fields", can_focus=False):
                for key in FIELDS:  # one line per field (compact inputs): the form fits 80×24
                    with Horizontal(classes="field"):
                        yield Static(t(f"traits.field.{key}"), classes="label")
                        yield Input(self.prefill.get(key, ""), id=key, max_length=80, compact=True)
            yield Static(t("traits.formats"), classes="hint")
            yield Static(t("traits.hint"))
            yield Static(t("traits.replace") if self.replaces else "", id="message")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False
        self.query_one("#nom", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        position = FIELDS.index(str(event.input.id))
        if position < len(FIELDS) - 1:
            self.query_one(f"#{FIELDS[position + 1]}", Input).focus()
            return
        values = {k: self.query_one(f"#{k}", Input).value for k in FIELDS}
        try:
            traits = parse_traits(values)
        except DeskStateError as e:
            self.query_one("#message", Static).update(self.t.problem(e.problem))
            return
        if not self._confirmed:
            self._confirmed = True
            self.query_one("#message", Static).update(self.t("traits.replace"))
            return
        try:
            self.desk.controller.lookup_traits(traits)
        except DeskStateError as e:
            self.query_one("#message", Static).update(self.t.problem(e.problem))
            return
        self._asked = True
        lieu = values.get("lieu", "").strip()
        where = f" — {self.t('traits.field.lieu')} : {place_words(lieu, self.t)}" if lieu else ""
        self.query_one("#message", Static).update(self.t("step.pending") + where)
