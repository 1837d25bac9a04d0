"""The checks' registry: findings, the shared context, registration, discovery, the run and its exit code."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from drivers.pcsc.probe import PCSCD_SOCKET
from kiosk import exitcodes
from kiosk.config import Config, load_config
from kiosk.errors import ConfigError

__all__ = [
    "Check",
    "CheckFn",
    "DoctorContext",
    "Finding",
    "Level",
    "Limits",
    "Result",
    "check",
    "checks",
    "discover",
    "exit_code",
    "fail",
    "ok",
    "register",
    "run",
    "warn",
]

log = logging.getLogger(__name__)

NET_TIMEOUT_S = 5.0


class Level(IntEnum):
    OK = 0
    WARN = 1
    FAIL = 2

    @property
    def label(self) -> str:
        return ("ok", "warn", "fail")[self]


@dataclass(frozen=True)
class Finding:
    level: Level
    message: str  # French, one line: what was found
    action: str = ""  # French: what to do next (empty when nothing to do)
    details: dict[str, Any] = field(default_factory=dict)


def ok(message: str, **details: Any) -> Finding:
    return Finding(Level.OK, message, "", details)


def warn(message: str, action: str, **details: Any) -> Finding:
    return Finding(Level.WARN, message, action, details)


def fail(message: str, action: str, **details: Any) -> Finding:
    return Finding(Level.FAIL, message, action, details)


@dataclass(frozen=True)
class Limits:
    """Where a check turns to a warning or a failure; `kiosk doctor --plugin` takes them as options."""

    cert_warn_days: int = 30  # a certificate expiring sooner is a warning (ordering one takes weeks)
    cert_fail_days: int = 0  # ... sooner than this (0: expired) a failure
    params_warn_hours: float = 24.0  # homologation: param-lps refreshed at least daily
    params_fail_hours: float = 72.0


@dataclass
class DoctorContext:
    """What checks share: the configuration (None when invalid), paths, the clock, and a cache between checks."""

    config_path: Path
    config: Config | None = None
    config_error: ConfigError | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    pcscd_socket: Path = PCSCD_SOCKET
    cache: dict[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def load(cls, config_path: Path, **overrides: Any) -> DoctorContext:
        ctx = cls(config_path, **overrides)
        try:
            ctx.config = load_config(config_path)
        except ConfigError as e:
            ctx.config_error = e
        return ctx

    @property
    def state_dir(self) -> Path:
        from kiosk.teleservices.params.store import resolve_state_dir

        return resolve_state_dir(self.config)


CheckFn = Callable[[DoctorContext], Finding]


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    fn: CheckFn
    order: int = 50
    needs_config: bool = True  # skipped (reported as such) when the configuration is invalid


@dataclass(frozen=True)
class Result:
    check: Check
    finding: Finding
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        return {"name": self.check.name, "title": self.check.title, "level": f.level.label, "message": f.message,
                "action": f.action, "details": f.details, "seconds": round(self.seconds, 3)}


REGISTRY: dict[str, Check] = {}  # name -> check, filled as the check modules are imported (tests swap in their own)


def register(name: str, title: str, fn: CheckFn, *, order: int = 50, needs_config: bool = True) -> Check:
    """Add (or replace, by name) a check. `order` sorts the report: 10s configuration, 20-39 readers,
    40-59 certificates and network, 60-79 state and data, 80+ fleet and service."""
    entry = Check(name, title, fn, order, needs_config)
    REGISTRY[name] = entry
    return entry


def check(name: str, title: str, *, order: int = 50, needs_config: bool = True) -> Callable[[CheckFn], CheckFn]:
    """Decorator form of `register`."""

    def wrap(fn: CheckFn) -> CheckFn:
        register(name, title, fn, order=order, needs_config=needs_config)
        return fn

    return wrap


def checks() -> list[Check]:
    return sorted(REGISTRY.values(), key=lambda c: (c.order, c.name))


def discover(package: str = "kiosk.appliance.doctor") -> None:
    """Import every module of `package` (one per area) so that its checks register.

    The checks live in the kiosk, never in drivers/ or ui/: drivers offer probes (`drivers.pcsc.probe`) that a
    module here words for the technician, so that nothing below kiosk imports it.
    """
    root = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        name = f"{package}.{info.name}"
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - a broken area must not hide the other checks
            log.warning("contrôles %s non chargés : %s", name, e)
            register(name, f"Contrôles de {name}", _broken(name, e), order=99, needs_config=False)


def _broken(name: str, error: Exception) -> CheckFn:
    return lambda ctx: fail(f"module de contrôles {name} impossible à charger ({error.__class__.__name__})",
                            "signaler au support : version du logiciel incohérente")


def run(ctx: DoctorContext, only: Iterable[str] | None = None) -> list[Result]:
    wanted = set(only) if only else None
    results = []
    for entry in checks():
        if wanted is not None and entry.name not in wanted:
            continue
        start = time.monotonic()
        if entry.needs_config and ctx.config is None:
            finding = warn("non vérifié : la configuration est invalide", "corriger d'abord la configuration")
        else:
            try:
                finding = entry.fn(ctx)
            except Exception as e:
                log.debug("contrôle %s en erreur", entry.name, exc_info=e)
                finding = fail(f"le contrôle a échoué ({e.__class__.__name__}: {e})",
                               "relancer avec -vv et transmettre la sortie au support")
        results.append(Result(entry, finding, time.monotonic() - start))
    return results


def exit_code(results: list[Result]) -> int:
    worst = max((r.finding.level for r in results), default=Level.OK)
    if worst == Level.FAIL:
        config_failed = any(r.check.name == "config" and r.finding.level == Level.FAIL for r in results)
        return exitcodes.USAGE if config_failed else exitcodes.EXTERNAL
    return exitcodes.NEGATIVE if worst == Level.WARN else exitcodes.OK
