"""Which Web PS URL a desk action leads to, checked before anything is produced.

Everything that can be wrong is refused here, with a French reason that never shows the matricule: an
unknown page, a page that needs the INS without one, a matricule whose key fails, an OID that is not an
INS OID or not accepted in this environment, a missing or non-https base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk.domain.ins import InsMatricule, InsOid, MatriculeError, oids_allowed_in, parse_matricule
from kiosk.domain.urls import UrlRefused, parse_url
from kiosk.errors import KioskError

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["LinkError", "WebPsLink", "resolve_link"]

_PAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class LinkError(KioskError):
    """A Web PS link that must not be produced. `code`: page, ins, oid, base or access."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class WebPsLink:
    page: str  # as spelled in the page table
    access: str  # "cpx" or "psc"
    base: str
    base_source: str  # "config", "param-lps" or "built-in"
    ins: InsMatricule | None = None
    oid: InsOid | None = None

    @property
    def url(self) -> str:
        return f"{self.base.rstrip('/')}/AccesDirect/{self.page}"

    def describe(self) -> dict[str, Any]:
        """For logs and --json: the matricule masked."""
        return {"page": self.page, "access": self.access, "url": self.url, "base": self.base,
                "base_source": self.base_source, "ins": self.ins.masked if self.ins else None,
                "oid": self.oid.value if self.oid else None}


def _page(config: Config, page: str) -> tuple[str, bool]:
    pages: dict[str, bool] = config.webps.pages
    if page in pages:
        name = page
    else:
        matches = [p for p in pages if p.casefold() == page.casefold()]
        if len(matches) != 1:
            raise LinkError(f"page Web PS inconnue : {page!r} (pages : {', '.join(pages)})", "page")
        name = matches[0]
    if not _PAGE_NAME.match(name):
        raise LinkError(f"nom de page invalide dans webps.pages : {name!r}", "page")
    return name, pages[name]


def _base(config: Config, access: str, params: Any) -> tuple[str, str]:
    if params is None:
        from kiosk.teleservices.params import current_settings

        params = current_settings(config)
    setting = params.webps_base(access)
    if not setting.value:
        raise LinkError(
            f"adresse du Web PS ({access}) inconnue en environnement {config.environment} : "
            f"renseigner webps.{access}_base ou synchroniser param-lps", "base")
    try:  # the one URL parser: the browser is given the canonical form of what was checked
        safe = parse_url(setting.value)
    except UrlRefused as e:
        raise LinkError(f"adresse du Web PS ({access}) refusée : {setting.value!r} ({e})", "base") from None
    if "?" in safe.rest or "#" in safe.rest:
        raise LinkError(
            f"adresse du Web PS ({access}) refusée : {setting.value!r} (https:// sans paramètres attendu)", "base"
        )
    return (safe.url if safe.rest else safe.url.rstrip("/")), setting.source


def _oid(config: Config, oid: str | InsOid | None) -> InsOid:
    try:
        # No OID given: the NIR OID. The OID INSi returned decides NIR or NIA, never the first digit.
        chosen = InsOid.NIR if oid is None else InsOid.parse(str(getattr(oid, "value", oid)))
    except MatriculeError as e:
        raise LinkError(e.reason, "oid") from None
    if chosen not in oids_allowed_in(config.environment):
        raise LinkError(f"OID INS {chosen.value} refusé en environnement {config.environment}", "oid")
    return chosen


def resolve_link(config: Config, page: str, ins: str | InsMatricule | None = None, oid: str | InsOid | None = None,
                 access: str | None = None, params: Any = None) -> WebPsLink:
    """Validate everything and return the link; raise `LinkError` otherwise.

    `params` is an `EffectiveSettings` (from `kiosk.teleservices.params.current_settings`); None reads it now.
    """
    access = access or config.webps.access
    if access not in ("cpx", "psc"):
        raise LinkError(f"accès {access!r} inconnu (cpx ou psc)", "access")
    name, needs_ins = _page(config, page)
    if ins is None or ins == "":
        if oid:
            raise LinkError("un OID sans matricule INS n'a pas de sens (--ins)", "ins")
        if needs_ins:
            raise LinkError(f"la page {name} demande le matricule INS du patient", "ins")
        base, source = _base(config, access, params)
        return WebPsLink(name, access, base, source)
    try:
        matricule = parse_matricule(ins.value if isinstance(ins, InsMatricule) else ins)  # strict: key checked
    except MatriculeError as e:
        raise LinkError(f"matricule INS refusé : {e.reason}", "ins") from None
    chosen = _oid(config, oid)
    base, source = _base(config, access, params)
    return WebPsLink(name, access, base, source, matricule, chosen)
