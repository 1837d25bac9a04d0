"""`kiosk doctor --plugin`: the doctor's checks as a monitoring plugin (Nagios / Centreon / Icinga / Zabbix).

The monitoring-plugins convention: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one status line first, with the
performance data after `|` (`label=value;warn;crit;min;max`, thresholds in the plugins' range syntax), then one
line per check. An unreadable or invalid configuration, an unknown option value or a run past `--timeout` is
UNKNOWN: the plugin cannot say. The doctor never handles patient data, so neither does this output.

This module registers no check (the package's `discover()` imports it like the others).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from kiosk.appliance.doctor.registry import DoctorContext, Level, Limits, Result

__all__ = ["PluginReport", "Status", "Thresholds", "report", "unknown"]

FLEET_WARN_HOURS = 12.0  # the shipped Prometheus rule's window (monitoring/kiosk-alerts.yml)
FLEET_CRIT_HOURS = 0.0
LONG_OUTPUT_MAX = 3500  # NRPE 3/4 carry 64 kB, Nagios shows the first 4 kB well; the status line comes first anyway


class Status(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


_FROM_LEVEL = {Level.OK: Status.OK, Level.WARN: Status.WARNING, Level.FAIL: Status.CRITICAL}


@dataclass(frozen=True)
class Thresholds:
    cert_warn_days: int = Limits.cert_warn_days
    cert_crit_days: int = Limits.cert_fail_days
    params_warn_hours: float = Limits.params_warn_hours
    params_crit_hours: float = Limits.params_fail_hours
    fleet_warn_hours: float = FLEET_WARN_HOURS
    fleet_crit_hours: float = FLEET_CRIT_HOURS

    def limits(self) -> Limits:
        """What the doctor's own checks compare with: the plugin's thresholds decide their levels too."""
        return Limits(self.cert_warn_days, self.cert_crit_days, self.params_warn_hours, self.params_crit_hours)

    def problem(self) -> str | None:
        if self.cert_crit_days > self.cert_warn_days:
            return "--cert-crit doit être inférieur ou égal à --cert-warn"
        if self.params_crit_hours < self.params_warn_hours:
            return "--params-crit doit être supérieur ou égal à --params-warn"
        if self.fleet_crit_hours > self.fleet_warn_hours:
            return "--fleet-crit doit être inférieur ou égal à --fleet-warn"
        return None


@dataclass(frozen=True)
class PluginReport:
    status: Status
    text: str

    def __str__(self) -> str:
        return self.text


def unknown(reason: str) -> PluginReport:
    return PluginReport(Status.UNKNOWN, f"KIOSK UNKNOWN - {_one_line(reason)}")


def _one_line(text: str) -> str:
    return " ".join(text.replace("|", "/").split())  # `|` would start the performance data


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class _Perf:
    label: str
    value: float
    warn: str = ""
    crit: str = ""
    minimum: str = ""

    def __str__(self) -> str:
        return f"{self.label}={_num(self.value)};{self.warn};{self.crit};{self.minimum}".rstrip(";")


def _details(results: Iterable[Result], name: str) -> dict[str, Any] | None:
    return next((r.finding.details for r in results if r.check.name == name), None)


def _perfdata(results: list[Result], t: Thresholds, now: datetime) -> tuple[list[_Perf], list[str]]:
    """The measures, and the threshold breaches the doctor's checks do not already report."""
    perf: list[_Perf] = []
    breaches: list[str] = []
    certs = (_details(results, "certificates") or {}).get("certificates") or []
    if certs:
        days = min(int(c["days_left"]) for c in certs)
        perf.append(_Perf("cert_days_left", days, f"{t.cert_warn_days}:", f"{t.cert_crit_days}:"))
    params = _details(results, "params") or {}
    if params.get("age_hours") is not None:
        perf.append(_Perf("params_age_h", float(params["age_hours"]), _num(t.params_warn_hours),
                          _num(t.params_crit_hours), "0"))
    fleet = _details(results, "fleet") or {}
    if fleet.get("expires"):
        hours = round((datetime.fromisoformat(fleet["expires"]) - now).total_seconds() / 3600, 1)
        perf.append(_Perf("fleet_expiry_h", hours, f"{_num(t.fleet_warn_hours)}:", f"{_num(t.fleet_crit_hours)}:"))
        if hours < t.fleet_crit_hours:
            breaches.append(f"CRITICAL:métadonnées de flotte : {_expiry_words(hours)}")
        elif hours < t.fleet_warn_hours:
            breaches.append(f"WARNING:métadonnées de flotte : {_expiry_words(hours)}")
    readers = _details(results, "readers")
    if readers is not None and isinstance(readers.get("readers"), list):
        found = readers["readers"]
        present = sum(1 for r in found if r.get("backend") != "pcsc" or r.get("matches"))
        perf.append(_Perf("readers", present, "", f"{len(found)}:", "0"))
    return perf, breaches


def _expiry_words(hours: float) -> str:
    return f"expirées depuis {-hours:g} h" if hours < 0 else f"expirent dans {hours:g} h"


def report(ctx: DoctorContext, results: list[Result], thresholds: Thresholds) -> PluginReport:
    if ctx.config_error is not None or ctx.config is None:
        error = ctx.config_error
        problems = [str(p) for p in error.problems] if error is not None and error.problems else []
        return unknown(f"configuration {ctx.config_path} illisible ou invalide : "
                       + ("; ".join(problems[:3]) if problems else str(error or "absente")))
    if not ctx.config_path.exists():
        return unknown(f"configuration {ctx.config_path} absente (poste non installé ? `kiosk provision`)")
    perf, breaches = _perfdata(results, thresholds, ctx.now)
    status = max((_FROM_LEVEL[r.finding.level] for r in results), default=Status.OK)
    for breach in breaches:
        status = max(status, Status[breach.split(":", 1)[0]])
    bad = sorted((r for r in results if r.finding.level != Level.OK), key=lambda r: -r.finding.level)
    if bad or breaches:
        summary = " ; ".join(
            [f"{r.check.title} : {r.finding.message}" for r in bad] + [b.split(":", 1)[1] for b in breaches]
        )
    else:
        summary = f"{len(results)} contrôle(s) ok (environnement {ctx.config.environment})"
    if len(summary) > 300:
        summary = summary[:297] + "..."
    head = f"KIOSK {status.name} - {_one_line(summary)}" + (f" | {' '.join(map(str, perf))}" if perf else "")
    lines = [head]
    for r in sorted(results, key=lambda r: (-r.finding.level, r.check.order)):
        line = f"[{_FROM_LEVEL[r.finding.level].name}] {r.check.title} : {r.finding.message}"
        if r.finding.action:
            line += f" -> {r.finding.action}"
        lines.append(_one_line(line))
    text = head
    for line in lines[1:]:
        if len(text) + len(line) + 1 > LONG_OUTPUT_MAX:
            text += "\n..."
            break
        text += "\n" + line
    return PluginReport(status, text)


def parse_number(value: str, option: str, *, integer: bool = False) -> float:
    """A threshold option's value; ValueError with a French message (the plugin answers UNKNOWN)."""
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        raise ValueError(f"{option} : nombre attendu, pas {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{option} : nombre fini attendu")
    return number
