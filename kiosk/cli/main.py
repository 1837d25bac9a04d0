"""Entry point: builds the parser from every module in `kiosk.cli.commands` and maps errors to exit codes.

Command modules must stay cheap to import (no zeep, textual or pyscard at module level): all of them are
imported to build `--help`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pkgutil
import sys
from collections.abc import Sequence

from drivers.errors import DriverError
from kiosk import __version__, exitcodes
from kiosk.appliance.logsetup import setup_logging
from kiosk.cli import commands
from kiosk.cli.context import CliContext
from kiosk.cli.french import install as french_argparse
from kiosk.errors import ConfigError, KioskError, NotFoundError, TeleserviceError

__all__ = ["build_parser", "main"]

log = logging.getLogger("kiosk")


def common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the verb (`kiosk --json ins check X` = `kiosk ins check X --json`)."""
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--config", metavar="CHEMIN", default=default,
                        help="fichier de configuration (défaut : $KIOSK_CONFIG ou /etc/kiosk/kiosk.toml)")
    parent.add_argument("--json", action="store_true", default=default if suppress else False,
                        help="sortie pour les programmes (JSON)")
    parent.add_argument("-v", "--verbose", action="count", default=default if suppress else 0,
                        help="-v informations, -vv débogage (le débogage montre des données patient)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    french_argparse()
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description="Borne d'accueil : cartes Vitale et CPx, INSi, DMP, Web PS.",
        parents=[common_options(suppress=False)],
        epilog="codes de sortie : 0 succès, 1 réponse négative, 2 erreur d'usage ou de configuration, "
               "3 panne de lecteur, de réseau ou de service",
    )
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE")
    parent = common_options(suppress=True)
    modules = [
        importlib.import_module(f"{commands.__name__}.{m.name}") for m in pkgutil.iter_modules(commands.__path__)
    ]
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
        module.register(sub, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return exitcodes.USAGE
    setup_logging(args.verbose or 0)
    ctx = CliContext(args)
    try:
        return int(args.handler(ctx) or 0)
    except NotFoundError as e:
        return _fail(ctx, e, "not_found", exitcodes.NEGATIVE)
    except ConfigError as e:
        return _fail(ctx, e, "config", exitcodes.USAGE)
    except (TeleserviceError, DriverError) as e:
        return _fail(ctx, e, type(e).__name__, exitcodes.EXTERNAL)
    except KioskError as e:
        return _fail(ctx, e, type(e).__name__, exitcodes.EXTERNAL)
    except KeyboardInterrupt:
        return 130


def _fail(ctx: CliContext, error: Exception, kind: str, code: int) -> int:
    message = str(error)
    if ctx.json:  # every JSON error lists its problems (a configuration error may have several)
        problems = [str(p) for p in getattr(error, "problems", [])] or [message]
        record = {"ok": False, "error": kind, "message": message, "problems": problems}
        ctx.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    ctx.stderr.write(f"kiosk: {message}\n")
    log.debug("détail de l'erreur", exc_info=error)
    return code


if __name__ == "__main__":
    sys.exit(main())
