"""Which configuration changes lock the desk: those that change who may do what, or where patient data goes.

Issue 15.4's list: `environment`, `[[readers]]`, the teleservices' endpoints, certificates and their passwords
(`[insi]`, `[dmp]` but their timeouts), the Web PS endpoints, `params.allowed_domains`, `[lps]`, `[his]`. Any
other change (texts, printer, page table, timeouts, idle delay...) is applied without closing the session.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["locking_changes"]

_HARMLESS = {"timeout_s", "connect_timeout_s"}  # [insi] / [dmp] keys that change nothing of who or where


def _fields(section: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(section) and not isinstance(section, type):
        return {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}
    return {}


def locking_changes(old: Any, new: Any) -> list[str]:
    """The dotted keys whose change locks the desk, in a stable order (shown on the lock screen)."""
    out: list[str] = []
    for key in ("environment", "readers", "lps", "his"):
        if getattr(old, key, None) != getattr(new, key, None):
            out.append(key)
    for section in ("insi", "dmp"):
        before, after = _fields(getattr(old, section, None)), _fields(getattr(new, section, None))
        out += [f"{section}.{k}" for k in sorted(set(before) | set(after))
                if k not in _HARMLESS and before.get(k) != after.get(k)]
    for key in ("cpx_base", "psc_base", "access"):
        if getattr(old.webps, key) != getattr(new.webps, key):
            out.append(f"webps.{key}")
    if old.params.allowed_domains != new.params.allowed_domains:
        out.append("params.allowed_domains")
    return out
