"""A stand-in Web PS on 127.0.0.1 (HTTPS, the simulators' test PKI) that records what the desk's browser
posts to `<base>/AccesDirect/<page>`, for the Chromium test and the demo.

It answers every POST with a small French page naming the page asked and the masked matricule received;
it keeps the received fields (in memory only) so that a test can check the method, the path, `INS` and
`typeINS`. Two bases are served, `/wps-cps` and `/wps-psc`, as the CPx and Pro Santé Connect ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from kiosk.domain.privacy import mask_matricule
from kiosk.sim.loopback import LoopbackHttpsServer, SimHttpServer

__all__ = ["Received", "WebPsStandIn"]

MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    content_type: str
    fields: dict[str, list[str]]


class _Handler(BaseHTTPRequestHandler):
    server: SimHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self, method: str) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        content_type = self.headers.get("Content-Type", "")
        fields = parse_qs(body, keep_blank_values=True) if "form-urlencoded" in content_type else {}
        owner = self.server.owner
        with owner.arrived:
            owner.received.append(Received(method, self.path, content_type, fields))
            owner.arrived.notify_all()
        ins = fields.get("INS", [""])[0]
        text = (f"<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Web PS (simulateur)</title>"
                f"</head><body><h1>Web PS (simulateur)</h1><p>{escape(method)} {escape(self.path)}</p>"
                f"<p>INS : {escape(mask_matricule(ins)) if ins else '(aucun)'}</p></body></html>")
        data = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self._record("POST")

    def do_GET(self) -> None:
        self._record("GET")


class WebPsStandIn(LoopbackHttpsServer):
    """`with WebPsStandIn(pki) as wps:` then point webps.cpx_base at `wps.cpx_base`, and read `wps.received`."""

    handler = _Handler
    thread_name = "webps-standin"

    def __init__(self, pki: Any) -> None:
        self.pki = pki
        self.received: list[Received] = []
        self.arrived = threading.Condition()  # guards `received`, notified at each request

    @property
    def cpx_base(self) -> str:
        return f"https://127.0.0.1:{self.port}/wps-cps"

    @property
    def psc_base(self) -> str:
        return f"https://127.0.0.1:{self.port}/wps-psc"

    def wait_for(self, count: int, timeout: float) -> bool:
        """True once `count` requests arrived."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)

