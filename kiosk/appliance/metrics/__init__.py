"""Prometheus metrics of the service (`[metrics]`, off by default): `desk` (what is counted), `state` (what is
read at collection time), `teleservices` (INSi / DMP call probes), `exposition` (HTTP or textfile).

Nothing here is imported unless `[metrics]` asks for it: prometheus_client stays out of a kiosk without it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["enabled"]


def enabled(config: Config) -> bool:
    return bool(config.metrics.listen or config.metrics.textfile)
