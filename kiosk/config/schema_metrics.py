"""`[metrics]`: Prometheus metrics of the service (off by default), served on an address or written as a textfile."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kiosk.config.binding import doc


def split_listen(value: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port); ValueError when it is neither."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(value)
    if host.startswith("["):
        if not host.endswith("]") or len(host) < 3:
            raise ValueError(value)
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(value)
    return host, int(port)


@dataclass(frozen=True)
class MetricsConfig:
    listen: str = doc("", "Serve /metrics (OpenMetrics) on this address, e.g. 127.0.0.1:9464 or [::]:9464; "
                          "empty = off. No patient data in any metric.")
    textfile: str = doc(
        "",
        "Also write the metrics to this file for node_exporter's textfile collector "
        "(absolute path ending in .prom, rewritten atomically when something changes); empty = off.",
    )

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if self.listen:
            try:
                split_listen(self.listen)
            except ValueError:
                yield ("listen",), "adresse hôte:port attendue (ex. 127.0.0.1:9464 ou [::1]:9464)"
        if self.textfile and not (self.textfile.startswith("/") and self.textfile.endswith(".prom")):
            yield ("textfile",), "chemin absolu se terminant par .prom attendu (collecteur textfile de node_exporter)"
