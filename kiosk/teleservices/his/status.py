"""The outbox's state for `kiosk doctor`, in the runtime directory (tmpfs): counts and ids, no patient data.

The running service rewrites it whenever its pending list changes; the doctor, another process, reads it.
It holds control ids, message kinds, states, attempts, ACK codes and ages only: no names, no INS, no ERR
text (a hospital's error text may quote the patient). It lives under /run, so nothing survives a reboot.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from kiosk.atomicfile import atomic_write
from kiosk.teleservices.his.link import PendingView

__all__ = ["read_status", "service_status_path", "status_path", "write_status"]


STATUS_FILE = "his-pending.json"


def status_path() -> Path:
    """Where the doctor looks: the service's runtime directory."""
    return service_status_path() or Path("/run/kiosk") / STATUS_FILE


def service_status_path() -> Path | None:
    """Where the running service writes: only under systemd (which sets RUNTIME_DIRECTORY), so that a demo or a
    test on the same machine never overwrites what the real desk reports."""
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return Path(runtime) / STATUS_FILE if runtime else None


def write_status(views: list[PendingView], *, endpoint: str, path: Path | None = None) -> None:
    data = {
        "written_at": time.time(),
        "endpoint": endpoint,
        "pending": [
            {"control_id": v.control_id, "kind": v.kind, "state": v.state.value, "attempts": v.attempts,
             "ack": v.ack_code, "queued_at": v.queued_at}
            for v in views
        ],
    }
    atomic_write(path or status_path(), json.dumps(data).encode(), 0o640)


def read_status(path: Path | None = None) -> dict[str, Any] | None:
    try:
        data = json.loads((path or status_path()).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
