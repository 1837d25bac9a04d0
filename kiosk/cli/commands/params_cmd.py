"""`kiosk params sync [--url URL] | show`: the param-lps file (teleservices.md, PDT-INF-547)."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 60

_SOURCES = {"config": "configuration", "param-lps": "param-lps", "built-in": "valeur intégrée", "absent": "absente"}


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("params", parents=[parent], help="param-lps: download it, show the effective DMP settings")
    verbs = p.add_subparsers(dest="params_verb", metavar="VERB", required=True)
    sync = verbs.add_parser("sync", parents=[parent], help="download, check and store param-lps now")
    sync.add_argument("--url", help="another https URL than params.url (e.g. a test environment's file)")
    sync.set_defaults(handler=cmd_sync)
    show = verbs.add_parser(
        "show", parents=[parent], help="every value with its source (built-in, config, param-lps) and age"
    )
    show.set_defaults(handler=cmd_show)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} j"


def cmd_sync(ctx: CliContext) -> int:
    from kiosk.sim.paramlps import simulator_for_default_url
    from kiosk.teleservices.params import sync

    ctx.say(f"téléchargement de param-lps : {ctx.args.url or ctx.config.params.url}")
    with simulator_for_default_url(ctx.config, ctx.args.url) as source:  # demo: the embedded simulator
        result = sync(ctx.config, ctx.args.url, source=source)  # ParamsError -> exit 3, the last good copy kept
    texts = {
        "updated": f"param-lps mis à jour : {result.entries} entrées (sha256 "
                   f"{result.sha256[:12] if result.sha256 else '?'})",
        "not-modified": "param-lps inchangé (304 Not Modified) : copie actuelle confirmée",
        "unchanged": "param-lps inchangé (contenu identique) : copie actuelle confirmée",
    }
    text = texts[result.status]
    if result.redirects:
        text += f"\n  redirections : {' -> '.join(result.redirects)}"
    ctx.emit(result.to_dict(), text)
    return exitcodes.OK


def cmd_show(ctx: CliContext) -> int:
    from kiosk.teleservices.params import current_settings
    from kiosk.teleservices.params.store import utcnow

    now = utcnow()
    effective = current_settings(ctx.config, config_path=ctx.config_path)
    lines = ["Paramètres DMP effectifs (valeur, source, âge) :"]
    for s in effective.settings.values():
        value = "(aucune)" if s.value is None else (", ".join(s.value) if isinstance(s.value, list) else str(s.value))
        note = f"  [{s.note}]" if s.note else ""
        lines.append(f"  {s.name:<28} {value}")
        lines.append(f"  {'':<28} source : {_SOURCES[s.source]}, âge : {_age(s.age_s(now))}{note}")
    state, copy = effective.state, effective.copy
    lines.append("")
    if copy is None:
        lines.append("Fichier param-lps : aucune copie valide enregistrée (kiosk params sync)")
    else:
        lines.append(f"Fichier param-lps : {copy.url}")
        lines.append(
            f"  téléchargé le {copy.fetched_at}, confirmé le {state.checked_at or '-'}, "
            f"{copy.size} octets, sha256 {copy.sha256[:12]}, {len(state.previous)} copie(s) précédente(s) gardée(s)"
        )
    if state.last_error:
        lines.append(f"  dernier essai ({state.last_attempt_at}) en échec : {state.last_error}")
    if effective.extras:
        lines.append("Autres entrées du fichier (non utilisées par la borne) :")
        for e in effective.extras:
            flag = f"  [{e.problem}]" if e.problem else ""
            lines.append(f"  {e.path:<40} {e.value}{flag}")
    ctx.emit(effective.to_dict(now), "\n".join(lines))
    return exitcodes.OK
