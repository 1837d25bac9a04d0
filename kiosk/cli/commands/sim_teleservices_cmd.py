"""`kiosk sim teleservices`: the INSi and DMP simulators over HTTPS on 127.0.0.1, with a fresh test PKI.

It prints the [insi] / [dmp] configuration that points a kiosk at them (or writes it with
`--write-config`), then serves until interrupted. The PKI (private keys included) lives in `--workdir`,
by default a private tmpfs directory removed on exit. `kiosk sim` (sim_cmd.py) mounts `add_parser`.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from kiosk import exitcodes
from kiosk.cli.argtypes import bounded_float, bounded_int
from kiosk.cli.context import CliContext

ORDER = 91
_HELP = "INSi and DMP simulators (HTTPS, mutual TLS, test PKI) on 127.0.0.1"
_DESCRIPTION = (
    "Simulateurs INSi et DMP (identités de test CNDA et scénarios : aucune identité, plusieurs, faute SOAP, "
    "réponse lente, connexion pendue, XML cassé ou hostile)."
)


def add_parser(verbs: Any, parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`kiosk sim teleservices` (sim_cmd.py calls this with its sub-verbs)."""
    p = verbs.add_parser("teleservices", parents=[parent], help=_HELP, description=_DESCRIPTION)
    p.add_argument(
        "--workdir",
        metavar="DIR",
        help="where to write the test PKI (default: a private tmpfs directory, removed on exit)",
    )
    p.add_argument(
        "--latency",
        type=bounded_float(0, 600),
        default=0.0,
        metavar="S",
        help="seconds added to every answer (default 0)",
    )
    p.add_argument(
        "--slow",
        type=bounded_float(0, 600),
        default=3.0,
        metavar="S",
        help="delay of the 'slow reply' scenarios (default 3)",
    )
    p.add_argument("--insi-port", type=bounded_int(0, 65535), default=0, help="INSi port (default: any free port)")
    p.add_argument("--dmp-port", type=bounded_int(0, 65535), default=0, help="DMP port (default: any free port)")
    p.add_argument(
        "--dmp-shape",
        choices=("production", "registration"),
        default="production",
        help="where TD0.2 answers carry the DMP status: production (subject1/patient, default) or registration "
             "(registrationEvent)",
    )
    p.add_argument(
        "--write-config", metavar="FILE", help="also write the kiosk configuration using them to FILE (mode 0600)"
    )
    p.set_defaults(handler=cmd_teleservices)
    return p


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    """No top-level verb: every command module must define `register`, and this one lives under `kiosk sim`."""


def cmd_teleservices(ctx: CliContext) -> int:
    import shutil
    from pathlib import Path

    from kiosk.atomicfile import atomic_write
    from kiosk.sim.teleservices import start_simulators
    from kiosk.teleservices.clients import private_tmpdir

    args = ctx.args
    workdir = Path(args.workdir) if args.workdir else private_tmpdir("kiosk-sim-")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with start_simulators(
            workdir, latency_s=args.latency, slow_s=args.slow, insi_port=args.insi_port, dmp_port=args.dmp_port,
            dmp_shape=args.dmp_shape,
        ) as sims:
            toml = 'environment = "demo"\n\n' + sims.config_toml()
            if args.write_config:
                atomic_write(Path(args.write_config), toml.encode(), 0o600)
            data = {
                "insi_url": sims.insi_url,
                "dmp_url": sims.dmp_url,
                "ca_bundle": str(sims.ca_bundle),
                "pkcs12": str(sims.auth_pkcs12),
                "pkcs12_password_file": str(sims.auth_password_file),
                "signing_pkcs12": str(sims.signing_pkcs12),
                "signing_pkcs12_password_file": str(sims.signing_password_file),
                "workdir": str(workdir),
                "config": toml,
            }
            ctx.emit(data, f"INSi : {sims.insi_url}\nDMP  : {sims.dmp_url}\n\n{toml}")
            ctx.stdout.flush()
            ctx.say("simulateurs prêts (Ctrl-C pour arrêter)")
            stop.wait()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return exitcodes.OK
