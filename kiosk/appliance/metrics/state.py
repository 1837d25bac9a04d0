"""What the metrics read at collection time: build, readers, desk, param-lps, certificates, fleet, audit journal.

Each part reads small files the service and its timers already keep (param-lps `state.json`, the fleet's
`status.json`, the audit directory) or asks the reader manager; a part that fails is left out of that scrape
(logged at DEBUG) rather than failing the whole scrape. Certificates are opened once per file version (path,
size, mtime), not at every scrape: PKCS#12 decryption is slow on a Raspberry Pi. Everything is imported
up front, on the main thread: a first import from the scrape thread racing the service's own (param-lps
refresh thread) can fail with Python's import deadlock detection.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from kiosk import __version__
from kiosk.appliance.fleet.state import fleet_status
from kiosk.appliance.service.audit import audit_dir
from kiosk.errors import ConfigError
from kiosk.teleservices.orgcert import open_certificate
from kiosk.teleservices.params.store import Store, resolve_state_dir
from kiosk.teleservices.tlsclient import read_password

if TYPE_CHECKING:
    from kiosk.appliance.metrics.desk import KioskMetrics
    from kiosk.config import Config

__all__ = ["StateCollector", "certificate_files"]

log = logging.getLogger(__name__)
READER_ROLES = ("patient", "staff", "any")


def certificate_files(config: Config) -> list[tuple[str, str, str, str]]:
    """(certificate label, PKCS#12 path, password file, inline password) of each configured certificate."""
    insi, dmp = config.insi, config.dmp
    out = [("insi_auth", insi.pkcs12, insi.pkcs12_password_file, insi.pkcs12_password),
           ("dmp_auth", dmp.pkcs12, dmp.pkcs12_password_file, dmp.pkcs12_password),
           ("dmp_signing", dmp.signing_pkcs12, dmp.signing_pkcs12_password_file, dmp.signing_pkcs12_password)]
    return [entry for entry in out if entry[1]]


def os_build_id() -> str:
    """The image's build from /etc/os-release (IMAGE_VERSION, else BUILD_ID; "" when neither is set)."""
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return ""
    return release.get("IMAGE_VERSION") or release.get("BUILD_ID") or ""


def _ts(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


class StateCollector(Collector):
    def __init__(self, metrics: KioskMetrics) -> None:
        self._metrics = metrics
        self._build_id = os_build_id()  # read once: it changes with a new image, which restarts the service
        self._certs: dict[str, tuple[tuple[int, int], float | None]] = {}  # path -> ((size, mtime_ns), not_after)
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # names vary with the configuration; nothing to read at registration

    def collect(self) -> Iterator[Metric]:
        config = self._metrics.config
        for part in (self._service, self._readers, self._params, self._certificates, self._audit, self._fleet):
            try:
                yield from part(config)
            except Exception as e:  # a damaged state file must not take the other metrics down
                log.debug("métriques : %s non lisible", part.__name__, exc_info=e)

    # ---- the parts --------------------------------------------------------------------------------------------
    def _service(self, config: Config) -> Iterator[Metric]:
        info = InfoMetricFamily("kiosk_build", "The kiosk software and image running, and the environment",
                                labels=["version", "build_id", "environment"])
        info.add_metric([__version__, self._build_id, str(config.environment)], {})
        yield info
        yield GaugeMetricFamily("kiosk_start_time_seconds", "When the service started (Unix time)",
                                value=self._metrics.started)
        controller = self._metrics.controller
        if controller is not None:
            yield GaugeMetricFamily("kiosk_desk_open", "1 while a desk session is open (staff card and PIN accepted)",
                                    value=1.0 if controller.view().is_open else 0.0)

    def _readers(self, config: Config) -> Iterator[Metric]:
        configured = {role: 0 for role in READER_ROLES}
        for reader in config.readers:
            configured[reader.role] = configured.get(reader.role, 0) + 1
        present = {role: 0 for role in READER_ROLES}
        manager = getattr(getattr(self._metrics.controller, "ports", None), "manager", None)
        if manager is not None:
            for lr in manager.logical_readers():
                if lr.physical is not None and lr.role in present:
                    present[lr.role] += 1
        g = GaugeMetricFamily("kiosk_readers_configured", "Logical readers in the configuration, by role",
                              labels=["role"])
        for role, n in configured.items():
            g.add_metric([role], n)
        yield g
        if manager is not None:
            g = GaugeMetricFamily("kiosk_readers_present", "Configured readers currently connected, by role",
                                  labels=["role"])
            for role, n in present.items():
                g.add_metric([role], n)
            yield g
        yield GaugeMetricFamily("kiosk_readers_backend_up", "0 while the reader service (pcscd) is unreachable",
                                value=1.0 if self._metrics.readers_backend_up else 0.0)

    def _params(self, config: Config) -> Iterator[Metric]:
        state = Store(resolve_state_dir(config)).load()
        checked, attempt = _ts(state.checked), _ts(state.last_attempt)
        if checked is not None:
            yield GaugeMetricFamily(
                "kiosk_params_last_success_timestamp_seconds",
                "When the param-lps server last confirmed the copy in use (200 or 304)",
                value=checked,
            )
        if attempt is not None:
            yield GaugeMetricFamily("kiosk_params_last_attempt_timestamp_seconds", "Last param-lps refresh attempt",
                                    value=attempt)
            yield GaugeMetricFamily("kiosk_params_last_attempt_ok", "1 when the last param-lps attempt succeeded",
                                    value=0.0 if state.last_error else 1.0)

    def _certificates(self, config: Config) -> Iterator[Metric]:
        expiry = GaugeMetricFamily("kiosk_certificate_expiry_timestamp_seconds",
                                   "notAfter of each organisation certificate (Unix time)", labels=["certificate"])
        readable = GaugeMetricFamily("kiosk_certificate_readable",
                                     "1 when the certificate and its password open", labels=["certificate"])
        for label, path, password_file, inline in certificate_files(config):
            not_after = self._not_after(path, password_file, inline)
            readable.add_metric([label], 0.0 if not_after is None else 1.0)
            if not_after is not None:
                expiry.add_metric([label], not_after)
        yield expiry
        yield readable

    def _not_after(self, path: str, password_file: str, inline: str) -> float | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._certs.get(path)
            if cached is not None and cached[0] == key:
                return cached[1]
            try:
                password = read_password(password_file, inline, "certificat").decode()
                cert = open_certificate(path, password or None)
                value: float | None = cert.cert.not_valid_after_utc.timestamp()
            except (ConfigError, OSError, ValueError):
                value = None
            self._certs[path] = (key, value)
            return value

    def _fleet(self, config: Config) -> Iterator[Metric]:
        yield from fleet_metrics(config)

    def _audit(self, config: Config) -> Iterator[Metric]:
        files = list(Path(audit_dir(config)).glob("audit-*.jsonl"))
        size = 0
        for f in files:
            try:
                size += f.stat().st_size
            except OSError:
                continue
        yield GaugeMetricFamily("kiosk_audit_journal_bytes", "Size of the desk's audit journal on disk", value=size)
        yield GaugeMetricFamily("kiosk_audit_journal_files", "Days kept in the desk's audit journal", value=len(files))


def fleet_metrics(config: Config) -> Iterator[Metric]:
    """Fleet sync timestamps from its status file (also written as their own textfile by `kiosk sync`)."""
    status = fleet_status(config)
    yield GaugeMetricFamily("kiosk_fleet_sync_enabled", "1 when this kiosk takes its configuration from the fleet",
                            value=1.0 if status.enabled else 0.0)
    if not status.enabled:
        return
    for name, help_text, moment in (
        ("kiosk_fleet_last_sync_timestamp_seconds", "Last successful fleet configuration sync", status.last_success),
        ("kiosk_fleet_last_attempt_timestamp_seconds", "Last fleet sync attempt", status.last_attempt),
        ("kiosk_fleet_metadata_expiry_timestamp_seconds", "Earliest expiry of the trusted fleet (TUF) metadata",
         status.expires),
    ):
        value = _ts(moment)
        if value is not None:
            yield GaugeMetricFamily(name, help_text, value=value)
