"""`kiosk sim ...`: the simulators. This module owns the `sim` verb and `kiosk sim card`.

`kiosk sim card vitale|cpe|cps|cpf [--profile NAME] [--slot N]` serves one of the product's virtual cards to
vsmartcard's vpcd (TCP 35963 + slot), i.e. inserts it in pcscd's "Virtual PCD 00 0N" reader. While it runs,
standard input takes `insert [KIND[:PROFILE]]`, `remove` and `quit`, so a script or a technician moves cards.

Other simulators mount themselves under `kiosk sim` with no edit here: any module
`kiosk/cli/commands/sim_<x>_cmd.py` that defines `add_parser(verbs, parent)` is called with the `sim`
sub-verb action (e.g. `sim_serial_cmd.add_parser` -> `kiosk sim serial-reader`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import signal
import sys
import threading
from typing import Any

from kiosk import exitcodes
from kiosk.cli.argtypes import bounded_int
from kiosk.cli.context import CliContext

ORDER = 89


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sim", parents=[parent], help="start a simulator (virtual card, serial reader, teleservices)")
    verbs = p.add_subparsers(dest="sim_verb", metavar="VERB", required=True)
    card = verbs.add_parser(
        "card", parents=[parent], help="serve a virtual Vitale / CPx card to vpcd (pcscd's virtual reader)"
    )
    card.add_argument("kind", nargs="?", choices=("vitale", "cpe", "cps", "cpf", "cps4"), help="card type")
    card.add_argument(
        "--kind",
        dest="kind_opt",
        choices=("vitale", "cpe", "cps", "cpf", "cps4"),
        help="card type (same as the positional)",
    )
    card.add_argument("--profile", metavar="NAME", help="card profile (see --list); default: the first of its type")
    card.add_argument(
        "--slot",
        type=bounded_int(0, 9),
        default=0,
        metavar="N",
        help="vpcd slot: reader 'Virtual PCD 00 0N' (default 0)",
    )
    card.add_argument("--port", type=bounded_int(1, 65535), metavar="PORT", help="vpcd TCP port (default 35963 + slot)")
    card.add_argument("--host", default="127.0.0.1", help="vpcd host (default 127.0.0.1)")
    card.add_argument("--list", action="store_true", help="list the card profiles and exit")
    card.set_defaults(handler=cmd_card)
    from kiosk.cli import commands

    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("sim_") and info.name != "sim_cmd":
            module = importlib.import_module(f"{commands.__name__}.{info.name}")
            if hasattr(module, "add_parser"):
                module.add_parser(verbs, parent)


def _profiles() -> dict[str, list[str]]:
    from drivers.sim.virtual_cards.catalogue import CPX_PROFILES, VITALE_PROFILES

    return {"vitale": list(VITALE_PROFILES), **{k: list(v) for k, v in CPX_PROFILES.items()}}


def _make(kind: str, profile: str | None) -> Any:
    from drivers.sim.virtual_cards.catalogue import make_card
    from kiosk.errors import ConfigError

    try:
        return make_card(kind, profile)
    except KeyError as e:
        raise ConfigError(str(e.args[0])) from None


def cmd_card(ctx: CliContext) -> int:
    from drivers.sim.readers.vpcd import VPCD_BASE_PORT, VpcdCard
    from kiosk.errors import ConfigError, ReaderError

    args = ctx.args
    if args.list:
        profiles = _profiles()
        ctx.emit({"profiles": profiles}, "\n".join(f"{k:<7} {', '.join(v)}" for k, v in profiles.items()))
        return exitcodes.OK
    kind = args.kind or args.kind_opt
    if not kind:
        raise ConfigError("type de carte attendu : vitale, cpe, cps ou cpf")
    port = args.port or VPCD_BASE_PORT + args.slot
    state = {"card": VpcdCard(_make(kind, args.profile), port=port, host=args.host)}
    done = threading.Event()

    def report(event: str, **extra: Any) -> None:
        label = getattr(state["card"].card, "label", kind)
        if ctx.json:
            ctx.stdout.write(
                json.dumps({"event": event, "port": port, "card": label, **extra}, ensure_ascii=False) + "\n"
            )
            ctx.stdout.flush()
        else:
            ctx.say(f"{event} : {label} (vpcd {args.host}:{port})")

    def insert() -> None:
        try:
            state["card"].insert()
        except ConnectionError as e:
            raise ReaderError(f"{e} : pcscd tourne-t-il avec vsmartcard-vpcd ?") from None
        if not state["card"].wait_until_served(10):
            raise ReaderError(f"vpcd {args.host}:{port} n'a pas interrogé la carte (pcscd bloqué ?)")
        report("inserted")

    insert()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    def commands_from_stdin() -> None:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            if words[0] == "remove":
                state["card"].remove()
                report("removed")
            elif words[0] == "insert":
                if state["card"].inserted:
                    state["card"].remove()
                    report("removed")
                if len(words) > 1:
                    new_kind, _, profile = words[1].partition(":")
                    try:
                        state["card"] = VpcdCard(_make(new_kind, profile or None), port=port, host=args.host)
                    except ConfigError as e:
                        report("error", message=str(e))
                        continue
                try:
                    insert()
                except ReaderError as e:  # reported, and the next command is still obeyed
                    state["card"].remove()
                    report("error", message=str(e))
            else:
                report("error", message=f"commande inconnue {words[0]!r} (insert [TYPE[:PROFIL]], remove, quit)")
        else:
            return  # end of input (detached): keep serving until a signal
        done.set()

    threading.Thread(target=commands_from_stdin, daemon=True).start()
    done.wait()
    state["card"].remove()
    report("removed")
    return exitcodes.OK
