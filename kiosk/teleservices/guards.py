"""Guard rails: test or demo material never reaches a production teleservice.

Checked inside the clients, before anything is built or sent, so no caller can forget them. "Production"
means `environment = "prod"` or an endpoint on a production host, whatever the environment says: a test
kiosk pointed by mistake at the real INSi is caught too.
"""

from __future__ import annotations

from kiosk.domain.ins import InsOid
from kiosk.domain.patient import CardNature, VitaleRead
from kiosk.domain.urls import UrlRefused, parse_url
from kiosk.errors import KioskError

__all__ = ["PRODUCTION_HOSTS", "GuardError", "check_card", "check_oid", "is_production"]

PRODUCTION_HOSTS = frozenset({"services-ps-tlsm.ameli.fr", "services-ps.ameli.fr", "lps2.dmp.gouv.fr"})
_TEST_OIDS = frozenset({InsOid.TEST.value, InsOid.DEMO.value})


class GuardError(KioskError):
    """Refused before any request: test/demo data aimed at production."""


def is_production(environment: str, endpoint: str) -> bool:
    """An endpoint the one URL parser refuses counts as production: the guard errs on the safe side."""
    if environment == "prod":
        return True
    try:
        return parse_url(endpoint, schemes=("https", "http")).host in PRODUCTION_HOSTS
    except UrlRefused:
        return True


def check_card(read: VitaleRead | None, environment: str, endpoint: str) -> None:
    """A test or demo Vitale card (or one whose nature is unknown in prod) is refused for production."""
    if read is None or not is_production(environment, endpoint):
        return
    if read.nature in (CardNature.TEST, CardNature.DEMO):
        raise GuardError(
            f"carte Vitale de {'test' if read.nature is CardNature.TEST else 'démonstration'} refusée : "
            "elle ne doit jamais être présentée à un téléservice de production"
        )
    if read.nature is CardNature.UNKNOWN:
        raise GuardError("carte Vitale de nature inconnue (réelle, test ou démonstration ?) : refusée en production")


def check_oid(oid: str, environment: str, endpoint: str) -> None:
    if oid in _TEST_OIDS and is_production(environment, endpoint):
        raise GuardError(f"OID INS de test ou de démonstration ({oid}) refusé pour un téléservice de production")
