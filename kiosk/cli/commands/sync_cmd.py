"""`kiosk sync [--offline | --status]`: this kiosk's configuration from the fleet repository (TUF)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

if TYPE_CHECKING:
    from kiosk.config import Config

ORDER = 75

# A refused update never changes the configuration; the exit code says whose problem it is.
_EXIT = {"network": exitcodes.EXTERNAL, "security": exitcodes.EXTERNAL, "too_large": exitcodes.EXTERNAL,
         "busy": exitcodes.EXTERNAL, "invalid": exitcodes.USAGE, "setup": exitcodes.USAGE}


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sync", parents=[parent], help="fetch this kiosk's configuration from the fleet (TUF)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true",
                      help="no network: re-apply the last verified fleet layers with the local layer")
    mode.add_argument(
        "--status", action="store_true", help="sync age, metadata expiry, last error (no network; exit 1 when it warns)"
    )
    p.set_defaults(handler=cmd_sync)


def cmd_sync(ctx: CliContext) -> int:
    from kiosk.appliance.fleet.state import fleet_status

    if ctx.args.status:
        status = fleet_status(ctx.config)
        lines = [f"flotte : {status.level}"]
        if status.last_success:
            lines.append(f"  dernière synchronisation réussie : {status.last_success:%d/%m/%Y %H:%M} UTC")
        if status.expires:
            lines.append(f"  métadonnées valides jusqu'au {status.expires:%d/%m/%Y %H:%M} UTC")
        lines += [f"  ! {m}" for m in status.messages]
        ctx.emit(status.to_dict(), "\n".join(lines))
        return exitcodes.NEGATIVE if status.level == "warning" else exitcodes.OK

    from kiosk.appliance.fleet.client import SyncError, sync

    ctx.say("synchronisation de la configuration de flotte…")
    try:
        report = sync(ctx.config, ctx.config_path, offline=ctx.args.offline)
    except SyncError as e:
        _fleet_metrics(ctx.config)
        lines = [f"synchronisation refusée : {e.reason}"]
        if e.detail:
            lines.append(f"  détail : {e.detail}")
        lines += [f"  {p}" for p in e.problems]
        lines.append(f"  la configuration en vigueur ({ctx.config_path}) n'a pas changé")
        ctx.emit({"ok": False, "changed": False, "error": e.kind, **e.to_dict()}, "\n".join(lines))
        return _EXIT[e.kind]
    _fleet_metrics(ctx.config)
    names = {"defaults": "défauts", "site": "site", "device": "poste"}
    layers = ", ".join(f"{names[layer.name]} {'✓' if layer.present else 'absente'}" for layer in report.layers)
    lines = [
        f"{report.path} : {'mis à jour' if report.changed else 'inchangé'}"
        + (" (hors ligne, dernières couches vérifiées)" if report.offline else ""),
        f"  couches : {layers}, locale {'✓' if report.local_present else 'vide'} ({report.local_file})",
    ]
    if report.carried_over:
        lines.append(f"  modifications faites à la main reportées dans {report.local_file} : "
                     + ", ".join(report.carried_over))
    if report.removals_ignored:
        lines.append("  suppressions faites à la main non reportables (remises à la valeur de la flotte) : "
                     + ", ".join(report.removals_ignored))
    if report.expires:
        from datetime import datetime

        until = min(datetime.fromisoformat(v) for v in report.expires.values())
        lines.append(f"  métadonnées valides jusqu'au {until:%d/%m/%Y %H:%M} UTC")
    ctx.emit({"ok": True, **report.to_dict()}, "\n".join(lines))
    return exitcodes.OK


def _fleet_metrics(config: Config) -> None:
    """`[metrics] textfile`: the sync's timestamps for node_exporter, written by the process that knows them."""
    from kiosk.appliance.metrics import enabled

    if enabled(config):
        from kiosk.appliance.metrics.exposition import write_fleet_textfile

        write_fleet_textfile(config)
