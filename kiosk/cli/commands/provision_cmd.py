"""`kiosk provision [--from FILE] [--remove-source] [--dry-run]`: install the site's configuration and
certificates (see `kiosk.appliance.provision` for the provisioning file). Without --from, asks in French."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 82


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("provision", parents=[parent], help="install the site's configuration and certificates",
                       description="Provisionnement : valide tout (certificats, FINESS, URL, configuration) avant "
                                   "d'écrire quoi que ce soit, puis écrit les certificats et la configuration.")
    p.add_argument("--from", dest="source", metavar="FILE", help="provisioning file (TOML); default: ask questions")
    p.add_argument("--remove-source", action="store_true",
                   help="after success, delete the provisioning file and the secret files it names (first boot)")
    p.add_argument("--dry-run", action="store_true", help="validate and show what would be written, write nothing")
    p.set_defaults(handler=cmd_provision)


def _ask(prompt: str, secret: bool) -> str:
    import getpass
    import sys

    if secret and sys.stdin.isatty():
        return getpass.getpass(prompt, stream=sys.stderr)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def cmd_provision(ctx: CliContext) -> int:
    import tomllib
    from pathlib import Path

    from kiosk.appliance import provision
    from kiosk.errors import ConfigError

    target = ctx.config_path
    existing: dict[str, Any] = {}
    if target.exists():
        try:
            existing = tomllib.loads(target.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            ctx.say(f"configuration actuelle {target} illisible ({e.__class__.__name__}) : elle sera remplacée")
    if ctx.args.source:
        source = Path(ctx.args.source)
        data, base = provision.read_provisioning_file(source), source.parent
    else:
        if ctx.args.remove_source:
            raise ConfigError("--remove-source ne s'emploie qu'avec --from FICHIER")
        base = Path.cwd()
        try:
            data = provision.ask_interactively(_ask, ctx.say, base)
        except EOFError:
            raise ConfigError("saisie interrompue : rien n'a été écrit") from None
    result = provision.plan(data, base, target, existing=existing)
    for warning in result.warnings:
        ctx.say(f"attention : {warning}")
    removed: list[str] = []
    if not ctx.args.dry_run:
        provision.install(result)
        if ctx.args.remove_source:
            removed = provision.remove_source(Path(ctx.args.source), result)
    summary = result.summary() | {"ok": True, "dry_run": bool(ctx.args.dry_run), "removed": removed}
    lines = [("validé (rien écrit) : " if ctx.args.dry_run else "configuration écrite : ") + str(target)
             + f" (environnement {result.environment})"]
    lines += [f"  certificat {c['label']} : CN {c['cn']}, émis par {c['issuer']}, {c['days_left']} jour(s) restants"
              for c in result.certificates]
    lines += [f"  supprimé de la source : {p}" for p in removed]
    ctx.emit(summary, "\n".join(lines))
    return exitcodes.OK
