"""`kiosk doctor` check for the fleet sync: how old the configuration is, whether the metadata expired."""

from __future__ import annotations

from kiosk.doctor import DoctorContext, Finding, check, ok, warn
from kiosk.fleet.state import fleet_status, format_age

_ACTION = ("lancer `kiosk sync` et lire son message ; côté informatique, vérifier le serveur de flotte "
           "et la publication quotidienne (`kiosk fleet publish`)")


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
