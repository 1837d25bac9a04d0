"""`kiosk sim his`: the hospital patient administration system simulator (MLLP on 127.0.0.1).

It prints the [his] configuration that points a kiosk at it, then serves until interrupted. Scenarios
(`--scenario`, for every message) let a technician see how the desk behaves when the hospital refuses (ae,
ar), drops the connection (drop, cut), answers slowly (slow) or never (silent), or twice (duplicate).
`--tls` serves MLLP inside TLS with a fresh test PKI in `--workdir` and asks for the client certificate.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from kiosk import exitcodes
from kiosk.cli.argtypes import bounded_float, bounded_int
from kiosk.cli.context import CliContext

ORDER = 92


def add_parser(verbs: Any, parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from kiosk.sim.his_server import Scenario

    p = verbs.add_parser(
        "his", parents=[parent], help="hospital patient administration system simulator (HL7 v2.5 over MLLP)"
    )
    p.add_argument("--port", type=bounded_int(0, 65535), default=0, help="TCP port (default: any free port)")
    p.add_argument(
        "--scenario", choices=[s.value for s in Scenario], default="normal", help="how to answer every message"
    )
    p.add_argument(
        "--slow", type=bounded_float(0, 600), default=3.0, metavar="S", help="delay of the 'slow' scenario (default 3)"
    )
    p.add_argument("--tls", action="store_true", help="MLLP inside TLS, client certificate required (test PKI)")
    p.add_argument(
        "--workdir",
        metavar="DIR",
        help="where to write the test PKI with --tls (default: a private tmpfs directory, removed on exit)",
    )
    p.set_defaults(handler=cmd_sim_his)
    return p


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    """No top-level verb: this one lives under `kiosk sim`."""


def cmd_sim_his(ctx: CliContext) -> int:
    import shutil
    from pathlib import Path

    from kiosk.sim.his_server import HisSimulator, Scenario

    args = ctx.args
    workdir: Path | None = None
    tls = None
    lines = ["[his]", "enabled = true"]
    if args.tls:
        from drivers.sim.pki import generate_pki
        from kiosk.sim.his_server import server_tls_context
        from kiosk.teleservices.clients import private_tmpdir

        workdir = Path(args.workdir) if args.workdir else private_tmpdir("kiosk-sim-his-")
        pki = generate_pki(workdir)
        tls = server_tls_context(pki)
        lines += ["tls = true", f'ca_bundle = "{pki.ca_bundle}"', f'pkcs12 = "{pki.auth.pkcs12}"',
                  f'pkcs12_password_file = "{pki.auth.password_file}"']
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with HisSimulator(slow_s=args.slow, tls=tls, port_wanted=args.port, always=Scenario(args.scenario)) as sim:
            lines.insert(2, f'endpoint = "{sim.endpoint}"')
            toml = "\n".join(lines) + "\n"
            ctx.emit({"endpoint": sim.endpoint, "tls": bool(tls), "scenario": args.scenario, "config": toml},
                     f"système de l'hôpital simulé : {sim.endpoint}\n\n{toml}")
            ctx.stdout.flush()
            ctx.say("simulateur prêt (Ctrl-C pour arrêter)")
            stop.wait()
    finally:
        if workdir is not None and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return exitcodes.OK
