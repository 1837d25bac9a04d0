"""The desk's French texts, by message id: one catalogue for the screens, the journal and the local API.

`[ui] texts` in the configuration overrides any of them (a site may say "Bienvenue" rather than "Accueil").
Texts that tell of a fault always say what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping

from kiosk.desk.outcomes import DmpState, InsiCode, InsStatus
from kiosk.desk.view import Step

__all__ = ["DEFAULT_TEXTS", "Texts", "dmp_words", "insi_words"]

DEFAULT_TEXTS: dict[str, str] = {
    "title": "Accueil",
    "waiting.staff": "Insérez votre carte professionnelle (CPE ou CPS)",
    "waiting.vitale": "Insérez la carte Vitale",
    "staff.reading": "Lecture de la carte professionnelle…",
    "staff.refused": "Carte professionnelle refusée : {message}. Retirez-la et insérez une carte CPE ou CPS.",
    "staff.pin": "Code porteur de {holder}",
    "staff.tries": "Essais restants : {tries}",
    "staff.checking": "Vérification du code…",
    "staff.wrong": "Code incorrect. Essais restants : {tries}.",
    "staff.blocked": "Code porteur bloqué. Retirez la carte et faites-la débloquer (code de déblocage ou gestionnaire des cartes).",
    "staff.locked_idle": "Poste verrouillé après inactivité : tapez votre code.",
    "desk.open": "Poste ouvert : {holder}",
    "desk.locked": "Poste verrouillé",
    "patient.reading": "Lecture de la carte Vitale…",
    "patient.unreadable": "Carte Vitale illisible : {message}. Retirez-la, vérifiez le sens d'insertion et réinsérez-la.",
    "patient.cleared": "Carte retirée : données effacées.",
    "patient.locked": "Une carte Vitale est présente : ouvrez le poste pour voir le patient.",
    "error.reader": "Lecteur injoignable. Vérifiez son câble USB, puis réinsérez la carte.",
    "error.swapped": "La carte a été retirée ou changée pendant la lecture : réinsérez-la.",
    "error.card": "Les données de la carte sont invalides : essayez une autre carte ou saisissez les traits (touche T).",
    "error.insi": "INSi n'a pas répondu ({detail}). Vérifiez le réseau puis relancez (touche R).",
    "error.dmp": "Le DMP n'a pas répondu ({detail}). Vérifiez le réseau puis relancez (touche R).",
    "error.config": "Configuration incomplète ({detail}) : appelez le technicien (kiosk doctor).",
    "error.backend_down": "Service des lecteurs (pcscd) arrêté : la borne se reconnecte seule ; si cela dure, appelez le technicien.",
    "error.printer": "Impression impossible ({detail}). Vérifiez le papier et le câble de l'imprimante.",
    "error.browser": "Le navigateur n'a pas pu s'ouvrir ({detail}). Appelez le technicien.",
    "error.audit": "Journal d'audit impossible à écrire : aucune action patient n'est acceptée (une action non tracée n'a pas lieu). Appelez le technicien.",
    "staff.pin_desk_only": "Dernier essai du code porteur : il se saisit au poste, pas par l'API.",
    "qualify.done": "Identité {status} (pièce vérifiée : {document}).",
    "print.done": "Impression envoyée.",
    "page.opened": "Page {page} ouverte dans le navigateur.",
}

_INSI = {
    InsiCode.FOUND: "INS trouvé",
    InsiCode.NOT_FOUND: "aucune identité trouvée",
    InsiCode.SEVERAL: "plusieurs identités : aucune retenue",
}
_DMP = {
    DmpState.AUTHORISED: "DMP ouvert, accès autorisé",
    DmpState.NOT_AUTHORISED: "DMP ouvert, accès à autoriser",
    DmpState.BLOCKED: "DMP ouvert, accès bloqué par le patient",
    DmpState.EMERGENCY_REFUSED: "DMP ouvert, accès en urgence refusé",
    DmpState.CLOSED: "DMP fermé (réactivation par Mon espace santé)",
    DmpState.NOT_CREATED: "pas de DMP (création par Mon espace santé)",
    DmpState.NO_INS: "non interrogé (pas d'INS valide)",
    DmpState.UNKNOWN: "état du DMP non reconnu (voir le Web PS)",
}
_STEP = {Step.IDLE: "en attente", Step.PENDING: "recherche…", Step.FAILED: "échec", Step.SKIPPED: "non interrogé"}


def insi_words(step: Step, code: InsiCode | None, key_ok: bool = True) -> str:
    if step is not Step.DONE or code is None:
        return _STEP[step]
    if code is InsiCode.FOUND and not key_ok:
        return "INS incohérent (clé invalide)"
    return _INSI[code]


def dmp_words(step: Step, state: DmpState | None) -> str:
    if step is not Step.DONE or state is None:
        return _STEP[step]
    return _DMP[state]


def status_words(status: InsStatus) -> str:
    return f"identité {status.value}"


class Texts:
    """The catalogue with a site's overrides. An unknown id is a bug: it raises KeyError."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self._texts = {**DEFAULT_TEXTS, **{k: v for k, v in (overrides or {}).items() if k in DEFAULT_TEXTS}}

    def __call__(self, key: str, **values: object) -> str:
        text = self._texts[key]
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):  # a site's override with a wrong placeholder: show it as written
            return text
