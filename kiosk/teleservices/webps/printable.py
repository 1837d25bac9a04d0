"""A print-friendly Web PS link for the desk's ticket printer: plain text and a QR code of the page URL.

A printed link cannot carry the POST fields, so the ticket shows the page's address (and, to match the
ticket with the patient, the matricule masked); whoever scans it then finds the patient in the Web PS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk.domain.ins import InsMatricule, InsOid
from kiosk.teleservices.webps.link import WebPsLink, resolve_link

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["PAGE_TITLES", "PrintableLink", "printable_link", "render_print"]

PAGE_TITLES = {
    "TableauDeBord": "Tableau de bord du professionnel",
    "DossierPatient": "Récapitulatif du DMP du patient",
    "GestionDMPPatient": "Informations du patient (données administratives)",
    "Documents": "Liste des documents",
    "Parcoursdesoins": "Parcours de soins",
    "HistoriqueAcces": "Historique des accès",
    "volontesetdroits": "Volontés et droits du patient",
    "CarnetVaccination": "Carnet de vaccination",
    "Parametrages": "Paramétrages du professionnel",
}
_ACCESS = {"cpx": "carte CPx", "psc": "Pro Santé Connect (e-CPS)"}


@dataclass(frozen=True)
class PrintableLink:
    link: WebPsLink
    text: str  # plain text, one line per item, no patient data in clear

    @property
    def url(self) -> str:
        return self.link.url

    def qr_text(self) -> str:
        """The URL's QR code in Unicode half blocks (text printers, terminals)."""
        import io

        import segno

        out = io.StringIO()
        segno.make(self.url, error="m").terminal(out=out, compact=True, border=2)
        return out.getvalue()

    def qr_png(self, scale: int = 4) -> bytes:
        """The URL's QR code as PNG (ESC/POS image printing, CUPS)."""
        import io

        import segno

        out = io.BytesIO()
        segno.make(self.url, error="m").save(out, kind="png", scale=scale, border=2)
        return out.getvalue()


def render_print(config: Config, page: str, ins: str | InsMatricule | None = None, oid: str | InsOid | None = None,
                 access: str | None = None, params: Any = None) -> PrintableLink:
    """Validated like `build_page` (same `LinkError`s); the text names the site, page, access and URL."""
    return printable_link(config, resolve_link(config, page, ins, oid, access, params))


def printable_link(config: Config, link: WebPsLink) -> PrintableLink:
    """The ticket for a link already resolved (`resolve_link`)."""
    lines = [
        "Accès au DMP - Web PS",
        config.site.name,
        f"Page : {PAGE_TITLES.get(link.page, link.page)}",
        f"Accès : {_ACCESS[link.access]}",
    ]
    if link.ins is not None and link.oid is not None:
        lines.append(f"Patient : INS {link.ins.masked}")
    lines.append(f"Adresse : {link.url}")
    return PrintableLink(link, "\n".join(lines) + "\n")
