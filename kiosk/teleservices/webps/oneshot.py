"""A page served once on 127.0.0.1 behind a random token, then gone: the way patient data reaches the
desk's browser without touching a disk.

The XHTML stays in this process's memory. The URL handed to the browser carries only the token
(`http://127.0.0.1:PORT/<token>`); the first GET with the right token gets the page (no-store, no
referrer), every later or wrong request a 404, and after `ttl_s` the page is dropped and the server stops.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["OneShotPage"]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the path holds the token: keep it out of stderr
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        body = owner.take(self.path)
        if body is None:
            self._reply(404, b"Page expir\xc3\xa9e ou d\xc3\xa9j\xc3\xa0 ouverte.\n", "text/plain; charset=utf-8")
            return
        try:
            self._reply(200, body, owner.content_type)
        finally:
            # Served only once the page is written: `kiosk link --open` exits when it sees `served`, and under load
            # it had exited mid-answer, leaving the browser a cut page that never posted (seen beside a CPU hog)
            owner.delivered()

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: OneShotPage


def _stop(httpd: _Server) -> None:
    httpd.shutdown()
    httpd.server_close()


class OneShotPage:
    """`with OneShotPage(xhtml) as page: run_browser(page.url); page.wait(30)`."""

    def __init__(
        self, body: str | bytes, *, ttl_s: float = 60.0, content_type: str = "application/xhtml+xml; charset=utf-8"
    ) -> None:
        self._body: bytes | None = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.ttl_s = ttl_s
        self.token = secrets.token_urlsafe(32)
        self._lock = threading.Lock()
        self._served = threading.Event()
        self._taken = False  # the browser asked for the page with the right token (served once written)
        self._deadline = 0.0
        self._httpd: _Server | None = None
        self._url = ""
        self._timer: threading.Timer | None = None
        self._cleanups: list[Callable[[], None]] = []

    def add_cleanup(self, action: Callable[[], None]) -> None:
        """Run `action` once, when the page is served or closed (the browser's launcher file goes then)."""
        self._cleanups.append(action)

    def _clean(self) -> None:
        with self._lock:
            actions, self._cleanups = self._cleanups, []
        for action in actions:
            action()

    @property
    def url(self) -> str:
        assert self._url, "not started"
        return self._url

    @property
    def served(self) -> bool:
        return self._served.is_set()

    @property
    def expired(self) -> bool:
        return self._body is None and not self._taken

    def take(self, path: str) -> bytes | None:
        """The page, once, for the right token before the deadline; None otherwise."""
        with self._lock:
            if self._body is None or time.monotonic() > self._deadline:
                self._body = None
                return None
            if not hmac.compare_digest(path.encode(), f"/{self.token}".encode()):
                return None
            body, self._body = self._body, None
            self._taken = True
        return body

    def delivered(self) -> None:
        """The page went to the browser (or the browser left): the launcher goes, then `served` is seen."""
        self._clean()  # before `served` is seen: whoever waits for it finds the launcher gone
        self._served.set()

    def start(self) -> Self:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._url = f"http://127.0.0.1:{httpd.server_address[1]}/{self.token}"
        self._deadline = time.monotonic() + self.ttl_s
        threading.Thread(target=httpd.serve_forever, name="webps-oneshot", daemon=True).start()
        self._timer = threading.Timer(self.ttl_s, self.close)
        self._timer.daemon = True
        self._timer.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True once the page was served; False if it expired or `timeout` passed first."""
        return self._served.wait(self.ttl_s if timeout is None else timeout)

    def close(self) -> None:
        """Drop the page and stop listening (idempotent)."""
        with self._lock:
            self._body = None
        self._clean()
        if self._timer is not None:
            self._timer.cancel()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:  # shutdown() blocks until serve_forever returns: never from its own thread
            threading.Thread(target=_stop, args=(httpd,), daemon=True).start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
