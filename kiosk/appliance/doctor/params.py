"""The param-lps file (Web PS addresses): downloaded, and confirmed recently."""

from __future__ import annotations

from kiosk.appliance.doctor.registry import DoctorContext, Finding, check, fail, ok, warn


@check("params", "Fichier param-lps", order=70)
def check_params(ctx: DoctorContext) -> Finding:
    from kiosk.teleservices.params.store import Store

    state = Store(ctx.state_dir).load()
    hint = "lancer `kiosk params sync` (ou `systemctl start kiosk-params.service`) et lire son message"
    if state.current is None or state.checked is None:
        level = warn if ctx.config is not None and ctx.config.environment == "demo" else fail
        return level("param-lps jamais téléchargé : adresses Web PS par défaut", hint)
    hours = (ctx.now - state.checked).total_seconds() / 3600
    details = {"checked_at": state.checked_at, "age_hours": round(hours, 1), "last_error": state.last_error}
    text = f"param-lps confirmé il y a {hours:.0f} h"
    if state.last_error:
        text += f" ; dernière tentative en échec : {state.last_error}"
    if hours > ctx.limits.params_fail_hours:
        return fail(text, hint, **details)
    if hours > ctx.limits.params_warn_hours or state.last_error:
        return warn(text, hint, **details)
    return ok(text, **details)
