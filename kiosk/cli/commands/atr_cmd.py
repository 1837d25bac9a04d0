"""`kiosk atr HEX`: which card family an ATR belongs to (Vitale 1/2, CPS3, CPS3 contactless, CPS4, unknown)."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 32


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("atr", parents=[parent], help="classify an ATR (card family)")
    p.add_argument(
        "hex",
        nargs="+",
        metavar="HEX",
        help='the ATR in hexadecimal ("3B 75 13 00 00 44 09 EA 90 00", spaces or colons allowed)',
    )
    p.set_defaults(handler=cmd_atr)


def cmd_atr(ctx: CliContext) -> int:
    from drivers.atr import CardKind, classify, parse_atr_hex

    try:
        atr = parse_atr_hex(" ".join(ctx.args.hex))
    except ValueError as e:
        ctx.emit({"ok": False, "error": "atr", "message": str(e)}, f"ATR invalide : {e}")
        return exitcodes.USAGE
    info = classify(atr)
    if info.kind is CardKind.UNKNOWN:
        ctx.emit({"ok": True, **info.as_dict()}, f"{info.as_dict()['atr']} : carte inconnue (ni Vitale ni CPx connue)")
        return exitcodes.NEGATIVE
    ctx.emit({"ok": True, **info.as_dict()}, f"{info.as_dict()['atr']} : {info.family.value} ({info.kind.value})")
    return exitcodes.OK
