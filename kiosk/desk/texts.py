"""The desk's French words, by text id: ONE catalogue for the screens, the JSON journal and the local API.

Code passes codes around (`Reason`, `EventKind`, `DmpState`, `InsiCode`, `InsStatus`, `Step`, page names);
this module turns them into words at the edge. `[ui] texts` in the configuration overrides any entry (a site
may say "Bienvenue" rather than "Accueil"). Texts that tell of a fault say what happened and who acts.
A test checks that every member of every enum rendered here has its entry.
"""

from __future__ import annotations

from collections.abc import Mapping

from kiosk.desk.events import EventKind, Problem, Reason
from kiosk.desk.outcomes import DmpState, IdDocument, InsiCode, InsStatus
from kiosk.desk.view import Step

__all__ = ["DEFAULT_TEXTS", "Texts", "dmp_words", "insi_words", "is_text_id"]

_SCREENS: dict[str, str] = {
    "title": "Accueil",
    "test_card": "CARTE DE TEST : patient fictif",
    "waiting.staff": "Insérez votre carte professionnelle (CPE ou CPS)",
    "waiting.vitale": "Insérez la carte Vitale, ou T pour chercher un patient sans carte",
    "staff.reading": "Lecture de la carte professionnelle…",
    "staff.refused": "Carte professionnelle refusée : {problem} Retirez-la et insérez une carte CPE ou CPS.",
    "staff.pin": "Code porteur de {holder}",
    "staff.tries": "Essais restants : {tries}",
    "staff.last_try": "Attention : dernier essai. Un code faux bloque la carte.",
    "staff.checking": "Vérification du code…",
    "staff.blocked": "Code porteur bloqué. Retirez la carte et faites-la débloquer (code de déblocage ou gestionnaire "
    "des cartes).",
    "desk.open": "Poste ouvert : {holder}",
    "desk.locked": "Poste verrouillé",
    "desk.idle_warning": "Verrouillage automatique dans {seconds} s (appuyez sur une touche pour rester)",
    "patient.reading": "Lecture de la carte Vitale…",
    "patient.unreadable": "Carte Vitale illisible : {problem} "
                          "Retirez-la, vérifiez le sens d'insertion et réinsérez-la.",
    "patient.locked": "Une carte Vitale est présente : ouvrez le poste pour voir le patient.",
    "qualify.done": "Identité {status} (pièce vérifiée : {document}).",
    "qualify.title": "Pièce d'identité vérifiée",
    "qualify.against": "Comparez la pièce avec : {traits}",
    "qualify.no_traits": "{traits} (pas de traits INSi)",
    "qualify.hint": "Entrée : enregistrer · Échap : annuler",
    "print.done": "Impression envoyée.",
    "page.opening": "Ouverture de la page « {page} »…",
    "page.opened": "Page « {page} » ouverte dans le navigateur.",
    "page.closed": "Page du Web PS fermée : plus aucune donnée du patient à l'écran.",
    "actions.title": "Web PS — {who}",
    "actions.no_patient": "sans patient",
    "actions.needs_ins": "{page} (INS nécessaire)",
    "actions.hint": "Entrée : ouvrir · P : imprimer le lien · I : ticket d'admission · Échap : fermer",
    "traits.title": "Recherche INSi par traits d'identité",
    "traits.hint": "Entrée : champ suivant, puis rechercher · Échap : annuler",
    "traits.replace": "Le patient de la carte Vitale sera remplacé à l'écran. Entrée pour confirmer, Échap pour "
                      "annuler.",
    "traits.homonyms": "Plusieurs identités : donnez tous les prénoms de l'état civil, dans l'ordre.",
    "traits.place_code": "code saisi",
    "his.title": "Système de l'hôpital (GAM)",
    "his.section": "Système de l'hôpital : ",
    "his.idle": "pas encore interrogé",
    "his.searching": "recherche…",
    "his.searching_by_ins": "recherche par INS…",
    "his.failed": "échec",
    "his.found": "{count} patient(s) connu(s)",
    "his.found_by_ins": "{count} patient(s) connu(s) (recherche par INS)",
    "his.candidate": "{n}. IPP {ipp}  {names}{used_name}, {sex}, né(e) le {birth_date}{birthplace}{ins}",
    "his.candidate.used_name": " ({name})",
    "his.candidate.birthplace": ", lieu {place}",
    "his.candidate.ins": ", INS connu",
    "his.new_patient": "nouveau patient",
    "his.sent": "Identité envoyée (message {control_id})",
    "his.choose_hint": "h : choisir le patient de l'hôpital puis envoyer l'identité",
    "his.hint": "1-9 : ce patient · n : nouveau patient · Entrée : envoyer · x : abandonner un message en attente · "
    "Échap : fermer",
    "his.pending": "{count} message(s) non acquitté(s) par le système de l'hôpital — {messages}",
    "his.state.queued": "en file",
    "his.state.sending": "envoi…",
    "his.state.retrying": "non acquitté, nouvel essai",
    "his.state.refused": "refusé",
    "traits.field.nom": "Nom de naissance",
    "traits.field.prenoms": "Prénoms (tous)",
    "traits.field.sexe": "Sexe (M ou F)",
    "traits.field.naissance": "Né(e) le",
    "traits.field.lieu": "Lieu de naissance",
    "traits.formats": "Date : 14072009, 14/07/2009 ou 14 07 2009. Lieu : commune, code postal ou code INSEE "
    "(99xxx à l'étranger).",
    "retry.nothing": "Rien à relancer.",
    "help.title": "Aide : les touches du poste",
    "diagnostics.title": "Diagnostic de la borne",
    "diagnostics.checking": "Vérification en cours…",
    "diagnostics.all_ok": "Tout est en ordre.",
    "diagnostics.failed": "{count} point(s) à corriger : demandez au technicien (kiosk doctor).",
    "diagnostics.what": "Élément",
    "diagnostics.state": "État",
    "diagnostics.detail": "Détail",
    "quit.title": "Quitter ?",
    "quit.how": "Pour quitter le poste, tapez Ctrl+Q.",
    "help.staff_card": "insérez-la, tapez votre code à 4 chiffres, Entrée : le poste s'ouvre",
    "help.vitale_card": "insérez-la : les bénéficiaires s'affichent, INSi puis le DMP sont interrogés",
    "help.arrows": "choisir un bénéficiaire (son détail s'affiche)",
    "help.tab": "passer au détail (flèches pour le faire défiler)",
    "help.q": "qualifier l'identité : pièce d'identité vérifiée",
    "help.a": "pages du DMP (Web PS), impression du lien ou du ticket d'admission",
    "help.t": "chercher un patient par ses traits (sans carte, ou enfant inconnu sur la carte du parent)",
    "help.h": "système de l'hôpital (GAM) : choisir le patient connu ou « nouveau patient », puis envoyer",
    "help.r": "relancer les recherches qui ont échoué",
    "help.v": "verrouiller le poste (retirer la carte le verrouille aussi)",
    "help.d": "diagnostic de la borne",
    "help.f1": "cette aide",
    "help.escape": "fermer une fenêtre",
    "help.browser": "dans le navigateur (page du DMP) : le fermer et revenir au poste",
    "help.quit": "quitter le programme (technicien)",
    "column.name": "Nom Prénom",
    "column.birth": "Naissance",
    "column.quality": "Qualité",
    "column.identity": "Identité",
    "column.dmp": "DMP",
    "detail.birth_name": "Nom de naissance (carte) : {value}",
    "detail.born": "Né(e) le {date}   Sexe : {sex}   Rang : {rank}",
    "detail.doubtful": "À vérifier (illisible sur la carte) : {fields}",
    "doubtful.rang_naissance": "rang",
    "doubtful.qualite": "qualité",
    "doubtful.nom_naissance": "nom de naissance",
    "quality.doubtful": "? (à vérifier)",
    "detail.status": "Statut de l'identité : {status}",
    "detail.document": " (pièce vérifiée : {document})",
    "detail.insi": "INSi : {words}",
    "detail.ins": "INS : {ins}   OID : {oid}",
    "detail.key_invalid": "Attention : clé de l'INS invalide. Identité non qualifiable : signalez-la au référent "
    "d'identitovigilance.",
    "detail.former": "Ancien INS : {ins} ({oid})",
    "detail.reference": "Traits de référence INSi :",
    "detail.reference_line": "  {name} {first_names}, {sex}, né(e) le {date}, lieu {place}",
    "detail.differences": "Différences carte / INSi :",
    "detail.difference": "  ! {trait} : carte « {card} », INSi « {insi} »",
    "detail.dmp": "DMP : {words}",
    "identity.inconsistent": "INS incohérent",
    "identity.homonyms": "{status} (homonymes)",
    "identity.unknown": "{status} (inconnu)",
    "insi.key_invalid": "INS incohérent (clé invalide)",
    "key.quit": "Quitter",
}

_REASONS: dict[Reason, str] = {
    Reason.PIN_WRONG: "Code incorrect.",
    Reason.PIN_BLOCKED: "Code porteur bloqué.",
    Reason.PIN_FORMAT: "Le code porteur a 4 chiffres.",
    Reason.LOCKED_MANUAL: "Poste verrouillé : tapez votre code pour le rouvrir.",
    Reason.LOCKED_IDLE: "Poste verrouillé après inactivité : tapez votre code.",
    Reason.LOCKED_CONFIG: "Poste verrouillé : la configuration a changé ({detail}). Tapez votre code.",
    Reason.LOCKED_READERS_DOWN: "Poste verrouillé : les lecteurs ne répondent plus.",
    Reason.READER_UNREACHABLE: "Lecteur injoignable. Vérifiez son câble USB, puis réinsérez la carte.",
    Reason.CARD_SWAPPED: "La carte a été retirée ou changée pendant la lecture : réinsérez-la.",
    Reason.CARD_DATA_INVALID: "Les données de la carte sont invalides : essayez une autre carte ou saisissez les "
                              "traits (touche T).",
    Reason.NO_BENEFICIARY: "aucun bénéficiaire sur la carte.",
    Reason.READERS_DOWN: "Service des lecteurs (pcscd) arrêté : la borne se reconnecte seule ; si cela dure, "
                         "demandez au technicien.",
    Reason.PATIENT_CLEARED: "Carte retirée : données effacées.",
    Reason.NETWORK_DOWN: "{service} injoignable : le réseau ne répond pas. Vérifiez le câble réseau, puis relancez "
                         "(touche R).",
    Reason.SERVICE_DOWN: "{service} ne répond pas ({detail}) : réessayez dans quelques minutes (touche R).",
    Reason.CERTIFICATE_REFUSED: "{service} a refusé la connexion sécurisée (certificat) : demandez au technicien.",
    Reason.SERVICE_ERROR: "{service} a répondu par une erreur ({detail}) : réessayez (touche R) ; si cela dure, "
                          "demandez au technicien.",
    Reason.CONFIG_INCOMPLETE: "Configuration incomplète ({detail}) : demandez au technicien (kiosk doctor).",
    Reason.CONFIG_REFUSED: "Nouvelle configuration refusée ({detail}) : l'ancienne reste en service ; demandez au "
                           "technicien.",
    Reason.BROWSER_FAILED: "Le navigateur n'a pas affiché la page ({detail}). Réessayez ; si cela dure, demandez "
                           "au technicien.",
    Reason.NO_DISPLAY: "Pas d'écran graphique pour le navigateur : imprimez le lien (touche P) ou demandez au "
                       "technicien.",
    Reason.BROWSER_CLOSED: "Le navigateur s'est fermé avant d'afficher la page. Réessayez.",
    Reason.PRINTER_FAILED: "Impression impossible ({detail}). Vérifiez le papier et le câble de l'imprimante.",
    Reason.DESK_NOT_OPEN: "Ouvrez d'abord le poste avec votre carte professionnelle.",
    Reason.NO_PIN_ASKED: "Aucun code porteur n'est demandé.",
    Reason.NO_STAFF_READING: "Aucune lecture de carte professionnelle en cours.",
    Reason.NO_PIN_CHECK: "Aucune vérification de code en cours.",
    Reason.NOTHING_TO_LOOK_UP: "Aucune recherche à lancer.",
    Reason.NOTHING_TO_RETRY: "Rien à relancer.",
    Reason.DMP_BEFORE_INSI: "Le DMP ne peut être interrogé qu'après une réponse INSi avec INS.",
    Reason.UNKNOWN_BENEFICIARY: "Bénéficiaire inconnu.",
    Reason.NO_ANSWER_EXPECTED: "Aucune réponse attendue pour ce bénéficiaire.",
    Reason.WAIT_FOR_INSI: "Attendez la réponse INSi avant de vérifier la pièce d'identité.",
    Reason.INS_KEY_INVALID: "INS incohérent (clé invalide) : identité non qualifiable. Signalez-la au référent "
                            "d'identitovigilance.",
    Reason.NO_VALID_INS: "Ce bénéficiaire n'a pas d'INS valide : page impossible.",
    Reason.NO_PATIENT_SELECTED: "Aucun patient sélectionné.",
    Reason.CHOOSE_PAGE: "Choisissez une page disponible.",
    Reason.TRAITS_NAME: "Nom de naissance obligatoire.",
    Reason.TRAITS_FIRST_NAME: "Au moins un prénom obligatoire.",
    Reason.TRAITS_SEX: "Sexe : M ou F.",
    Reason.TRAITS_DATE: "Date de naissance : 14072009, 14/07/2009 ou 14 07 2009 (00 accepté pour un jour ou un mois "
                        "inconnu).",
    Reason.TRAITS_PLACE: "Lieu de naissance : commune, code postal ou code INSEE de 5 caractères (ex. 63220, 2A020, "
                         "99100).",
    Reason.TRAITS_PLACE_UNKNOWN: "Lieu de naissance inconnu : « {detail} ». Pour une commune fusionnée depuis ou une "
                                 "naissance à l'étranger, tapez le code INSEE.",
    Reason.TRAITS_PLACE_AMBIGUOUS: "Plusieurs lieux possibles : {detail}. Tapez le nom de la commune avec son code "
                                   "postal (« Saint-Denis 93200 ») ou « INSEE 63113 » pour un code INSEE.",
    Reason.CARD_CHANGED: "La carte a changé : relisez les identités avant d'agir.",
    Reason.AUDIT_UNAVAILABLE: "Journal d'audit impossible à écrire : aucune action patient n'est acceptée (une action "
                              "non tracée n'a pas lieu). Demandez au technicien.",
    Reason.PIN_DESK_ONLY: "Dernier essai du code porteur : il se saisit au poste, pas par l'API.",
    Reason.INTERNAL: "Erreur interne : redémarrez la borne si le poste ne répond plus, et prévenez le technicien.",
    Reason.HIS_WAIT: "Attendez la réponse du système de l'hôpital avant de choisir.",
    Reason.HIS_UNKNOWN_CANDIDATE: "Ce numéro n'est pas dans la liste des patients de l'hôpital.",
    Reason.HIS_CHOOSE_FIRST: "Choisissez d'abord le patient de l'hôpital (1 à 9) ou « nouveau patient » (touche N).",
    Reason.HIS_DISABLED: "Liaison avec le système de l'hôpital désactivée : demandez au technicien ([his]).",
    Reason.HIS_REFUSED: "Le système de l'hôpital a refusé l'identité ({detail}) : corrigez-la ou abandonnez le "
                        "message (touche X), puis prévenez le référent d'identitovigilance.",
}

INSI_TEXTS: dict[InsiCode, str] = {
    InsiCode.FOUND: "INS trouvé",
    InsiCode.NOT_FOUND: "aucune identité trouvée",
    InsiCode.SEVERAL: "plusieurs identités : aucune retenue",
}
DMP_TEXTS: dict[DmpState, str] = {
    DmpState.AUTHORISED: "DMP ouvert, accès autorisé",
    DmpState.NOT_AUTHORISED: "DMP ouvert, accès à autoriser",
    DmpState.BLOCKED: "DMP ouvert, accès bloqué par le patient",
    DmpState.EMERGENCY_REFUSED: "DMP ouvert, accès en urgence refusé",
    DmpState.CLOSED: "DMP fermé (réactivation par Mon espace santé)",
    DmpState.NOT_CREATED: "pas de DMP (création par Mon espace santé)",
    DmpState.NO_INS: "non interrogé (pas d'INS valide)",
    DmpState.UNKNOWN: "état du DMP non reconnu (voir le Web PS)",
}
DMP_SHORT_TEXTS: dict[DmpState, str] = {
    DmpState.AUTHORISED: "ouvert, autorisé",
    DmpState.NOT_AUTHORISED: "ouvert, à autoriser",
    DmpState.BLOCKED: "bloqué (patient)",
    DmpState.EMERGENCY_REFUSED: "urgence refusée",
    DmpState.CLOSED: "fermé",
    DmpState.NOT_CREATED: "pas de DMP",
    DmpState.NO_INS: "non interrogé",
    DmpState.UNKNOWN: "état inconnu",
}
STATUS_TEXTS: dict[InsStatus, str] = {
    InsStatus.PROVISOIRE: "provisoire",
    InsStatus.RECUPEREE: "récupérée",
    InsStatus.VALIDEE: "validée",
    InsStatus.QUALIFIEE: "qualifiée",
}
_STEP: dict[Step, str] = {
    Step.IDLE: "en attente", Step.PENDING: "recherche…", Step.DONE: "fait", Step.FAILED: "échec",
    Step.SKIPPED: "non interrogé",
}
_DOCUMENTS: dict[IdDocument, str] = {d: d.value for d in IdDocument}
# Web PS pages (webps-links.md): what a receptionist calls them; a configured page not listed shows its name.
_PAGES: dict[str, str] = {
    "TableauDeBord": "Tableau de bord",
    "DossierPatient": "Dossier du patient",
    "GestionDMPPatient": "Gestion du DMP du patient",
    "Documents": "Documents",
    "Parcoursdesoins": "Parcours de soins",
    "ParcoursDeSoins": "Parcours de soins",
    "HistoriqueAcces": "Historique des accès",
    "volontesetdroits": "Volontés et droits",
    "VolontesEtDroits": "Volontés et droits",
    "CarnetVaccination": "Carnet de vaccination",
    "Parametrages": "Paramétrages",
}


# The headless narrator's sentences (ui/narrator.py), by event kind; `.variant` ids for the same event told
# otherwise. Patient words arrive masked (`{who}` = initials). Events absent here are not narrated.
_NARRATION: dict[str, str] = {
    EventKind.STAFF_CARD_INSERTED.value: "carte professionnelle insérée",
    EventKind.STAFF_CARD_READ.value: "carte {card_type} lue ({tries} essai(s) de code) : code demandé",
    f"{EventKind.STAFF_CARD_READ.value}.blocked": "carte {card_type} lue : code porteur bloqué",
    EventKind.PIN_WRONG.value: "code incorrect, {tries} essai(s) restant(s)",
    EventKind.PIN_BLOCKED.value: "code porteur bloqué",
    EventKind.DESK_OPENED.value: "poste ouvert ({card_type})",
    EventKind.DESK_LOCKED.value: "poste verrouillé : plus aucune donnée patient à l'écran",
    EventKind.VITALE_INSERTED.value: "carte Vitale insérée",
    EventKind.VITALE_READ.value: "carte Vitale lue : {count} bénéficiaire(s)",
    f"{EventKind.VITALE_READ.value}.locked": "carte Vitale lue : {count} bénéficiaire(s) (poste verrouillé : rien "
    "n'est affiché)",
    EventKind.LOOKUPS_STARTED.value: "INSi puis DMP lancés pour {count} bénéficiaire(s)",
    EventKind.INSI_RESULT.value: "{who} : INSi CR {code} ({answer}){ins}, identité {status}{differences}",
    "insi_result.ins": " INS {ins}",
    "insi_result.differences": ", différences carte/INSi : {fields}",
    EventKind.DMP_RESULT.value: "{who} : {dmp}",
    EventKind.QUALIFIED.value: "{who} : pièce vérifiée ({document}), identité {status}",
    EventKind.PATIENT_CLEARED.value: "carte Vitale retirée : données du patient effacées",
    EventKind.MANUAL_PATIENT.value: "patient sans carte : recherche INSi par traits",
    EventKind.HIS_CANDIDATES.value: "{who} : système de l'hôpital, {count} patient(s) connu(s) ({status})",
    EventKind.HIS_SENT.value: "{who} : identité envoyée au système de l'hôpital ({event}, message {control_id})",
    EventKind.HIS_ACKNOWLEDGED.value: "système de l'hôpital : message {control_id} acquitté {ack}{refused}",
    "problem": "problème : {problem}",
    "who_problem": "{who} : {problem}",
}


def _catalogue() -> dict[str, str]:
    out = dict(_SCREENS)
    out.update({f"reason.{k.value}": v for k, v in _REASONS.items()})
    out.update({f"insi.{k.value}": v for k, v in INSI_TEXTS.items()})
    out.update({f"dmp.{k.value}": v for k, v in DMP_TEXTS.items()})
    out.update({f"dmp.short.{k.value}": v for k, v in DMP_SHORT_TEXTS.items()})
    out.update({f"status.{k.value}": v for k, v in STATUS_TEXTS.items()})
    out.update({f"step.{k.value}": v for k, v in _STEP.items()})
    out.update({f"document.{k.name}": v for k, v in _DOCUMENTS.items()})
    out.update({f"page.{k}": v for k, v in _PAGES.items()})
    out.update({f"narrate.{k}": v for k, v in _NARRATION.items()})
    return out


DEFAULT_TEXTS: dict[str, str] = _catalogue()


def is_text_id(key: str) -> bool:
    """An id `[ui] texts` may override: a catalogue entry, or the name of a page the site configured."""
    return key in DEFAULT_TEXTS or (key.startswith("page.") and len(key) > len("page."))


class Texts:
    """The catalogue with a site's overrides. An unknown id is a bug: it raises KeyError."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self._texts = {**DEFAULT_TEXTS, **{k: v for k, v in (overrides or {}).items() if is_text_id(k)}}

    def __call__(self, key: str, **values: object) -> str:
        text = self._texts[key]
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):  # a site's override with a wrong placeholder: show it as written
            return text

    # ---- codes to words ---------------------------------------------------------------------------------------
    def problem(self, problem: Problem | None) -> str:
        if problem is None:
            return ""
        return self(
            f"reason.{problem.reason.value}", detail=problem.detail or "?", service=problem.service or "le service"
        )

    def reason(self, reason: Reason, detail: str = "") -> str:
        return self.problem(Problem(reason, detail))

    def status(self, status: InsStatus) -> str:
        return self(f"status.{status.value}")

    def document(self, document: IdDocument) -> str:
        return self(f"document.{document.name}")

    def page(self, page: str) -> str:
        """ "Dossier du patient", not `DossierPatient`."""
        key = f"page.{page}"
        return self(key) if key in self._texts else page

    def step(self, step: Step) -> str:
        return self(f"step.{step.value}")

    def insi(self, step: Step, code: InsiCode | None, key_ok: bool = True) -> str:
        if step is not Step.DONE or code is None:
            return self.step(step)
        if code is InsiCode.FOUND and not key_ok:
            return self("insi.key_invalid")
        return self(f"insi.{code.value}")

    def dmp(self, step: Step, state: DmpState | None, short: bool = False) -> str:
        if step is not Step.DONE or state is None:
            return self.step(step)
        return self(f"dmp.short.{state.value}" if short else f"dmp.{state.value}")


_DEFAULT = Texts()


def insi_words(step: Step, code: InsiCode | None, key_ok: bool = True) -> str:
    """The default catalogue's words (for callers without a site's `Texts`, e.g. the local API)."""
    return _DEFAULT.insi(step, code, key_ok)


def dmp_words(step: Step, state: DmpState | None) -> str:
    return _DEFAULT.dmp(step, state)
