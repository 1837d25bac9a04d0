"""The configuration file: present, valid, which environment."""

from __future__ import annotations

from kiosk.appliance.doctor.registry import DoctorContext, Finding, check, fail, ok, warn


@check("config", "Configuration", order=10, needs_config=False)
def check_config(ctx: DoctorContext) -> Finding:
    if ctx.config_error is not None:
        problems = [str(p) for p in ctx.config_error.problems] or [str(ctx.config_error)]
        return fail(f"{ctx.config_path} invalide : {len(problems)} problème(s)",
                    f"corriger avec `kiosk config check {ctx.config_path}` ou refaire `kiosk provision`",
                    problems=problems)
    assert ctx.config is not None
    if not ctx.config_path.exists():
        return warn(f"{ctx.config_path} absent : configuration de démonstration",
                    "installer la configuration du site avec `kiosk provision`", environment=ctx.config.environment)
    return ok(f"{ctx.config_path} valide (environnement {ctx.config.environment})", environment=ctx.config.environment)
