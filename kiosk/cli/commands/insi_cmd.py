"""`kiosk insi traits ...` and `kiosk insi vitale`: INSi lookups from the command line.

Values are masked on the terminal unless `--reveal` is given (a technician's screen is not the desk's).
Exit codes: 0 identity found, 1 no identity / several identities, 2 traits refused before sending,
3 INSi, network or reader failure.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.argtypes import bounded_float
from kiosk.cli.context import CliContext

ORDER = 30


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("insi", parents=[parent], help="INSi: get a patient's INS (identity traits or Vitale card)")
    verbs = p.add_subparsers(dest="insi_verb", metavar="VERB", required=True)
    traits = verbs.add_parser("traits", parents=[parent], help="lookup by identity traits (first-name strategy)")
    traits.add_argument("--nom", required=True, help="birth name")
    traits.add_argument(
        "--prenom", action="append", default=[], help="first name; repeat or separate with commas for several"
    )
    traits.add_argument("--sexe", required=True, help="M or F")
    traits.add_argument("--naissance", required=True, help="birth date, YYYY-MM-DD (or DD/MM/YYYY)")
    traits.add_argument("--lieu", default="", help="birth place, INSEE code (5 characters, e.g. 63220, 2A020, 99100)")
    traits.add_argument("--reveal", action="store_true", help="show INS and traits in clear")
    traits.set_defaults(handler=cmd_traits)
    vitale = verbs.add_parser("vitale", parents=[parent], help="read the Vitale card, INSi lookup for each beneficiary")
    vitale.add_argument("--reader", default=None, help="logical reader name (default: the patient reader)")
    vitale.add_argument(
        "--timeout", type=bounded_float(0.1, 86400), default=30.0, help="seconds to wait for a card (default 30)"
    )
    vitale.add_argument("--dmp", action="store_true", help="also run the DMP existence test for each INS found")
    vitale.add_argument("--reveal", action="store_true", help="show INS and traits in clear")
    vitale.set_defaults(handler=cmd_vitale)


def _result_lines(result: Any, reveal: bool, indent: str = "") -> list[str]:
    from kiosk.teleservices.insi.model import CR_LABELS

    lines = [f"{indent}CR {result.code.value} : {CR_LABELS[result.code]} ({result.label})"]
    identity = result.identity
    if identity is not None:
        active = identity.active
        ins = active.matricule.value if reveal else active.matricule.masked
        flag = "" if active.key_consistent else "  ⚠ clé incohérente (97 - n mod 97) : à signaler, ne pas utiliser"
        kind = active.kind.value if active.kind else "OID inconnu"
        lines.append(f"{indent}INS {ins} ({kind}, OID {active.oid}) — identité {identity.status.value}{flag}")
        for former in identity.former:
            shown = former.matricule.value if reveal else former.matricule.masked
            lines.append(f"{indent}  ancien INS {shown}{'' if former.key_consistent else ' (clé incohérente)'}")
        traits = identity.traits.as_dict(reveal)
        lines.append(f"{indent}traits de référence : " + ", ".join(f"{k}={v}" for k, v in traits.items() if v))
    if len(result.attempts) > 1:
        lines += [f"{indent}essai avec {a.prenoms} prénom(s) : CR {a.code}" for a in result.attempts]
    return lines


def cmd_traits(ctx: CliContext) -> int:
    from kiosk.sim.teleservices import open_teleservices_or_simulators
    from kiosk.teleservices.insi import InvalidTraitsError, Traits

    args = ctx.args
    try:
        traits = Traits.from_desk(args.nom, args.prenom, args.sexe, args.naissance, args.lieu)
    except InvalidTraitsError as e:
        ctx.emit({"ok": False, "error": "traits", "message": e.reason}, f"traits refusés : {e.reason}")
        return exitcodes.USAGE
    with open_teleservices_or_simulators(ctx.config, dmp=False) as services:
        if services.simulated:
            ctx.say("environnement demo : simulateur INSi embarqué")
        result = services.insi.search_traits_strategy(traits)  # type: ignore[union-attr]
    ctx.emit({"ok": True, **result.as_dict(args.reveal)}, "\n".join(_result_lines(result, args.reveal)))
    return exitcodes.OK if result.found else exitcodes.NEGATIVE


def cmd_vitale(ctx: CliContext) -> int:
    from drivers.manager import ReaderManager
    from kiosk.domain.card_reads import read_vitale
    from kiosk.domain.patient import QUALITES
    from kiosk.domain.privacy import mask_name
    from kiosk.sim.teleservices import open_teleservices_or_simulators
    from kiosk.teleservices.pipeline import Stage, check_beneficiaries

    args = ctx.args
    with ReaderManager(ctx.config.readers) as manager:
        ctx.say("insérez la carte Vitale…")
        read = read_vitale(manager, args.reader, timeout=args.timeout)
        ctx.say(f"carte lue : {len(read.beneficiaries)} bénéficiaire(s), lecteur {read.reader}")
        with open_teleservices_or_simulators(ctx.config, dmp=args.dmp) as services:
            rows: dict[int, dict[str, Any]] = {}
            text: list[str] = []

            def card_check() -> None:
                manager.ensure_current(read.reader, read.card_counter)

            for update in check_beneficiaries(read, services.insi, services.dmp, card_check=card_check):  # type: ignore[arg-type]
                person = update.beneficiary
                row = rows.setdefault(update.index, {"index": update.index, "qualite": person.qualite})
                shown = (
                    (person.prenom, person.nom_usuel)
                    if args.reveal
                    else (mask_name(person.prenom), mask_name(person.nom_usuel))
                )
                name = f"{shown[0]} {shown[1]} ({QUALITES.get(person.qualite, 'qualité inconnue')})"
                if update.stage is Stage.INSI and update.insi is not None:
                    row["insi"] = update.insi.as_dict(args.reveal)
                    text.append(f"[{update.index + 1}] {name}")
                    text += _result_lines(update.insi, args.reveal, "    ")
                elif update.stage is Stage.DMP and update.dmp is not None:
                    row["dmp"] = update.dmp.as_dict()
                    text.append(f"[{update.index + 1}] DMP : {update.dmp.label}")
                elif update.stage is Stage.SKIPPED:
                    row["dmp_skipped"] = update.reason
                    if args.dmp:
                        text.append(f"[{update.index + 1}] {update.reason}")
                elif update.stage is Stage.FAILED:
                    row["error"] = str(update.error)
                    text.append(f"[{update.index + 1}] échec : {update.error}")
    ordered = [rows[i] for i in sorted(rows)]
    ctx.emit(
        {"ok": True, "reader": read.reader, "nature": read.nature.value, "beneficiaries": ordered}, "\n".join(text)
    )
    if any("error" in r for r in ordered):
        return exitcodes.EXTERNAL
    return exitcodes.OK if any(r.get("insi", {}).get("code_cr") == "00" for r in ordered) else exitcodes.NEGATIVE
