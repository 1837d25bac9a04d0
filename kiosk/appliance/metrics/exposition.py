"""How the metrics leave the process: `/metrics` on an address, or a textfile for node_exporter.

Neither adds an idle wake-up. The HTTP server's thread blocks in select() with no timeout until a scrape
arrives (prometheus_client's own `start_http_server` runs `serve_forever`, which wakes every 0.5 s), and
answers one connection at a time (a scraper at a time is the norm; a stuck client is cut after 10 s). The
textfile writer's thread sleeps on a condition until something changes, writes the file atomically (temp
file, fsync, rename: node_exporter never reads half a file), then waits a second so a burst of desk events
makes one write, not twenty.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import generate_latest, make_wsgi_app
from prometheus_client.core import Metric

from kiosk.appliance.metrics.desk import KioskMetrics
from kiosk.appliance.metrics.state import fleet_metrics
from kiosk.atomicfile import atomic_write
from kiosk.config.schema_metrics import split_listen
from kiosk.errors import KioskError

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["MetricsServer", "TextfileWriter", "fleet_textfile", "serve_metrics", "write_fleet_textfile"]

log = logging.getLogger(__name__)
FLEET_PREFIX = "kiosk_fleet_"  # in textfile mode, `kiosk sync` writes these itself (see fleet_textfile)
CLIENT_TIMEOUT_S = 10.0
COALESCE_S = 1.0


class _QuietHandler(WSGIRequestHandler):
    timeout = CLIENT_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        pass


class MetricsServer:
    """`/metrics` (OpenMetrics or Prometheus text, as the scraper asks) on `host:port`."""

    def __init__(self, metrics: KioskMetrics, host: str, port: int) -> None:
        server_class: type[WSGIServer] = WSGIServer
        if ":" in host:
            server_class = type("WSGIServer6", (WSGIServer,), {"address_family": socket.AF_INET6})
        try:
            self._httpd = make_server(host, port, make_wsgi_app(metrics.registry), server_class, _QuietHandler)
        except OSError as e:
            raise KioskError(f"métriques : écoute impossible sur {host}:{port} ({e.strerror or e}) ; "
                             "changer [metrics] listen") from e
        self._httpd.timeout = None  # handle_request() blocks until a connection comes: no polling
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kiosk-metrics", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def thread(self) -> threading.Thread:
        """The serving thread (tests check that it sleeps between scrapes)."""
        return self._thread

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._httpd.handle_request()

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._httpd.socket.shutdown(socket.SHUT_RDWR)  # wakes the select() at once
        self._thread.join(timeout=5)
        self._httpd.server_close()


class _WithoutFleet:
    """The registry minus the fleet families (in textfile mode those come from `kiosk sync`'s own file)."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        return (m for m in self._registry.collect() if not m.name.startswith(FLEET_PREFIX))


class TextfileWriter:
    def __init__(self, metrics: KioskMetrics, path: Path, coalesce_s: float = COALESCE_S) -> None:
        self.path = Path(path)
        self._source = _WithoutFleet(metrics.registry)
        self._coalesce_s = coalesce_s
        self._cond = threading.Condition()
        self._dirty = True  # the first write happens at start
        self._stopping = False
        self._failing = False
        self._thread = threading.Thread(target=self._loop, name="kiosk-metrics-file", daemon=True)
        metrics.add_listener(self.changed)

    @property
    def thread(self) -> threading.Thread:
        """The writing thread (tests check that it sleeps while nothing changes)."""
        return self._thread

    def start(self) -> TextfileWriter:
        self._thread.start()
        return self

    def changed(self) -> None:
        with self._cond:
            self._dirty = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._dirty or self._stopping)  # no timeout: asleep while idle
                if self._stopping:
                    return
                self._dirty = False
            self.write()
            with self._cond:  # coalesce a burst of changes into the next write
                self._cond.wait_for(lambda: self._stopping, timeout=self._coalesce_s)

    def write(self) -> None:
        try:
            atomic_write(self.path, generate_latest(self._source), 0o644)  # type: ignore[arg-type]
        except OSError as e:
            if not self._failing:  # once per failure streak, not once per event
                log.error("métriques : écriture de %s impossible (%s)", self.path, e.strerror or e)
            self._failing = True
            return
        self._failing = False

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout=5)
        self.write()  # the last state, counters included


def fleet_textfile(textfile: str) -> Path:
    """Where `kiosk sync` writes the fleet's metrics: beside the service's file, `<name>_fleet.prom`."""
    path = Path(textfile)
    return path.with_name(f"{path.stem}_fleet.prom")


class _Fleet:
    def __init__(self, config: Config) -> None:
        self._config = config

    def collect(self) -> Iterator[Metric]:
        return fleet_metrics(self._config)


def write_fleet_textfile(config: Config) -> None:
    """After a fleet sync (its own process), in textfile mode: the sync timestamps and metadata expiry."""
    if config.metrics.textfile and config.sync.enabled:
        try:
            atomic_write(fleet_textfile(config.metrics.textfile), generate_latest(_Fleet(config)), 0o644)  # type: ignore[arg-type]
        except OSError as e:
            log.error("métriques de flotte : écriture impossible (%s)", e.strerror or e)


@contextlib.contextmanager
def serve_metrics(metrics: KioskMetrics, runtime: Any) -> Iterator[MetricsServer | None]:
    """Bind `metrics` to the runtime's controller and expose them as `[metrics]` says, for the run's duration."""
    config = metrics.config.metrics
    metrics.controller = runtime.controller
    runtime.controller.add_listener(metrics.on_desk_event)
    runtime.add_observer(metrics.changed)
    with contextlib.ExitStack() as stack:
        server = None
        if config.listen:
            host, port = split_listen(config.listen)
            server = MetricsServer(metrics, host, port).start()
            stack.callback(server.stop)
            log.info("métriques Prometheus servies sur http://%s/metrics", config.listen)
        if config.textfile:
            write_fleet_textfile(metrics.config)  # until the next `kiosk sync` rewrites it
            writer = TextfileWriter(metrics, Path(config.textfile)).start()
            stack.callback(writer.stop)
        yield server
