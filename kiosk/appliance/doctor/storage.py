"""The state directory: present, writable, and the disk under it not full."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from kiosk.appliance.doctor.registry import DoctorContext, Finding, check, fail, ok, warn

FREE_WARN_BYTES = 500 * 2**20
FREE_FAIL_BYTES = 100 * 2**20


@check("state", "Répertoire d'état", order=60)
def check_state(ctx: DoctorContext) -> Finding:
    directory = ctx.state_dir
    if not directory.is_dir():
        return fail(f"{directory} absent", "le créer : `systemd-tmpfiles --create kiosk.conf` (ou réinstaller)",
                    state_dir=str(directory))
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            pass
    except OSError as e:
        return fail(f"{directory} non inscriptible ({e.strerror or e})",
                    "rendre le répertoire à l'utilisateur kiosk : `chown -R kiosk:kiosk " + str(directory) + "`",
                    state_dir=str(directory))
    return ok(f"{directory} inscriptible", state_dir=str(directory))


@check("disk", "Espace disque", order=65)
def check_disk(ctx: DoctorContext) -> Finding:
    directory = ctx.state_dir
    target = directory if directory.exists() else Path("/")
    free = shutil.disk_usage(target).free
    mib = free // 2**20
    if free < FREE_FAIL_BYTES:
        return fail(f"{mib} Mio libres sur {target}", "libérer de la place (journaux : `journalctl --vacuum-size=50M`)",
                    free_bytes=free)
    if free < FREE_WARN_BYTES:
        return warn(f"{mib} Mio libres sur {target}", "surveiller l'espace disque", free_bytes=free)
    return ok(f"{mib} Mio libres sur {target}", free_bytes=free)
