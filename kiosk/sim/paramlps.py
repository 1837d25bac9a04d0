"""A param-lps publication server on 127.0.0.1 (HTTPS with the simulators' test PKI), for tests and the demo.

The real file's schema is not public, so `sample_document` writes a plausible one: a `parametresLPS` root
with `url` and `parametre` elements named by a `nom` attribute. The kiosk's reader does not depend on this
layout (it maps entries by folded name, see `kiosk.teleservices.params.document`); tests also feed it other shapes.

The server honours If-None-Match / If-Modified-Since (304), and each path can be given a canned answer:
a redirect, an error status, a body cut short of its Content-Length, or anything else, so that the
client's failure handling is exercised over a real TLS connection. Every request is recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from kiosk.sim.loopback import LoopbackHttpsServer, SimHttpServer
from kiosk.teleservices.params.sync import ParamsSource

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["DOCUMENT_PATH", "ParamLpsServer", "RecordedRequest", "Route", "demo_server", "sample_document"]

DOCUMENT_PATH = "/web/dmp/documents/param-lps"

SAMPLE_URLS = {
    "webPsCpx": "https://wps-cps.dmp.monespacesante.fr",
    "webPsPsc": "https://wps-psc.dmp.monespacesante.fr",
    "domaineWebservices": "https://lps2.dmp.gouv.fr/",
    "documentSecrets": "https://www.dmp.fr/documents/d/dmp/document-des-secrets",
    "accuseCreation": "https://www.dmp.fr/documents/d/dmp/accuse-de-creation",
    "matriceCompatibiliteNavigateur": "https://www.dmp.fr/documents/matrice-compatibilite-navigateur",
}
SAMPLE_PARAMETERS = {"ageMajorite": "18", "gestionMineurs": "true", "delaiAutorisationMois": "6"}


def sample_document(urls: dict[str, str] | None = None, parameters: dict[str, str] | None = None,
                    version: str = "2024-04-29") -> bytes:
    """A plausible param-lps file; `urls` / `parameters` replace or add entries (value None drops one)."""
    url_map = {k: v for k, v in {**SAMPLE_URLS, **(urls or {})}.items() if v is not None}
    param_map = {k: v for k, v in {**SAMPLE_PARAMETERS, **(parameters or {})}.items() if v is not None}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<parametresLPS version={quoteattr(version)}>", "  <urls>"]
    lines += [f"    <url nom={quoteattr(k)}>{escape(v)}</url>" for k, v in url_map.items()]
    lines += ["  </urls>", "  <parametres>"]
    lines += [f"    <parametre nom={quoteattr(k)}>{escape(v)}</parametre>" for k, v in param_map.items()]
    lines += ["  </parametres>", "</parametresLPS>", ""]
    return "\n".join(lines).encode("utf-8")


@dataclass
class Route:
    """A canned answer. `truncate_to` announces len(body) but sends only that many bytes, then hangs up."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    truncate_to: int | None = None
    drip_s: float | None = None  # a hostile server: the whole answer, headers included, one byte every drip_s


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    server: SimHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.requests.append(RecordedRequest("GET", self.path, dict(self.headers.items())))
        route = owner.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send(Route(404, b"introuvable\n", {"Content-Type": "text/plain"}))
        elif route is owner.document_route and self._not_modified(route):
            self._send(Route(304, b"", {k: v for k, v in route.headers.items() if k in ("ETag", "Last-Modified")}))
        else:
            self._send(route)

    def _not_modified(self, route: Route) -> bool:
        tag = self.headers.get("If-None-Match")
        if tag is not None and "ETag" in route.headers:
            return tag == route.headers["ETag"]
        return self.headers.get("If-Modified-Since") == route.headers["Last-Modified"]

    def _send(self, route: Route) -> None:
        if route.drip_s is not None:
            self._drip(route)
            return
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.status != 304:
            self.send_header("Content-Length", str(len(route.body)))
        if route.truncate_to is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if route.status != 304:
            self.wfile.write(route.body if route.truncate_to is None else route.body[: route.truncate_to])
        if route.truncate_to is not None:
            self.wfile.flush()
            self.close_connection = True


    def _drip(self, route: Route) -> None:
        assert route.drip_s is not None
        head = f"HTTP/1.1 {route.status} OK\r\nContent-Length: {len(route.body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in route.headers.items()) + "\r\n"
        self.close_connection = True
        for i, byte in enumerate(head.encode() + route.body):
            if i and self.server.owner.stopping.wait(route.drip_s):
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the client gave up: what a drip server hopes it never does
                return


class ParamLpsServer(LoopbackHttpsServer):
    """`with ParamLpsServer(pki) as server:` serves `sample_document()` at `server.url()` until the block ends.

    `pki` is a `drivers.sim.pki.TestPki` (its server certificate and CA bundle); clients trust `ca_bundle`.
    """

    handler = _Handler
    thread_name = "param-lps-sim"

    def __init__(self, pki: Any, document: bytes | None = None) -> None:
        self.pki = pki
        self.requests: list[RecordedRequest] = []
        self.routes: dict[str, Route] = {}
        self.stopping = threading.Event()  # ends a dripping answer when the server stops
        self.document_route = Route()
        self.set_document(sample_document() if document is None else document)

    @property
    def ca_bundle(self) -> str:
        return str(self.pki.ca_bundle)

    def url(self, path: str = DOCUMENT_PATH, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def set_document(self, data: bytes, path: str = DOCUMENT_PATH, modified: float | None = None,
                     etag: bool = True) -> None:
        """Publish `data` at `path` with a fresh Last-Modified and (unless `etag` is False) an ETag; both are
        honoured for 304s, If-None-Match first."""
        headers = {"Content-Type": "application/xml", "Last-Modified": formatdate(modified, usegmt=True)}
        if etag:
            headers["ETag"] = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
        self.document_route = Route(200, data, headers)
        self.routes[path] = self.document_route

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Route(status, b"", {"Location": location})

    def stop(self) -> None:
        self.stopping.set()
        super().stop()



@contextlib.contextmanager
def demo_server(document: bytes | None = None) -> Iterator[ParamLpsServer]:
    """A throw-away PKI and server, for `kiosk params sync` in the demo environment (no network)."""
    from drivers.sim.pki import generate_pki

    with tempfile.TemporaryDirectory(prefix="kiosk-param-lps-") as tmp, \
            ParamLpsServer(generate_pki(Path(tmp)), document) as server:
        yield server


@contextlib.contextmanager
def simulator_for_default_url(config: Config, url: str | None = None) -> Iterator[ParamsSource | None]:
    """For the composition roots (`kiosk params sync`, `kiosk run`): in demo, the default param-lps URL means the
    embedded simulator, started here for one refresh; otherwise None (the configuration's source)."""
    from kiosk.config.schema_webps import ParamsConfig

    if url is not None or config.environment != "demo" or config.params.url != ParamsConfig().url:
        yield None
        return
    with demo_server() as server:
        yield ParamsSource(server.url(), server.ca_bundle, (*config.params.allowed_domains, "127.0.0.1"))
