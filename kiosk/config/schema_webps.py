"""`[webps]` (contextual Web PS access, webps-links.md) and `[params]` (param-lps, teleservices.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kiosk.config.binding import doc
from kiosk.domain.urls import url_problem

# PDT-INF-547 v5's page list; True = the page needs the patient's INS.
DEFAULT_PAGES = {
    "TableauDeBord": False,
    "DossierPatient": True,
    "GestionDMPPatient": True,
    "Documents": True,
    "Parcoursdesoins": True,
    "HistoriqueAcces": True,
    "volontesetdroits": True,
    "CarnetVaccination": True,
    "Parametrages": False,
}
PROD_CPX_BASE = "https://wps-cps.dmp.monespacesante.fr"
PROD_PSC_BASE = "https://wps-psc.dmp.monespacesante.fr"


def _schemes(root: Any) -> tuple[str, ...]:
    return ("https", "http") if root.environment == "demo" else ("https",)


@dataclass(frozen=True)
class WebpsConfig:
    cpx_base: str = doc(
        "", "Web PS base URL for CPx card access; empty = param-lps value, else the production default."
    )
    psc_base: str = doc(
        "", "Web PS base URL for Pro Santé Connect; empty = param-lps value, else the production default."
    )
    access: Literal["cpx", "psc"] = doc("cpx", "Which base the desk's links use by default.")
    pages: dict[str, bool] = doc(
        text="Page table: page name -> whether it needs the patient's INS.", factory=lambda: dict(DEFAULT_PAGES)
    )
    browser: list[str] = doc(
        text="Command that opens a URL on the desk (the URL is appended).",
        factory=lambda: ["chromium", "--kiosk", "--noerrdialogs", "--disable-session-crashed-bubble"],
    )

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        for key in ("cpx_base", "psc_base"):
            value = getattr(self, key)
            if value and (problem := url_problem(value, schemes=("https",))):
                yield (key,), f"URL refusée : {problem}"
        if not self.pages:
            yield ("pages",), "au moins une page attendue"
        if not self.browser:
            yield ("browser",), "commande du navigateur attendue (liste non vide)"


@dataclass(frozen=True)
class ParamsConfig:
    url: str = doc("https://www.dmp.fr/web/dmp/documents/param-lps", "Where the param-lps file is published.")
    refresh_hours: float = doc(24.0, "Refresh period in hours (homologation: at most 24).", bounds=(0.1, 24 * 365))
    allowed_domains: list[str] = doc(
        text="Domains (and their subdomains) that URLs from param-lps may point to.",
        factory=lambda: ["dmp.fr", "dmp.gouv.fr", "monespacesante.fr"],
    )
    max_bytes: int = doc(1_000_000, "Largest param-lps download accepted, bytes.", bounds=(1024, 100_000_000))
    timeout_s: float = doc(20.0, "Download timeout, seconds.", bounds=(0.1, 600))
    ca_bundle: str = doc("", "PEM bundle of trust anchors for the param-lps download; empty = the system's.")

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if problem := url_problem(self.url, self.allowed_domains, schemes=_schemes(root)):
            yield ("url",), f"URL refusée : {problem}"
        if not 0 < self.refresh_hours <= 24:
            yield (
                ("refresh_hours",),
                "période entre 0 et 24 heures attendue (règle d'homologation : au moins une fois par jour)",
            )
        if self.max_bytes <= 0:
            yield ("max_bytes",), "taille positive attendue"
