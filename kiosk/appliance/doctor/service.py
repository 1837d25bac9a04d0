"""The service under systemd: running, with its watchdog, and how often it restarted."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from kiosk.appliance.doctor.registry import DoctorContext, Finding, check, fail, ok, warn

SYSTEMD_RUNTIME = Path("/run/systemd/system")  # exists when systemd is the running init
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(us|ms|min|s|h|d)?")
_SPAN_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "": 1.0}


def _span_seconds(text: str) -> float:
    """`systemctl show` time spans ("30s", "1min 30s", "0", "infinity") in seconds."""
    if text.strip() in ("", "infinity"):
        return 0.0
    return sum(float(n) * _SPAN_S[unit] for n, unit in _SPAN.findall(text))


def systemctl_show(unit: str) -> dict[str, str]:
    """`systemctl show` of `unit`: the properties the watchdog check reads (tests give their own)."""
    done = subprocess.run(["systemctl", "show", unit, "--property=ActiveState,SubState,WatchdogUSec,NRestarts,Type"],
                          capture_output=True, text=True, timeout=10, check=False)
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


@check("watchdog", "Service et chien de garde", order=90, needs_config=False)
def check_watchdog(ctx: DoctorContext) -> Finding:
    if not SYSTEMD_RUNTIME.is_dir() or not shutil.which("systemctl"):
        return ok("systemd absent (poste de test) : service non vérifié")
    service, desk = systemctl_show("kiosk.service"), systemctl_show("kiosk-desk.service")
    if desk.get("ActiveState") == "active":
        return ok("écran du poste (kiosk-desk.service) actif", restarts=desk.get("NRestarts"))
    if service.get("ActiveState") != "active":
        return fail(f"kiosk.service {service.get('ActiveState', 'inconnu')} ({service.get('SubState', '')})",
                    "voir `journalctl -u kiosk -b` puis `systemctl restart kiosk`", **service)
    watchdog_s = _span_seconds(service.get("WatchdogUSec", ""))
    restarts = int(service.get("NRestarts", "0") or 0)
    if not watchdog_s:
        return warn("kiosk.service actif sans chien de garde", "réinstaller l'unité (WatchdogSec)", **service)
    if restarts:
        return warn(f"kiosk.service actif, redémarré {restarts} fois depuis le démarrage",
                    "lire les causes : `journalctl -u kiosk -b | grep -i watchdog`", **service)
    return ok(f"kiosk.service actif, chien de garde {watchdog_s:g} s", **service)
