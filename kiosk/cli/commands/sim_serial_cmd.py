"""`kiosk sim serial-reader`: a simulated serial reader on a pty or pyserial URL: serial CCID (GemPC Twin
family), or GemCore over GBP with `--protocol gbp`.

It serves the product's virtual cards (`drivers.sim.virtual_cards.catalogue`) as the PC/SC simulator does, for the
kiosk's serial backend or for pcscd's libccidtwin. Card movements are typed on standard input while it runs:
`insert [KIND[:PROFILE]]`, `remove`, `quit`. The line coming and going (socat restarted, adapter replugged)
is waited for, not fatal.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from kiosk import exitcodes
from kiosk.cli.argtypes import bounded_float, bounded_int
from kiosk.cli.context import CliContext

ORDER = 90


def add_parser(verbs: Any, parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`kiosk sim serial-reader`, mounted by sim_cmd.py."""
    p = verbs.add_parser(
        "serial-reader", parents=[parent], help="simulated serial CCID reader (GemPC Twin) on a pty or pyserial URL",
        description="Lecteur série CCID simulé (famille GemPC Twin) servant une carte virtuelle. Commandes sur "
                    "l'entrée standard : insert [TYPE[:PROFIL]], remove, quit.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--port", metavar="PTY", help="the reader's end of the line: a pty (one end of a socat pair) or a pyserial URL"
    )
    where.add_argument("--pty", metavar="PATH", help="create a pty pair with socat; the kiosk (or pcscd) opens PATH")
    p.add_argument(
        "--card",
        metavar="TYPE[:PROFIL]",
        help="card inserted at start: vitale, vitale:enfant, cpe, cps:medecin, cpf...",
    )
    p.add_argument(
        "--protocol", choices=("ccid", "gbp"), default="ccid", help="ccid (GemPC Twin family) or gbp (GemCore readers)"
    )
    p.add_argument("--model", default="GemPCTwin", help="model whose echo behaviour to reproduce (default GemPCTwin)")
    p.add_argument(
        "--echo", choices=("auto", "on", "off"), default="auto", help="echo every command frame (auto: by model)"
    )
    p.add_argument(
        "--time-extensions",
        type=bounded_int(0, 1000),
        default=0,
        metavar="N",
        help="T=0 time-extension bytes before each card answer",
    )
    p.add_argument(
        "--noise",
        type=bounded_float(0, 1, ""),
        default=0.0,
        metavar="P",
        help="probability of damaging each answer (tests)",
    )
    p.add_argument("--seed", type=int, help="random seed for --noise")
    p.set_defaults(handler=cmd_serial_reader)
    return p


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    """No top-level verb: every command module must define `register`, and this one lives under `kiosk sim`."""


def _card(spec: str | None) -> Any:
    from drivers.sim.virtual_cards.catalogue import make_card
    from kiosk.errors import ConfigError

    if not spec:
        return None
    kind, _, profile = spec.partition(":")
    try:
        return make_card(kind, profile or None)
    except KeyError as e:
        raise ConfigError(f"--card : {e.args[0]}") from None


def cmd_serial_reader(ctx: CliContext) -> int:
    from drivers.errors import ReaderError
    from drivers.serial.models import model
    from drivers.serial.port import wait_for_device
    from drivers.sim.readers.gemcore_reader import SimulatedGemCoreReader
    from drivers.sim.readers.serial_reader import LineNoise, PtyPair, SimulatedSerialReader
    from kiosk.errors import ConfigError

    args = ctx.args
    card = _card(args.card)
    echo = model(args.model).echo if args.echo == "auto" else args.echo == "on"
    noise = LineNoise(corrupt=args.noise, garbage=args.noise, seed=args.seed)
    stop, wake = threading.Event(), threading.Event()
    echo = echo and args.protocol == "ccid"
    state: dict[str, Any] = {"card": card, "sim": None}
    lock = threading.Lock()

    def say(event: str, text: str, **data: Any) -> None:
        if ctx.json:
            ctx.stdout.write(json.dumps({"event": event, **data}, ensure_ascii=False) + "\n")
            ctx.stdout.flush()
        else:
            ctx.stderr.write(text + "\n")
            ctx.stderr.flush()

    def quit_(*_: object) -> None:
        stop.set()
        wake.set()
        with lock:
            if state["sim"]:
                state["sim"].stop()

    def control() -> None:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            try:
                with lock:
                    sim = state["sim"]
                    if words[0] == "insert":
                        state["card"] = _card(words[1]) if len(words) > 1 else (state["card"] or _card("vitale"))
                        if sim:
                            sim.insert(state["card"])
                        say(
                            "inserted",
                            f"carte insérée : {getattr(state['card'], 'label', '') or type(state['card']).__name__}",
                        )
                    elif words[0] == "remove":
                        state["card"] = None
                        if sim:
                            sim.remove()
                        say("removed", "carte retirée")
                    elif words[0] == "quit":
                        break
                    else:
                        say("error", f"commande inconnue {words[0]!r} (insert [TYPE[:PROFIL]], remove, quit)")
            except (ConfigError, ValueError) as e:  # a bad card name typed at the prompt must not end the simulator
                say("error", f"erreur : {e}")
        else:
            return  # standard input closed (run in the background): keep serving until a signal
        quit_()

    pair = None
    if args.pty:
        pair = PtyPair(args.pty + ".reader", args.pty).start()
    port = pair.reader if pair else args.port
    previous = {s: signal.signal(s, quit_) for s in (signal.SIGTERM, signal.SIGINT)}
    threading.Thread(target=control, name="sim-serial-stdin", daemon=True).start()
    attempt = 0
    try:
        while not stop.is_set():
            sim: SimulatedGemCoreReader | SimulatedSerialReader
            try:
                if args.protocol == "gbp":
                    sim = SimulatedGemCoreReader(
                        port, card=state["card"], time_extensions=args.time_extensions, noise=noise
                    )
                else:
                    sim = SimulatedSerialReader(
                        port, card=state["card"], echo=echo, time_extensions=args.time_extensions, noise=noise
                    )
            except ReaderError as e:
                say("waiting", f"port {port} indisponible ({e}) : attente")
                if not wait_for_device(port, stop, wake, attempt):
                    break
                attempt += 1
                continue
            attempt = 0
            with lock:
                state["sim"] = sim
            sim.start()
            say(
                "ready",
                f"lecteur série simulé sur {port} (écho {'oui' if echo else 'non'})"
                + (f" ; le kiosque ouvre {args.pty}" if pair else ""),
                port=port,
                host=args.pty or None,
                echo=echo,
            )
            sim.stopped.wait()
            with lock:
                state["sim"] = None
            if not stop.is_set():
                say("lost", f"ligne {port} perdue : attente de son retour")
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pair:
            pair.stop()
    return exitcodes.OK
