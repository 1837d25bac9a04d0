"""The fleet sync: its trusted root readable, how old the configuration is, whether the metadata expired."""

from __future__ import annotations

from pathlib import Path

from kiosk.appliance.doctor.registry import DoctorContext, Finding, check, fail, ok, warn
from kiosk.appliance.fleet.state import fleet_status, format_age

_ACTION = ("lancer `kiosk sync` et lire son message ; côté informatique, vérifier le serveur de flotte "
           "et la publication quotidienne (`kiosk fleet publish`)")


@check("sync", "Configuration de flotte", order=80)
def check_sync(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    sync = ctx.config.sync
    if not sync.enabled:
        return ok("synchronisation de flotte désactivée (configuration locale)")
    root = Path(sync.trusted_root)
    try:
        size = root.stat().st_size
        with root.open("rb"):
            pass
    except OSError as e:
        return fail(f"racine de confiance {root} illisible ({e.strerror or e})",
                    "réinstaller la racine TUF de la flotte avec `kiosk provision`")
    return ok(f"synchronisation active vers {sync.url}, racine de confiance présente ({size} octets)")


@check("fleet", "Synchronisation de flotte (âge, expiration)", order=81)
def check_fleet(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    status = fleet_status(ctx.config, now=ctx.now)
    if not status.enabled:
        return ok("synchronisation de flotte désactivée (configuration locale)")
    details = status.to_dict()
    if status.level != "ok":
        return warn(" ; ".join(status.messages), _ACTION, **details)
    age = format_age(status.age_s) if status.age_s is not None else "?"
    until = f", métadonnées valides jusqu'au {status.expires:%d/%m/%Y %H:%M} UTC" if status.expires else ""
    return ok(f"configuration de flotte synchronisée il y a {age}{until}", **details)
