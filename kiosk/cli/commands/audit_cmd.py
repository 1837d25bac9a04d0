"""`kiosk audit verify | show`: the desk's audit journal, for a technician or the identity-vigilance officer."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 60


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("audit", parents=[parent], help="the desk's audit journal (hash-chained)")
    verbs = p.add_subparsers(dest="audit_verb", metavar="VERB", required=True)
    verify = verbs.add_parser("verify", parents=[parent], help="check the hash chain (exit 1 if an entry was removed or altered)")
    verify.set_defaults(handler=cmd_verify)
    show = verbs.add_parser("show", parents=[parent], help="list entries")
    show.add_argument("--since", metavar="AAAA-MM-JJ", help="from this day (UTC)")
    show.add_argument("--staff", metavar="IDNAT", help="one staff card's entries")
    show.add_argument("--ins", metavar="MATRICULE", help="one patient's entries (the INS is hashed with the journal's key, never stored)")
    show.add_argument("--action", help="one action (insi_call, dmp_check, id_document_checked, page_opened...)")
    show.set_defaults(handler=cmd_show)


def cmd_verify(ctx: CliContext) -> int:
    from kiosk.service.audit import audit_dir, verify_journal

    directory = audit_dir(ctx.config)
    count, problems = verify_journal(directory)
    lines = [f"{directory} : {count} entrée(s) vérifiée(s)"]
    lines += [f"  {p}" for p in problems] or ["  chaîne intacte"]
    ctx.emit({"directory": str(directory), "entries": count, "ok": not problems, "problems": [str(p) for p in problems]},
             "\n".join(lines))
    return exitcodes.OK if not problems else exitcodes.NEGATIVE


def cmd_show(ctx: CliContext) -> int:
    from kiosk.ins import MatriculeError, parse_matricule
    from kiosk.service.audit import AuditJournal, audit_dir, read_entries

    directory = audit_dir(ctx.config)
    patient = None
    if ctx.args.ins:
        try:
            patient = AuditJournal(directory).patient_ref(parse_matricule(ctx.args.ins, strict=False))
        except MatriculeError as e:
            ctx.emit({"ok": False, "reason": e.reason}, f"matricule invalide : {e.reason}")
            return exitcodes.USAGE
    entries = [
        e for e in read_entries(directory)
        if (not ctx.args.since or str(e.get("time", "")) >= ctx.args.since)
        and (not ctx.args.staff or e.get("staff") == ctx.args.staff)
        and (patient is None or e.get("patient") == patient)
        and (not ctx.args.action or e.get("action") == ctx.args.action)
    ]
    lines = [
        f"{e.get('seq'):>6} {e.get('time', '')[:19]} {e.get('staff') or '-':<22} {e.get('action', ''):<20} "
        f"{e.get('outcome', ''):<14} {(e.get('patient') or '')[:12]}"
        for e in entries
    ]
    ctx.emit({"entries": entries}, "\n".join(lines) if lines else "aucune entrée")
    return exitcodes.OK if entries else exitcodes.NEGATIVE
