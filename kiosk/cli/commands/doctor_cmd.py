"""`kiosk doctor [--json] [--only NAME]`: the technician's on-site checks (see `kiosk.appliance.doctor`)."""

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
    p.add_argument(
        "--only", action="append", metavar="NAME", help="run only this check (repeatable); --list shows names"
    )
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.add_argument("--skip", action="append", metavar="NAME", help="leave this check out (repeatable), e.g. endpoints")
    plugin = p.add_argument_group("monitoring plugin (Nagios, Centreon, Icinga, Zabbix)")
    plugin.add_argument("--plugin", action="store_true",
                        help="monitoring-plugin output: one status line with performance data, exit 0 OK, 1 WARNING, "
                             "2 CRITICAL, 3 UNKNOWN (unreadable configuration, bad option, timeout)")
    # Thresholds are read as text: a bad value must be UNKNOWN (3), not argparse's usage error (2).
    plugin.add_argument(
        "--cert-warn", metavar="DAYS", default="30", help="WARNING when a certificate expires within DAYS (30)"
    )
    plugin.add_argument("--cert-crit", metavar="DAYS", default="0", help="CRITICAL within DAYS (0: once expired)")
    plugin.add_argument("--params-warn", metavar="HOURS", default="24", help="WARNING when param-lps is older (24)")
    plugin.add_argument("--params-crit", metavar="HOURS", default="72", help="CRITICAL when older (72)")
    plugin.add_argument(
        "--fleet-warn", metavar="HOURS", default="12", help="WARNING when the fleet metadata expires within HOURS (12)"
    )
    plugin.add_argument("--fleet-crit", metavar="HOURS", default="0", help="CRITICAL within HOURS (0: once expired)")
    plugin.add_argument("--timeout", metavar="SECONDS", default="50", help="UNKNOWN after SECONDS (50; NRPE waits 60)")
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(ctx: CliContext) -> int:
    from kiosk.appliance import doctor

    if ctx.args.plugin:
        return _plugin(ctx)
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
    results = doctor.run(dctx, _wanted(doctor, ctx.args.only, ctx.args.skip))
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


def _wanted(doctor: Any, only: list[str] | None, skip: list[str] | None) -> list[str] | None:
    if not skip:
        return only
    return [c.name for c in doctor.checks() if (not only or c.name in only) and c.name not in skip]


class _Timeout(Exception):
    pass


def _plugin(ctx: CliContext) -> int:
    """`--plugin`: whatever happens, one status line on stdout and a monitoring-plugin exit code."""
    import signal

    from kiosk.appliance.doctor import plugin

    a = ctx.args
    try:
        thresholds = plugin.Thresholds(
            int(plugin.parse_number(a.cert_warn, "--cert-warn", integer=True)),
            int(plugin.parse_number(a.cert_crit, "--cert-crit", integer=True)),
            plugin.parse_number(a.params_warn, "--params-warn"), plugin.parse_number(a.params_crit, "--params-crit"),
            plugin.parse_number(a.fleet_warn, "--fleet-warn"), plugin.parse_number(a.fleet_crit, "--fleet-crit"))
        timeout = plugin.parse_number(a.timeout, "--timeout")
        problem = thresholds.problem() or (None if timeout > 0 else "--timeout : nombre de secondes positif attendu")
    except ValueError as e:
        problem = str(e)
    if problem:
        return _print(ctx, plugin.unknown(f"option invalide : {problem}"))

    def expired(*_: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expired)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        from kiosk.appliance import doctor

        doctor.discover()
        unknown_checks = set(a.only or []) | set(a.skip or [])
        unknown_checks -= {c.name for c in doctor.checks()}
        if unknown_checks:
            return _print(ctx, plugin.unknown(f"contrôle(s) inconnu(s) : {', '.join(sorted(unknown_checks))}"))
        dctx = doctor.DoctorContext.load(ctx.config_path, limits=thresholds.limits())
        results = doctor.run(dctx, _wanted(doctor, a.only, a.skip))
        answer = plugin.report(dctx, results, thresholds)
    except _Timeout:
        answer = plugin.unknown(f"contrôles inachevés après {timeout:g} s (--timeout ; réseau lent ? --skip endpoints)")
    except Exception as e:  # noqa: BLE001 - a plugin never dies with a traceback: the monitoring shows UNKNOWN and why
        answer = plugin.unknown(
            f"erreur interne du contrôle ({e.__class__.__name__}) : relancer `kiosk doctor` sur la borne"
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return _print(ctx, answer)


def _print(ctx: CliContext, answer: Any) -> int:
    ctx.stdout.write(answer.text + "\n")
    ctx.stdout.flush()
    return int(answer.status)
