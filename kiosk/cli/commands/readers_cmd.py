"""`kiosk readers`: the readers seen now, their backend, card present and card family, and which logical
reader (`[[readers]]`, or the default patient/staff) each one serves."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 30


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("readers", parents=[parent], help="readers seen, their backend, card present, card family")
    p.set_defaults(handler=cmd_readers)


def cmd_readers(ctx: CliContext) -> int:
    from drivers.manager import ReaderManager

    manager = ReaderManager(ctx.config.readers)
    manager.prime()
    rows = [
        {"reader": name, "backend": backend.value, "card_present": present,
         "family": family.name if present else None, "family_label": family.value if present else None,
         "logical": logical}
        for backend, name, present, family, logical in manager.physical_readers()
    ]
    logical = [{"name": lr.name, "role": lr.role, "physical": lr.physical} for lr in manager.logical_readers()]
    lines = [f"{'lecteur':<28} {'backend':<7} {'carte':<20} logique"]
    for r in rows:
        card = r["family_label"] if r["card_present"] else "—"
        lines.append(f"{r['reader']:<28} {r['backend']:<7} {card:<20} {r['logical'] or '—'}")
    if not rows:
        lines = ["aucun lecteur"]
    unbound = [str(lr["name"]) for lr in logical if not lr["physical"]]
    if unbound and manager.configured:
        lines.append(f"lecteurs configurés sans lecteur physique : {', '.join(unbound)}")
    missing = bool(unbound and manager.configured)  # a configured reader is not there: the desk cannot work
    ok = bool(rows) and not missing
    ctx.emit({"ok": ok, "readers": rows, "logical": logical, "missing": unbound if missing else []}, "\n".join(lines))
    return exitcodes.OK if ok else exitcodes.NEGATIVE
