"""`kiosk demo [--headless]`: the whole desk on its embedded simulators (no hardware, no network, no root).

With --headless it plays a scripted morning at the desk and prints what happened (patient data masked);
with --json the desk's events come out as JSON lines instead. Without it, the Textual desk opens and
function keys put the virtual cards in and out of the virtual readers.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 1


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo", parents=[parent], help="the whole desk on the embedded simulators (no hardware, no network)"
    )
    p.add_argument(
        "--headless", action="store_true", help="play a scripted morning at the desk and print what happened"
    )
    p.set_defaults(handler=cmd_demo)


def cmd_demo(ctx: CliContext) -> int:
    from kiosk.appliance.service.demo import DemoWorld

    _exit_on_signals()
    ctx.say("Démarrage des simulateurs (INSi, DMP, param-lps, Web PS) et des lecteurs virtuels…")
    with DemoWorld() as world:  # its private directory (test PKI, printer file) goes on any exit
        if ctx.args.headless:
            return _headless(ctx, world)
        return _tui(world)


def _exit_on_signals() -> None:
    """SIGTERM and SIGHUP (a closed terminal, `systemctl stop`) end the demo like Ctrl-C: through the `with`
    block, so the private directory is removed instead of left behind by the default action (die at once)."""
    import signal

    def leave(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, leave)


def _headless(ctx: CliContext, world: Any) -> int:
    from kiosk.appliance.service.eventlog import JsonLines
    from kiosk.appliance.service.morning import play_morning
    from ui.narrator import Narrator

    if ctx.json:
        world.runtime.controller.add_listener(JsonLines(ctx.stdout, world.runtime.controller.texts))
        summary = play_morning(world, lambda text: None)
        JsonLines(ctx.stdout).write({"event": "demo_done", **summary})
    else:
        narrator = Narrator(ctx.stdout, world.runtime.controller.texts)
        world.runtime.controller.add_listener(narrator)
        narrator.say("Matinée de démonstration à l'accueil (données patient masquées) :")
        summary = play_morning(world, narrator.say)
    return exitcodes.OK if summary["audit_ok"] else exitcodes.EXTERNAL


def _tui(world: Any) -> int:
    from kiosk.appliance.service.demo import DemoHands
    from ui.app import DeskApp, pick_theme

    config = world.config
    import threading

    stop = threading.Event()
    world.runtime.start_duties(stop)
    app = DeskApp(world.runtime.controller, pages=dict(config.webps.pages), site=config.site.name,
                  theme=pick_theme(config.ui.theme), demo=DemoHands(world))
    try:
        app.run()
    finally:
        stop.set()
        world.runtime.wake.set()
    return exitcodes.OK
