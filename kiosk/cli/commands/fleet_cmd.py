"""`kiosk fleet init | add-site | set | publish | rotate`: the IT team's fleet repository (TUF, static files)."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 76


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    ws_opts = argparse.ArgumentParser(add_help=False)
    ws_opts.add_argument("-w", "--workspace", default=".", metavar="DIR",
                         help="the fleet workspace (default: the current directory)")
    ws_opts.add_argument("--keys", action="append", default=[], metavar="DIR",
                         help="another folder of private keys, e.g. offline root keys on removable media")
    ws_opts.add_argument("--passphrase-file", metavar="FILE",
                         help="file holding the private keys' passphrase (init: encrypt new keys with it)")
    p = sub.add_parser("fleet", parents=[parent], help="publisher side: sign and publish the fleet repository")
    verbs = p.add_subparsers(dest="fleet_verb", metavar="VERB", required=True)

    init = verbs.add_parser("init", parents=[parent, ws_opts], help="new workspace, keys, root, first publication")
    init.add_argument("--root-keys", type=int, default=3, help="number of root keys (default 3)")
    init.add_argument("--root-threshold", type=int, default=2, help="root signatures required (default 2)")
    init.set_defaults(handler=cmd_init)

    site = verbs.add_parser("add-site", parents=[parent, ws_opts], help="a new site layer")
    site.add_argument("site", help="site id, as in the kiosks' [sync] site_id")
    site.set_defaults(handler=cmd_add_site)

    setp = verbs.add_parser("set", parents=[parent, ws_opts], help="change one key in a layer (validated)")
    setp.add_argument("--site", help="the site layer (default: fleet defaults)")
    setp.add_argument("--device", help="a device layer of --site (its [sync] device_id)")
    setp.add_argument("key", help="dotted key, as for `kiosk config set`")
    setp.add_argument("value", help="a TOML value or text")
    setp.set_defaults(handler=cmd_set)

    pub = verbs.add_parser("publish", parents=[parent, ws_opts],
                           help="validate every layer, sign what changed and a new timestamp")
    pub.set_defaults(handler=cmd_publish)

    rot = verbs.add_parser("rotate", parents=[parent, ws_opts],
                           help="replace a role's keys in a new root version (root: renews its expiry too)")
    rot.add_argument("role", choices=["root", "targets", "snapshot", "timestamp"])
    rot.set_defaults(handler=cmd_rotate)


def _workspace(ctx: CliContext) -> Any:
    from pathlib import Path

    from kiosk.appliance.fleet.publisher import Workspace
    from kiosk.errors import ConfigError

    passphrase = None
    if ctx.args.passphrase_file:
        try:
            passphrase = Path(ctx.args.passphrase_file).read_bytes().rstrip(b"\r\n") or None
        except OSError as e:
            raise ConfigError(f"phrase de passe illisible : {ctx.args.passphrase_file} ({e.strerror})") from e
    return Workspace(Path(ctx.args.workspace), [Path(k) for k in ctx.args.keys], passphrase)


def _published(ctx: CliContext, report: Any, head: str) -> int:
    from dataclasses import asdict

    lines = [head, "  signé : " + ", ".join(report.signed),
             "  versions : " + ", ".join(f"{r} {v}" for r, v in report.versions.items()),
             "  expiration : " + ", ".join(f"{r} {e[:10]}" for r, e in report.expires.items()),
             "  couches : " + ", ".join(report.targets)]
    lines += [f"  ! {w}" for w in report.warnings]
    ctx.emit({"ok": True, **asdict(report)}, "\n".join(lines))
    return exitcodes.OK


def cmd_init(ctx: CliContext) -> int:
    from kiosk.appliance.fleet.publisher import init

    ws = _workspace(ctx)
    report = init(ws.root, root_keys=ctx.args.root_keys, root_threshold=ctx.args.root_threshold,
                  passphrase=ws.passphrase)
    root = ws.metadata / "1.root.json"
    return _published(ctx, report, f"espace de flotte créé dans {ws.root}\n"
                      f"  racine à installer sur chaque poste ([sync] trusted_root) : {root}\n"
                      f"  clés privées : {ws.keys} (mettez les clés root-* hors ligne)\n"
                      f"  à servir tel quel : {ws.root / 'repository'}")


def cmd_add_site(ctx: CliContext) -> int:
    from kiosk.appliance.fleet.publisher import add_site

    path = add_site(_workspace(ctx), ctx.args.site)
    ctx.emit({"ok": True, "path": str(path)}, f"site créé : {path} (publiez avec `kiosk fleet publish`)")
    return exitcodes.OK


def cmd_set(ctx: CliContext) -> int:
    from kiosk.appliance.fleet.publisher import set_layer_value

    path = set_layer_value(_workspace(ctx), ctx.args.key, ctx.args.value, ctx.args.site, ctx.args.device)
    ctx.emit({"ok": True, "path": str(path), "key": ctx.args.key},
             f"{path} : {ctx.args.key} modifié (publiez avec `kiosk fleet publish`)")
    return exitcodes.OK


def cmd_publish(ctx: CliContext) -> int:
    from kiosk.appliance.fleet.publisher import publish

    ws = _workspace(ctx)
    return _published(ctx, publish(ws), f"publié : {ws.root / 'repository'}")


def cmd_rotate(ctx: CliContext) -> int:
    from kiosk.appliance.fleet.publisher import rotate

    ws = _workspace(ctx)
    report, retired = rotate(ws, ctx.args.role)
    return _published(ctx, report, f"clés {ctx.args.role} remplacées (racine version {report.versions['root']}) ; "
                      f"anciennes clés déplacées dans {ws.keys / 'retired'} : détruisez-les ({len(retired)})")
