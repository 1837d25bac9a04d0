"""`kiosk ins check MATRICULE`: validate a NIR / NIA without showing it."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 20


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ins", parents=[parent], help="INS matricules (NIR / NIA)")
    verbs = p.add_subparsers(dest="ins_verb", metavar="VERB", required=True)
    check = verbs.add_parser("check", parents=[parent], help="validate a matricule (key, Corsica, format)")
    check.add_argument("matricule", help="15 characters (13 + key); spaces allowed")
    check.set_defaults(handler=cmd_check)


def cmd_check(ctx: CliContext) -> int:
    from kiosk.domain.ins import MatriculeError, parse_matricule

    try:
        matricule = parse_matricule(ctx.args.matricule, strict=False)
    except MatriculeError as e:
        ctx.emit({"valid": False, "code": e.code, "reason": e.reason}, f"invalide : {e.reason}")
        return exitcodes.NEGATIVE
    data = matricule.describe()
    if not matricule.key_ok:
        data.update(code="key", reason="clé incorrecte (97 - n mod 97)")
        ctx.emit(data, f"invalide : clé incorrecte pour {matricule.masked}")
        return exitcodes.NEGATIVE
    month = matricule.birth_month if matricule.birth_month_known else "inconnu"
    text = (
        f"valide : matricule {matricule.masked} (NIR ou NIA : selon l'OID INSi), sexe {matricule.sex}, "
        f"naissance {matricule.birth_year_2d}/{month}, département {matricule.department}"
    )
    ctx.emit(data, text)
    return exitcodes.OK
