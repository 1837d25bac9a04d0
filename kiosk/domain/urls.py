"""The one URL parser: every URL that will receive patient data or settings is read here, and only here.

Attack this closes (issue 14): `https://localhost\\.dmp.fr/...` passed a `dmp.fr` allow-list checked with
`urllib.parse`, while requests and Chromium (WHATWG rules: `\\` is `/`) contacted localhost. Different
parsers disagree on odd URLs, so odd URLs are refused outright, and what is contacted is the canonical form
rebuilt from the parts that were checked (`SafeUrl.url`), never the string as received:

- ASCII only, no space or control character; no backslash, raw or percent-encoded (`%5c`);
- `scheme://authority` then `/`, or nothing: a `?` or `#` right after the host is refused;
- authority = host[:port] only: no `@` (userinfo), `;`, `%` or second colon;
- host = LDH labels (lower-cased), no trailing dot, no IDN (`xn--`) label; a numeric last label (the
  WHATWG parser's IPv4 forms: `2130706433`, `0x7f.1`, `127.1`) only as a strict dotted quad; IPv6 in brackets;
- the result is cross-checked: urllib.parse and urllib3 (what requests uses) must see the same host and port.

A domain allows itself and its subdomains (`dmp.fr` allows `www.dmp.fr`, not `evildmp.fr`); an IP address or
`localhost` must be listed exactly (tests and the demo list `127.0.0.1`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["SafeUrl", "UrlRefused", "host_allowed", "parse_url", "url_problem"]

MAX_URL = 2048
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", re.DOTALL)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")


class UrlRefused(ValueError):
    """The URL is refused; the message is French and safe to log (URLs carry no patient data)."""


@dataclass(frozen=True)
class SafeUrl:
    scheme: str
    host: str  # lower-case ASCII, no trailing dot; IPv6 without brackets
    port: int | None
    rest: str  # path (starting with "/"), query, fragment, as received

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The canonical form: what is contacted, and what is given to the browser."""
        return f"{self.scheme}://{self.netloc}{self.rest or '/'}"


def parse_url(url: str, *, schemes: Iterable[str] = ("https",)) -> SafeUrl:
    """Parse strictly or raise `UrlRefused`."""
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("URL vide")
    if len(url) > MAX_URL:
        raise UrlRefused(f"URL trop longue (plus de {MAX_URL} caractères)")
    if any(not 0x21 <= ord(c) <= 0x7E for c in url):
        raise UrlRefused("espace, caractère de contrôle ou non ASCII dans l'URL")
    if "\\" in url or "%5c" in url.lower():
        raise UrlRefused("barre oblique inverse (\\ ou %5c) dans l'URL")
    found = _URL.fullmatch(url)
    if not found:
        raise UrlRefused("URL absolue attendue (https://hôte/chemin)")
    scheme, authority, rest = found.group(1).lower(), found.group(2), found.group(3)
    allowed = tuple(schemes)
    if scheme not in allowed:
        raise UrlRefused(f"schéma {scheme!r} refusé : {' ou '.join(s + '://' for s in allowed)} attendu")
    if rest and not rest.startswith("/"):
        raise UrlRefused("« ? » ou « # » juste après l'hôte : « / » attendu avant")
    if "@" in authority:
        raise UrlRefused("identifiants (@) dans l'URL refusés")
    if ";" in authority or "%" in authority:
        raise UrlRefused("caractère « ; » ou « % » dans le nom d'hôte")
    host, port = _split_authority(authority)
    safe = SafeUrl(scheme, _check_host(host), port, rest)
    _cross_check(safe)
    return safe


def _split_authority(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise UrlRefused("adresse IPv6 mal formée")
        host, tail = authority[1:end], authority[end + 1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UrlRefused("adresse IPv6 mal formée") from None
        host = "[" + host + "]"
    else:
        host, sep, tail = authority.partition(":")
        tail = sep + tail
    if not tail:
        return host, None
    digits = tail[1:]
    if not tail.startswith(":") or not digits.isdigit() or len(digits) > 5 or not 0 < int(digits) < 65536:
        raise UrlRefused("port invalide (un nombre de 1 à 65535 attendu)")
    return host, int(digits)


def _check_host(host: str) -> str:
    if host.startswith("["):
        return str(ipaddress.IPv6Address(host[1:-1]))
    host = host.lower()
    if not host:
        raise UrlRefused("URL sans nom d'hôte")
    if host.endswith("."):
        raise UrlRefused("point final après le nom d'hôte refusé")
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            if len(labels) == 4 and all(p.isdigit() for p in labels):
                return str(ipaddress.IPv4Address(host))  # refuses leading zeros (octal) and values > 255
        except ValueError:
            pass
        raise UrlRefused("adresse IP écrite sous une forme ambiguë : a.b.c.d attendu")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise UrlRefused(f"nom d'hôte invalide ({host!r})")
        if label.startswith("xn--"):
            raise UrlRefused("nom de domaine internationalisé (xn--) refusé")
    return host


def _cross_check(safe: SafeUrl) -> None:
    """The HTTP client's parsers must see the host and port we checked (defence in depth)."""
    import urllib3.util

    seen = urlsplit(safe.url)
    theirs = urllib3.util.parse_url(safe.url)
    ours = safe.host
    if (seen.hostname or "") != ours or seen.port != safe.port or (theirs.host or "").strip("[]") != ours or \
            theirs.port != safe.port:
        raise UrlRefused("URL comprise différemment selon les logiciels : refusée")


def host_allowed(host: str, allowed_domains: Iterable[str]) -> bool:
    host = host.lower()
    for domain in allowed_domains:
        domain = domain.lower().strip().strip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def url_problem(url: str, allowed_domains: Iterable[str] | None = None, *,
                schemes: Iterable[str] = ("https",)) -> str | None:
    """None when `url` may be used (and its host is in `allowed_domains`, when given); otherwise a short French
    reason (safe to log: URLs hold no patient data)."""
    try:
        safe = parse_url(url, schemes=schemes)
    except UrlRefused as e:
        return str(e)
    if allowed_domains is not None:
        domains = list(allowed_domains)
        if not host_allowed(safe.host, domains):
            return f"domaine {safe.host!r} hors de la liste autorisée (params.allowed_domains : {', '.join(domains)})"
    return None
