"""A small HTTPS SOAP server on 127.0.0.1 with mutual TLS: the base of the INSi and DMP simulators.

The TLS handshake runs in the connection's own thread (a client that never finishes it blocks nobody),
client certificates must chain to the simulator's CA, and each request goes to an `app` callable that
returns a `SimReply`. Replies can be delayed (the configurable latency), held open without an answer
(the "hung connection" scenario), or be anything at all (broken XML, HTML error pages).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from drivers.sim.pki import TestPki

__all__ = ["SimReply", "SimRequest", "SoapServer", "soap12_fault"]

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1_000_000


@dataclass(frozen=True)
class SimRequest:
    path: str
    content_type: str
    body: bytes
    peer_cn: str  # CN of the verified client certificate


@dataclass
class SimReply:
    status: int
    body: bytes
    content_type: str = "application/soap+xml;charset=UTF-8"
    delay_s: float = 0.0  # on top of the server's latency
    hang: bool = False  # accept, read, never answer (until the server stops)
    drip_s: float = 0.0  # send the body one byte at a time, this many seconds apart (a trickling server)
    headers: tuple[tuple[str, str], ...] = ()


def soap12_fault(
    code: str, subcode: str, reason: str, detail: str = "", subcode_ns: str = "urn:siram", lang: str = "fr"
) -> bytes:
    """A SOAP 1.2 Fault envelope; `detail` is inserted as XML."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
        "<soap:Body><soap:Fault>"
        f'<soap:Code><soap:Value>soap:{code}</soap:Value><soap:Subcode><soap:Value '
        f'xmlns:s="{subcode_ns}">s:{subcode}</soap:Value>'
        "</soap:Subcode></soap:Code>"
        f'<soap:Reason><soap:Text xml:lang="{lang}">{reason}</soap:Text></soap:Reason>'
        f"{f'<soap:Detail>{detail}</soap:Detail>' if detail else ''}"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SoapServer

    def setup(self) -> None:
        self.request.settimeout(30)
        # Headers and body leave in separate writes: without this, Nagle + delayed ACK add ~40 ms per answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.handshake_ok = False
        try:
            self.request.do_handshake()
            self.handshake_ok = True
        except (ssl.SSLError, OSError) as e:
            log.debug("simulateur : poignée de main TLS refusée (%s)", e)
        super().setup()

    def handle(self) -> None:
        if self.handshake_ok:
            super().handle()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("simulateur %s : " + format, self.server.name, *args)

    def do_GET(self) -> None:
        self._send(SimReply(405, b"POST only", "text/plain"))

    def do_POST(self) -> None:
        declared = self.headers.get("Content-Length", "")
        if not declared.isdigit() or int(declared) > MAX_REQUEST_BYTES:
            self._send(SimReply(413, b"request too large or without length", "text/plain"))
            self.close_connection = True  # the unread body must not be taken for the next request
            return
        body = self.rfile.read(int(declared))
        cert = self.request.getpeercert() or {}
        cn = next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), "")
        request = SimRequest(self.path, self.headers.get("Content-Type", ""), body, cn)
        self.server.received.append(request)
        with self.server.lock:
            self.server.count += 1
            self.server.in_flight += 1
            self.server.peak_in_flight = max(self.server.peak_in_flight, self.server.in_flight)
        try:
            self._answer(request)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def _answer(self, request: SimRequest) -> None:
        try:
            reply = self.server.app(request)
        except Exception:  # a simulator bug must show as a 500, not kill the thread silently
            log.exception("simulateur %s : erreur interne", self.server.name)
            reply = SimReply(500, b"simulator error", "text/plain")
        wait = self.server.latency_s + reply.delay_s
        if wait and self.server.stopping.wait(wait):
            return
        if reply.hang:
            self.server.stopping.wait(self.server.hang_limit_s)
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: SimReply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            if not reply.drip_s:
                self.wfile.write(reply.body)
            for i in range(len(reply.body) if reply.drip_s else 0):
                if self.server.stopping.wait(reply.drip_s):
                    break
                self.wfile.write(reply.body[i : i + 1])
        except OSError:
            self.close_connection = True


class SoapServer(ThreadingHTTPServer):
    """`SoapServer(name, pki, app)`; `start()`, `url`, `stop()`. `latency_s` may be changed while running."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, name: str, pki: TestPki, app: Callable[[SimRequest], SimReply], *, latency_s: float = 0.0, port: int = 0
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.name = name
        self.app = app
        self.latency_s = latency_s
        self.hang_limit_s = 600.0
        self.count = 0
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0  # most requests being answered at once: shows a client's concurrency
        self.stopping = threading.Event()
        self.received: deque[SimRequest] = deque(maxlen=64)  # in memory only, for bench checks and tests
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(pki.server_cert, pki.server_key)
        context.load_verify_locations(cafile=pki.ca_bundle)
        context.verify_mode = ssl.CERT_REQUIRED
        self.ssl_context = context
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, address = super().get_request()
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def start(self) -> SoapServer:
        self._thread = threading.Thread(target=self.serve_forever, name=f"sim-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)

