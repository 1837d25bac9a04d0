"""`kiosk doctor`: what a technician checks on site, as a registry of small checks.

Each check is a function `(DoctorContext) -> Finding` registered with `@check(name, title, order=...)`; it
says ok / warn / fail in French with what to do next. The registry is `registry.py`; each other module
of this package holds the checks of one area (configuration, readers, certificates, network, storage, params,
fleet, service) and registers them at import. To add checks, add a module here: `discover()` imports every
module of the package. A check that raises is reported as a failure of that check, never as a crash of the whole
report. The worst finding decides the exit code (ok 0, warn 1, fail 3; 2 when the configuration itself is what
fails).
"""

from __future__ import annotations

from kiosk.appliance.doctor.registry import (
    Check,
    CheckFn,
    DoctorContext,
    Finding,
    Level,
    Limits,
    Result,
    check,
    checks,
    discover,
    exit_code,
    fail,
    ok,
    register,
    run,
    warn,
)

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
