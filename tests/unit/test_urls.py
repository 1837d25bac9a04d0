"""The one URL parser (issue 14, point 2): the host the check sees is the host contacted, or the URL is refused.

The reproduction: `https://localhost\\.dmp.fr/...` passed the `dmp.fr` allow-list under urllib.parse, then
requests and Chromium (backslash = slash for them) contacted localhost, and the browser POSTed the INS there."""

from __future__ import annotations

import pytest

from kiosk.domain.urls import UrlRefused, parse_url, url_problem

DMP = ["dmp.fr", "dmp.gouv.fr", "monespacesante.fr"]


@pytest.mark.parametrize("url, fragment", [
    ("https://localhost\\.dmp.fr/ps/acces-web/", "barre oblique inverse"),
    ("https://localhost%5c.dmp.fr/ps/", "barre oblique inverse"),
    ("https://localhost%5C.dmp.fr/ps/", "barre oblique inverse"),
    ("https://www.dmp.fr\\@localhost/", "barre oblique inverse"),
    ("https://localhost;.dmp.fr/", "« ; »"),
    ("https://localhost@www.dmp.fr/", "identifiants"),
    ("https://www.dmp.fr@localhost/", "identifiants"),
    ("https://user:pw@www.dmp.fr/", "identifiants"),
    ("https://localhost?.dmp.fr/", "« ? » ou « # »"),
    ("https://localhost#.dmp.fr/", "« ? » ou « # »"),
    ("https://www.dmp.fr./ps/", "point final"),
    ("https://www.dmp.fr../ps/", "point final"),
    ("https://www.dmp.xn--fr-0ma.fr/", "xn--"),
    ("https://xn--dmp-qla.fr/", "xn--"),
    ("https://www.dmр.fr/", "non ASCII"),  # Cyrillic р
    ("https://www.dmp.fr /", "espace"),
    ("https://www.dmp.fr\t/", "contrôle"),
    ("https://2130706433/", "forme ambiguë"),
    ("https://0x7f.1/", "forme ambiguë"),
    ("https://127.1/", "forme ambiguë"),
    ("https://127.000.000.001/", "forme ambiguë"),
    ("https://www.dmp.fr:99999/", "port"),
    ("https://www.dmp.fr:80:443/", "port"),
    ("https://www.dmp.fr%2f@x/", "identifiants"),
    ("https://www%2edmp.fr/", "« % »"),
    ("http://www.dmp.fr/", "schéma"),
    ("javascript:alert(1)//www.dmp.fr/", "URL absolue"),
    ("//www.dmp.fr/", "URL absolue"),
    ("https:///www.dmp.fr/", "sans nom d'hôte"),
    ("https://-dmp.fr/", "nom d'hôte invalide"),
    ("https://dmp_fr.dmp.fr/", "nom d'hôte invalide"),
    ("https://[::1/", "IPv6"),
])
def test_tricky_urls_are_refused(url: str, fragment: str) -> None:
    with pytest.raises(UrlRefused) as caught:
        parse_url(url)
    assert fragment in str(caught.value)
    assert url_problem(url, DMP) is not None


@pytest.mark.parametrize("url, host, canonical", [
    ("https://wps-cps.dmp.monespacesante.fr", "wps-cps.dmp.monespacesante.fr", "https://wps-cps.dmp.monespacesante.fr/"),
    ("https://www.dmp.fr/ps/acces-web/", "www.dmp.fr", "https://www.dmp.fr/ps/acces-web/"),
    ("HTTPS://WWW.DMP.FR:443/web/dmp/documents/param-lps?v=2#x", "www.dmp.fr",
     "https://www.dmp.fr:443/web/dmp/documents/param-lps?v=2#x"),
    ("https://127.0.0.1:8443/param-lps", "127.0.0.1", "https://127.0.0.1:8443/param-lps"),
    ("https://[::1]:8443/x", "::1", "https://[::1]:8443/x"),
])
def test_ordinary_urls_keep_their_host(url: str, host: str, canonical: str) -> None:
    safe = parse_url(url)
    assert safe.host == host and safe.url == canonical


def test_allow_list_uses_the_parsed_host() -> None:
    assert url_problem("https://wps-cps.dmp.monespacesante.fr/AccesDirect", DMP) is None
    assert "hors de la liste" in (url_problem("https://evildmp.fr/", DMP) or "")
    assert "hors de la liste" in (url_problem("https://dmp.fr.evil.example/", DMP) or "")
    assert url_problem("https://localhost/", DMP + ["localhost"]) is None
