"""Downloading param-lps: HTTPS only, redirects followed by hand (each target checked), conditional GET,
a byte limit applied while reading (after decompression), a whole-operation deadline.

Redirects are followed by this module rather than by requests so that every hop, the first included, is
checked before it is contacted: https, and a host inside `params.allowed_domains`. 301, 302, 303
(homologation rule) and 307/308 are followed, at most MAX_REDIRECTS times.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from kiosk.domain.urls import SafeUrl, UrlRefused, host_allowed, parse_url
from kiosk.teleservices.params.errors import ParamsFetchError

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

    current = _checked(url, allowed_domains, "URL de param-lps refusée")
    if ca_bundle and not Path(ca_bundle).is_file():
        raise ParamsFetchError(f"fichier d'autorités introuvable : {ca_bundle} (clé params.ca_bundle)")
    deadline = time.monotonic() + timeout_s
    headers = {"Accept": "application/xml, text/xml;q=0.9, */*;q=0.1", "User-Agent": "kiosk-accueil param-lps"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    redirects: list[str] = []
    guard = _Deadline(timeout_s)
    try:
        with requests.Session() as session:
            session.mount("https://", guard.adapter())
            result = _follow(session, current, headers, allowed_domains, max_bytes, deadline, timeout_s, ca_bundle,
                             etag, last_modified, redirects)
    except ParamsFetchError as e:
        if guard.expired:
            raise ParamsFetchError(f"délai de {timeout_s:g} s dépassé pour le téléchargement de param-lps") from e
        raise
    finally:
        guard.cancel()
    if guard.expired:  # the connection was cut at the deadline: what was read is not the whole answer
        raise ParamsFetchError(f"délai de {timeout_s:g} s dépassé pour le téléchargement de param-lps")
    return result


def _follow(session: Any, current: SafeUrl, headers: dict[str, str], allowed_domains: list[str], max_bytes: int,
            deadline: float, timeout_s: float, ca_bundle: str, etag: str | None, last_modified: str | None,
            redirects: list[str]) -> Download:
    import requests

    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ParamsFetchError(f"délai de {timeout_s:g} s dépassé pour {current.url}")
        try:
            response = session.get(  # the canonical URL built from the checked parts: same host
                current.url, headers=headers, allow_redirects=False, stream=True,
                timeout=(min(remaining, 10.0), remaining), verify=ca_bundle or True,
            )
        except requests.exceptions.SSLError as e:
            raise ParamsFetchError(f"connexion TLS refusée par {current.host} (certificat ?)") from e
        except requests.exceptions.Timeout as e:
            raise ParamsFetchError(f"délai dépassé pour {current.url}") from e
        except requests.exceptions.RequestException as e:
            raise ParamsFetchError(f"serveur param-lps injoignable ({current.netloc})") from e
        with response:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise ParamsFetchError(f"redirection {response.status_code} sans en-tête Location")
                if "\\" in location or "%5c" in location.lower():  # before urljoin can hide it
                    raise ParamsFetchError("redirection refusée : barre oblique inverse dans Location")
                target = _checked(urljoin(current.url, location), allowed_domains, "redirection refusée")
                redirects.append(target.url)
                if len(redirects) > MAX_REDIRECTS:
                    raise ParamsFetchError(f"plus de {MAX_REDIRECTS} redirections")
                current = target
                continue
            if response.status_code == 304:
                if not (etag or last_modified):
                    raise ParamsFetchError("réponse 304 à une requête non conditionnelle")
                return Download(304, current.url, b"", response.headers.get("ETag") or etag,
                                response.headers.get("Last-Modified") or last_modified, redirects)
            if response.status_code != 200:
                raise ParamsFetchError(f"le serveur param-lps a répondu HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise ParamsFetchError(f"param-lps trop volumineux ({declared} octets, limite {max_bytes})")
            body = _read_limited(response, max_bytes, deadline, timeout_s)
            return Download(200, current.url, body, response.headers.get("ETag"),
                            response.headers.get("Last-Modified"), redirects)


def _checked(url: str, allowed_domains: list[str], what: str) -> SafeUrl:
    """One parser decides: the host checked against the allow-list is the host of the URL then contacted."""
    try:
        safe = parse_url(url)
    except UrlRefused as e:
        raise ParamsFetchError(f"{what} ({url[:200]}) : {e}") from None
    if not host_allowed(safe.host, allowed_domains):
        raise ParamsFetchError(f"{what} ({safe.url[:200]}) : domaine {safe.host!r} hors de la liste autorisée "
                               f"(params.allowed_domains : {', '.join(allowed_domains)})")
    return safe


class _Deadline:
    """The whole-answer deadline: at `seconds`, every socket this download opened is shut down.

    Per-read timeouts restart with each byte, so a server dripping a byte every 2 s kept a download (and the
    param-lps store lock) going for minutes; checking the clock between chunks does not help while one read
    waits for a chunk to fill, nor while headers drip in. Cutting the socket ends any of those reads."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def register(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the same socket: TLS wrapping detaches `sock` itself, and shutdown() acts
        # on the socket whichever descriptor names it (the TLS handshake is cut too).
        copy = sock.dup()
        with self._lock:
            self._sockets.append(copy)
            expired = self.expired
        if expired:
            _shut(copy)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()

    def adapter(self) -> Any:
        """A requests adapter whose connections register their socket here (direct or through a proxy)."""
        import requests.adapters
        import urllib3

        guard = self

        class Connection(urllib3.connection.HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                guard.register(sock)
                return sock

        class Pool(urllib3.connectionpool.HTTPSConnectionPool):
            ConnectionCls = Connection

        def hook(manager: Any) -> Any:
            manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "https": Pool}
            return manager

        class Adapter(requests.adapters.HTTPAdapter):
            def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                super().init_poolmanager(*args, **kwargs)
                hook(self.poolmanager)

            def proxy_manager_for(self, proxy: Any, **kwargs: Any) -> Any:
                return hook(super().proxy_manager_for(proxy, **kwargs))

        return Adapter()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


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
