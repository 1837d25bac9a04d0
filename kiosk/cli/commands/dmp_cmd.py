"""`kiosk dmp exists MATRICULE [--oid OID]`: the DMP existence test (TD0.2) for one INS.

Exit codes: 0 the DMP exists and is open (whatever the access), 1 not created or closed, 2 the matricule or
OID is invalid (nothing sent), 3 DMP, network or guard-rail refusal, or a state the kiosk does not know.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext
from kiosk.domain.states import DmpState

ORDER = 31

# Keyed by member: a test checks every DmpState is here (NO_INS cannot come from the client; 3 if it did).
EXIT_CODES: dict[DmpState, int] = {
    DmpState.AUTHORISED: exitcodes.OK,
    DmpState.NOT_AUTHORISED: exitcodes.OK,
    DmpState.BLOCKED: exitcodes.OK,
    DmpState.EMERGENCY_REFUSED: exitcodes.OK,
    DmpState.NOT_CREATED: exitcodes.NEGATIVE,
    DmpState.CLOSED: exitcodes.NEGATIVE,
    DmpState.NO_INS: exitcodes.EXTERNAL,
    DmpState.UNKNOWN: exitcodes.EXTERNAL,
}


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("dmp", parents=[parent], help="DMP web services (TD0.2 existence test)")
    verbs = p.add_subparsers(dest="dmp_verb", metavar="VERB", required=True)
    exists = verbs.add_parser("exists", parents=[parent], help="does this INS have a DMP, and in which state")
    exists.add_argument("matricule", help="the INS: 15 characters (13 + key)")
    exists.add_argument(
        "--oid", default=None, help="the INS OID INSi returned (NIR 1.2.250.1.213.1.4.8, NIA .9); default: the NIR OID"
    )
    exists.set_defaults(handler=cmd_exists)


def cmd_exists(ctx: CliContext) -> int:
    from kiosk.domain.ins import InsOid, MatriculeError, parse_matricule
    from kiosk.sim.teleservices import open_teleservices_or_simulators

    try:
        matricule = parse_matricule(ctx.args.matricule)
        oid = InsOid.parse(ctx.args.oid).value if ctx.args.oid else InsOid.NIR.value
    except MatriculeError as e:
        ctx.emit({"ok": False, "error": e.code, "message": e.reason}, f"refusé : {e.reason}")
        return exitcodes.USAGE
    if not ctx.config.dmp.enabled:
        ctx.emit(
            {"ok": False, "error": "disabled", "message": "DMP désactivé (dmp.enabled = false)"},
            "refusé : DMP désactivé (dmp.enabled = false)",
        )
        return exitcodes.USAGE
    with open_teleservices_or_simulators(ctx.config, insi=False) as services:
        if services.simulated:
            ctx.say("environnement demo : simulateur DMP embarqué")
        assert services.dmp is not None  # enabled, asked for
        status = services.dmp.exists(matricule, oid)
    ctx.emit(
        {"ok": True, "ins": matricule.masked, "oid": oid, **status.as_dict()}, f"{matricule.masked} : {status.label}"
    )
    return EXIT_CODES[status.state]
