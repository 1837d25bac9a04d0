"""The HTTPS-on-127.0.0.1 plumbing the simulators share: the handler's `self.server.owner` is the simulator."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["LoopbackHttpsServer", "SimHttpServer"]


class SimHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: Any


class LoopbackHttpsServer:
    """Subclasses set `handler` (a request handler class) and `thread_name`, and take `pki` (a
    `drivers.sim.pki.TestPki`: server certificate and key) in their constructor."""

    handler: type[BaseHTTPRequestHandler]
    thread_name = "sim-https"
    pki: Any
    _httpd: SimHttpServer | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    def start(self) -> Self:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.pki.server_cert), str(self.pki.server_key))
        httpd = SimHttpServer(("127.0.0.1", 0), self.handler)
        httpd.owner = self
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, name=self.thread_name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
