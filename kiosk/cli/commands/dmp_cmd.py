"""`kiosk dmp exists MATRICULE [--oid OID]`: the DMP existence test (TD0.2) for one INS.

Exit codes: 0 the DMP exists and is open (whatever the access), 1 not created or closed, 2 the matricule or
OID is invalid (nothing sent), 3 DMP, network or guard-rail refusal, or a state the kiosk does not know.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 31


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("dmp", parents=[parent], help="DMP web services (TD0.2 existence test)")
    verbs = p.add_subparsers(dest="dmp_verb", metavar="VERB", required=True)
    exists = verbs.add_parser("exists", parents=[parent], help="does this INS have a DMP, and in which state")
    exists.add_argument("matricule", help="the INS: 15 characters (13 + key)")
    exists.add_argument("--oid", default=None, help="INS OID (default: NIR 1.2.250.1.213.1.4.8, or NIA .9)")
    exists.set_defaults(handler=cmd_exists)


def cmd_exists(ctx: CliContext) -> int:
    from kiosk.dmp import DmpState
    from kiosk.ins import InsOid, MatriculeError, parse_matricule
    from kiosk.teleservices import open_teleservices

    try:
        matricule = parse_matricule(ctx.args.matricule)
        oid = InsOid.parse(ctx.args.oid).value if ctx.args.oid else matricule.default_oid().value
    except MatriculeError as e:
        ctx.emit({"ok": False, "error": e.code, "message": e.reason}, f"refusé : {e.reason}")
        return exitcodes.USAGE
    with open_teleservices(ctx.config, insi=False) as services:
        if services.simulated:
            ctx.say("environnement demo : simulateur DMP embarqué")
        status = services.dmp.exists(matricule, oid)  # type: ignore[union-attr]
    ctx.emit({"ok": True, "ins": matricule.masked, "oid": oid, **status.as_dict()}, f"{matricule.masked} : {status.label}")
    if status.state is DmpState.UNKNOWN:
        return exitcodes.EXTERNAL
    if status.state in (DmpState.NOT_CREATED, DmpState.CLOSED):
        return exitcodes.NEGATIVE
    return exitcodes.OK
