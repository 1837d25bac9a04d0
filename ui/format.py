"""How patient data reads on the desk screen (the only place it appears in clear). Every word comes from the
desk's text catalogue (`Texts`), so a site's overrides reach the table, the detail panel and the dialogs."""

from __future__ import annotations

from rich.text import Text

from kiosk.desk import InsiCode, PatientRow, Step
from kiosk.desk.texts import DEFAULT_TEXTS, Texts
from kiosk.domain.patient import QUALITES

__all__ = ["birth_date", "detail", "full_name", "identity_cell", "row_cells"]


def birth_date(value: str) -> str:
    """YYYYMMDD or YYYY-MM-DD as JJ/MM/AAAA; lunar dates (00, > 31) are shown as they are, never "fixed"."""
    digits = "".join(c for c in value if c.isdigit())[:8]
    return f"{digits[6:8]}/{digits[4:6]}/{digits[:4]}" if len(digits) == 8 else value


def full_name(row: PatientRow) -> str:
    b = row.beneficiary
    return f"{b.nom_usuel} {b.prenom}".strip()


def fit(text: str, width: int) -> str:
    """Cut to `width` with an ellipsis, never silently (the detail panel has the whole text)."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def identity_cell(row: PatientRow, t: Texts) -> str:
    """The table's identity column: the identity status, or why there is none, in two or three words."""
    insi = row.insi
    status = t.status(row.ins_status)
    if row.insi_step is not Step.DONE or insi is None:
        return t.step(row.insi_step) if row.document is None else status
    if insi.code is InsiCode.FOUND and not insi.key_ok:
        return t("identity.inconsistent")
    if insi.code is InsiCode.SEVERAL:
        return t("identity.homonyms", status=status)
    if insi.code is InsiCode.NOT_FOUND:
        return t("identity.unknown", status=status)
    return status


def row_cells(row: PatientRow, t: Texts, widths: tuple[int, ...] | None = None) -> tuple[str, ...]:
    b = row.beneficiary
    qualite = t("quality.doubtful") if "qualite" in b.doubtful else QUALITES.get(b.qualite, b.qualite or "—")
    cells = (full_name(row), birth_date(b.date_naissance), qualite,
             identity_cell(row, t), t.dmp(row.dmp_step, row.dmp.state if row.dmp else None, short=True))
    if widths is None:
        return cells
    return tuple(fit(c, w) for c, w in zip(cells, widths, strict=True))


def insi_text(row: PatientRow, t: Texts) -> str:
    insi = row.insi
    return t.insi(row.insi_step, insi.code if insi else None, insi.key_ok if insi and insi.ins else True)


def detail(row: PatientRow, t: Texts) -> Text:
    """The detail panel: card traits, INSi's answer and reference traits, differences highlighted."""
    b, insi = row.beneficiary, row.insi
    out = Text()
    out.append(full_name(row) + "\n", style="bold")
    if b.nom_naissance and b.nom_naissance != b.nom_usuel:
        out.append(t("detail.birth_name", value=b.nom_naissance) + "\n")
    out.append(
        t("detail.born", date=birth_date(b.date_naissance), sex=row.sex or "?", rank=b.rang_naissance or "—") + "\n"
    )
    if b.doubtful:  # read from an assumed card tag that did not parse: left empty, never guessed
        fields = ", ".join(t(f"doubtful.{d}") if f"doubtful.{d}" in DEFAULT_TEXTS else d for d in b.doubtful)
        out.append(t("detail.doubtful", fields=fields) + "\n", style="reverse")
    out.append(t("detail.status", status=t.status(row.ins_status)))
    if row.document is not None:
        out.append(t("detail.document", document=t.document(row.document)))
    out.append("\n\n")
    out.append(t("detail.insi", words=insi_text(row, t)) + "\n", style="bold")
    if row.insi_error is not None:
        out.append(t.problem(row.insi_error) + "\n", style="reverse")
    if insi is not None and insi.ins is not None:
        out.append(t("detail.ins", ins=insi.ins.value, oid=insi.oid) + "\n")
        if not insi.key_ok:
            out.append(t("detail.key_invalid") + "\n", style="reverse bold")
        for former in insi.former:
            out.append(t("detail.former", ins=former.matricule.value, oid=former.oid) + "\n")
    if insi is not None and insi.traits is not None:
        tr = insi.traits
        out.append(t("detail.reference") + "\n", style="bold")
        out.append(t("detail.reference_line", name=tr.nom_naissance, first_names=" ".join(tr.prenoms), sex=tr.sexe,
                     date=birth_date(tr.date_naissance), place=tr.lieu_naissance) + "\n")
    diffs = row.differences
    if diffs:
        out.append(t("detail.differences") + "\n", style="bold")
        for d in diffs:
            out.append(t("detail.difference", trait=d.trait, card=d.card, insi=d.insi) + "\n", style="reverse bold")
    out.append(
        "\n" + t("detail.dmp", words=t.dmp(row.dmp_step, row.dmp.state if row.dmp else None)) + "\n", style="bold"
    )
    if row.dmp_error is not None:
        out.append(t.problem(row.dmp_error) + "\n", style="reverse")
    return out
