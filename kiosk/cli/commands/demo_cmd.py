"""`kiosk demo`: the desk on its embedded simulators.

Until the desk exists, it walks the CNDA test identities through the INS core and the configuration
check: the best end-to-end path available.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 1

CNDA_IDENTITIES = [
    ("ADRTROIS DOMINIQUE", "297022A02077878"),
    ("CORSE ANTHONY", "180032B02040123"),
    ("TCHITCHI CATARINA", "236066322083656"),
    ("ECETINSI PIERRE-ALAIN", "109076322083489"),
    ("HERMANN GATIEN", "181036322045660"),
]


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("demo", parents=[parent], help="the whole desk on the embedded simulators (no hardware, no network)")
    p.add_argument("--headless", action="store_true", help="play a scripted session and print what happened")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(ctx: CliContext) -> int:
    from kiosk.config import parse_config
    from kiosk.ins import parse_matricule

    config, problems = parse_config("")
    rows = []
    for name, value in CNDA_IDENTITIES:
        m = parse_matricule(value, strict=False)
        rows.append({"identity": name, "masked": m.masked, "kind": m.kind.value, "key_ok": m.key_ok})
    lines = [f"Configuration par défaut ({config.environment}) : {'valide' if not problems else problems}"]
    lines += [f"  {r['identity']:<24} {r['masked']}  {r['kind']}  {'clé correcte' if r['key_ok'] else 'clé incohérente (signalée)'}" for r in rows]
    ctx.emit({"environment": config.environment, "identities": rows}, "\n".join(lines))
    return exitcodes.OK
