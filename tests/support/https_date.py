"""A tiny HTTPS server on 127.0.0.1 that answers HEAD with a chosen Date header (the doctor's clock and endpoint
checks), its certificate from the project's one test PKI (`drivers.sim.pki`)."""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import format_datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from drivers.sim.pki import Authority, KeyKind, key_pem, write_file


@contextmanager
def https_server(directory: Path, authority: Authority, date: dt.datetime | None = None) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 (certificate from `authority`) whose Date header is `date` (default: now)."""
    key, cert = authority.issue_server(key_kind=KeyKind.EC)  # EC: quick, and nothing checks its shape
    cert_path = write_file(directory / "server.pem", cert.public_bytes(serialization.Encoding.PEM))
    key_path = write_file(directory / "server.key", key_pem(key), 0o600)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def date_time_string(self, timestamp: float | None = None) -> str:
            return format_datetime(date or dt.datetime.now(dt.UTC), usegmt=True)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/lps"
    finally:
        server.shutdown()
        server.server_close()
