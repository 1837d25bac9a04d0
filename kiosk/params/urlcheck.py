"""Checking a URL before the kiosk uses it: https only, a host inside the allowed domains, no credentials.

A domain allows itself and its subdomains (`dmp.fr` allows `www.dmp.fr`, not `evildmp.fr`); an IP address
or `localhost` must be listed exactly (tests and the demo list `127.0.0.1`).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["host_allowed", "url_problem"]


def host_allowed(host: str, allowed_domains: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for domain in allowed_domains:
        domain = domain.lower().strip().strip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def url_problem(url: str, allowed_domains: Iterable[str]) -> str | None:
    """None when `url` may be used; otherwise a short French reason (safe to log: URLs hold no patient data)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a malformed port
    except ValueError:
        return "URL mal formée"
    del port
    if parts.scheme != "https":
        return f"schéma {parts.scheme or '(aucun)'!r} refusé : https:// attendu"
    if not parts.hostname:
        return "URL sans nom d'hôte"
    if parts.username is not None or parts.password is not None:
        return "identifiants dans l'URL refusés"
    if any(c.isspace() or ord(c) < 0x20 for c in url.strip()):
        return "caractères de contrôle dans l'URL"
    domains = list(allowed_domains)
    if not host_allowed(parts.hostname, domains):
        return f"domaine {parts.hostname!r} hors de la liste autorisée (params.allowed_domains : {', '.join(domains)})"
    return None
