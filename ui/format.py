"""How patient data reads on the desk screen (the only place it appears in clear)."""

from __future__ import annotations

from rich.text import Text

from kiosk.desk import DmpState, InsiCode, PatientRow, Step
from kiosk.desk.texts import dmp_words, insi_words
from kiosk.patient import QUALITES

__all__ = ["birth_date", "detail", "row_cells"]


def birth_date(value: str) -> str:
    """YYYYMMDD or YYYY-MM-DD as JJ/MM/AAAA; lunar dates (00, > 31) are shown as they are, never "fixed"."""
    digits = "".join(c for c in value if c.isdigit())[:8]
    return f"{digits[6:8]}/{digits[4:6]}/{digits[:4]}" if len(digits) == 8 else value


def insi_text(row: PatientRow) -> str:
    insi = row.insi
    return insi_words(row.insi_step, insi.code if insi else None, insi.key_ok if insi and insi.ins else True)


def dmp_text(row: PatientRow) -> str:
    return dmp_words(row.dmp_step, row.dmp.state if row.dmp else None)


_SHORT_DMP = {
    DmpState.AUTHORISED: "ouvert, autorisé",
    DmpState.NOT_AUTHORISED: "ouvert, à autoriser",
    DmpState.BLOCKED: "bloqué (patient)",
    DmpState.EMERGENCY_REFUSED: "urgence refusée",
    DmpState.CLOSED: "fermé",
    DmpState.NOT_CREATED: "pas de DMP",
    DmpState.NO_INS: "non interrogé",
    DmpState.UNKNOWN: "état inconnu",
}
_SHORT_STEP = {Step.IDLE: "en attente", Step.PENDING: "recherche…", Step.FAILED: "échec", Step.SKIPPED: "non interrogé"}


def identity_cell(row: PatientRow) -> str:
    """The table's INS column: the identity status, or why there is none, in two or three words."""
    insi = row.insi
    if row.insi_step is not Step.DONE or insi is None:
        return _SHORT_STEP[row.insi_step] if row.document is None else row.ins_status.value
    if insi.code is InsiCode.FOUND and not insi.key_ok:
        return "INS incohérent"
    if insi.code is InsiCode.SEVERAL:
        return f"{row.ins_status.value} (homonymes)"
    if insi.code is InsiCode.NOT_FOUND:
        return f"{row.ins_status.value} (inconnu)"
    return row.ins_status.value


def row_cells(row: PatientRow) -> tuple[str, ...]:
    b = row.beneficiary
    dmp = _SHORT_DMP[row.dmp.state] if row.dmp_step is Step.DONE and row.dmp else _SHORT_STEP.get(row.dmp_step, "")
    qualite = "? (à vérifier)" if "qualite" in b.doubtful else QUALITES.get(b.qualite, b.qualite or "—")
    return (f"{b.nom_usuel} {b.prenom}", birth_date(b.date_naissance), qualite, identity_cell(row), dmp)


def detail(row: PatientRow) -> Text:
    """The detail panel: card traits, INSi's answer and reference traits, differences highlighted."""
    b, insi = row.beneficiary, row.insi
    t = Text()
    t.append(f"{b.nom_usuel} {b.prenom}\n", style="bold")
    if b.nom_naissance and b.nom_naissance != b.nom_usuel:
        t.append(f"Nom de naissance (carte) : {b.nom_naissance}\n")
    t.append(f"Né(e) le {birth_date(b.date_naissance)}   Sexe : {row.sex or '?'}   Rang : {b.rang_naissance or '—'}\n")
    if b.doubtful:  # read from an assumed card tag that did not parse: left empty, never guessed
        labels = {"rang_naissance": "rang", "qualite": "qualité", "nom_naissance": "nom de naissance"}
        t.append(f"À vérifier (illisible sur la carte) : {', '.join(labels.get(d, d) for d in b.doubtful)}\n",
                 style="reverse")
    t.append(f"Statut de l'identité : {row.ins_status.value}")
    if row.document is not None:
        t.append(f" (pièce vérifiée : {row.document.value})")
    t.append("\n\n")
    t.append(f"INSi : {insi_text(row)}\n", style="bold")
    if row.insi_error:
        t.append(row.insi_error + "\n", style="reverse")
    if insi is not None and insi.ins is not None:
        t.append(f"INS : {insi.ins.value}   OID : {insi.oid}\n")
        if not insi.key_ok:
            t.append("Attention : clé de l'INS invalide. Identité non qualifiable : signalez-la.\n", style="reverse bold")
        for former in insi.former:
            t.append(f"Ancien INS : {former.matricule.value} ({former.oid})\n")
    if insi is not None and insi.traits is not None:
        tr = insi.traits
        t.append("Traits de référence INSi :\n", style="bold")
        t.append(f"  {tr.nom_naissance} {' '.join(tr.prenoms)}, {tr.sexe}, né(e) le {birth_date(tr.date_naissance)}, "
                 f"lieu {tr.lieu_naissance}\n")
    diffs = row.differences
    if diffs:
        t.append("Différences carte / INSi :\n", style="bold")
        for d in diffs:
            t.append(f"  ! {d.trait} : carte « {d.card} », INSi « {d.insi} »\n", style="reverse bold")
    t.append(f"\nDMP : {dmp_text(row)}\n", style="bold")
    if row.dmp_error:
        t.append(row.dmp_error + "\n", style="reverse")
    return t
