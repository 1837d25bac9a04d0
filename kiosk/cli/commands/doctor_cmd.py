"""`kiosk doctor [--json] [--only NAME]`: the technician's on-site checks (see `kiosk.doctor`)."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.cli.context import CliContext

ORDER = 85
_MARK = {0: "[ ok ]", 1: "[avert]", 2: "[ÉCHEC]"}


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("doctor", parents=[parent], help="diagnostics a technician runs on site",
                       description="Contrôles du poste : configuration, pcscd et polkit, lecteurs, ports série, "
                                   "certificats, horloge, téléservices, param-lps, flotte, espace disque, service. "
                                   "Code de sortie : 0 tout va bien, 1 avertissement, 2 configuration invalide, "
                                   "3 échec.")
    p.add_argument("--only", action="append", metavar="NAME", help="run only this check (repeatable); --list shows names")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(ctx: CliContext) -> int:
    from kiosk import doctor

    doctor.discover()
    if ctx.args.list:
        rows = [{"name": c.name, "title": c.title, "order": c.order} for c in doctor.checks()]
        ctx.emit({"checks": rows}, "\n".join(f"{r['name']:<14} {r['title']}" for r in rows))
        return 0
    unknown = set(ctx.args.only or []) - {c.name for c in doctor.checks()}
    if unknown:
        from kiosk.errors import ConfigError

        raise ConfigError(f"contrôle(s) inconnu(s) : {', '.join(sorted(unknown))} (voir `kiosk doctor --list`)")
    dctx = doctor.DoctorContext.load(ctx.config_path)
    results = doctor.run(dctx, ctx.args.only)
    code = doctor.exit_code(results)
    worst = max((r.finding.level for r in results), default=doctor.Level.OK)
    lines = []
    for r in results:
        lines.append(f"{_MARK[r.finding.level]} {r.check.title} : {r.finding.message}")
        if r.finding.action:
            lines.append(f"        → {r.finding.action}")
    counts = {level.label: sum(r.finding.level == level for r in results) for level in doctor.Level}
    lines.append(f"\n{counts['ok']} ok, {counts['warn']} avertissement(s), {counts['fail']} échec(s)")
    ctx.emit({"ok": worst == doctor.Level.OK, "worst": worst.label, "exit_code": code, "config": str(ctx.config_path),
              "checks": [r.to_dict() for r in results]}, "\n".join(lines))
    return code
