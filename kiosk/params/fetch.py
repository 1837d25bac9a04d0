"""Downloading param-lps: HTTPS only, redirects followed by hand (each target checked), conditional GET,
a byte limit applied while reading (after decompression), a whole-operation deadline.

Redirects are followed by this module rather than by requests so that every hop, the first included, is
checked before it is contacted: https, and a host inside `params.allowed_domains`. 301, 302, 303
(homologation rule) and 307/308 are followed, at most MAX_REDIRECTS times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from kiosk.params.errors import ParamsFetchError
from kiosk.params.urlcheck import url_problem

__all__ = ["Download", "download"]

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Download:
    status: int  # 200 or 304
    final_url: str
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    redirects: list[str] = field(default_factory=list)


def download(
    url: str,
    *,
    allowed_domains: list[str],
    max_bytes: int,
    timeout_s: float,
    ca_bundle: str = "",
    etag: str | None = None,
    last_modified: str | None = None,
) -> Download:
    """GET `url`; a 304 (when `etag`/`last_modified` are given) comes back as status 304 with no body."""
    import requests

    problem = url_problem(url, allowed_domains)
    if problem:
        raise ParamsFetchError(f"URL de param-lps refusée ({url}) : {problem}")
    if ca_bundle and not Path(ca_bundle).is_file():
        raise ParamsFetchError(f"fichier d'autorités introuvable : {ca_bundle} (clé params.ca_bundle)")
    deadline = time.monotonic() + timeout_s
    headers = {"Accept": "application/xml, text/xml;q=0.9, */*;q=0.1", "User-Agent": "kiosk-accueil param-lps"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    redirects: list[str] = []
    current = url
    with requests.Session() as session:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ParamsFetchError(f"délai de {timeout_s:g} s dépassé pour {current}")
            try:
                response = session.get(
                    current, headers=headers, allow_redirects=False, stream=True,
                    timeout=(min(remaining, 10.0), remaining), verify=ca_bundle or True,
                )
            except requests.exceptions.SSLError as e:
                raise ParamsFetchError(f"connexion TLS refusée par {urlsplit(current).hostname} (certificat ?)") from e
            except requests.exceptions.Timeout as e:
                raise ParamsFetchError(f"délai dépassé pour {current}") from e
            except requests.exceptions.RequestException as e:
                raise ParamsFetchError(f"serveur param-lps injoignable ({urlsplit(current).netloc})") from e
            with response:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise ParamsFetchError(f"redirection {response.status_code} sans en-tête Location")
                    target = urljoin(current, location)
                    problem = url_problem(target, allowed_domains)
                    if problem:
                        raise ParamsFetchError(f"redirection refusée vers {target} : {problem}")
                    redirects.append(target)
                    if len(redirects) > MAX_REDIRECTS:
                        raise ParamsFetchError(f"plus de {MAX_REDIRECTS} redirections")
                    current = target
                    continue
                if response.status_code == 304:
                    if not (etag or last_modified):
                        raise ParamsFetchError("réponse 304 à une requête non conditionnelle")
                    return Download(304, current, b"", response.headers.get("ETag") or etag,
                                    response.headers.get("Last-Modified") or last_modified, redirects)
                if response.status_code != 200:
                    raise ParamsFetchError(f"le serveur param-lps a répondu HTTP {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise ParamsFetchError(f"param-lps trop volumineux ({declared} octets, limite {max_bytes})")
                body = _read_limited(response, max_bytes, deadline, timeout_s)
                return Download(200, current, body, response.headers.get("ETag"),
                                response.headers.get("Last-Modified"), redirects)


def _read_limited(response: Any, max_bytes: int, deadline: float, timeout_s: float) -> bytes:
    import requests
    import urllib3

    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.raw.stream(65536, decode_content=True):
            size += len(chunk)
            if size > max_bytes:
                raise ParamsFetchError(f"param-lps trop volumineux (plus de {max_bytes} octets)")
            if time.monotonic() > deadline:
                raise ParamsFetchError(f"délai de {timeout_s:g} s dépassé pendant le téléchargement")
            chunks.append(chunk)
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.IncompleteRead) as e:
        raise ParamsFetchError("téléchargement tronqué (connexion coupée avant la fin annoncée)") from e
    except urllib3.exceptions.DecodeError as e:
        raise ParamsFetchError("contenu compressé illisible") from e
    except (urllib3.exceptions.ReadTimeoutError, requests.exceptions.RequestException) as e:
        raise ParamsFetchError("téléchargement interrompu (délai ou réseau)") from e
    return b"".join(chunks)
