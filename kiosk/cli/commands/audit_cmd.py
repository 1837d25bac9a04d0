"""`kiosk audit verify | show`: the desk's audit journal, for a technician or the identity-vigilance officer."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 60


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    from kiosk.desk.events import JournalAction

    p = sub.add_parser("audit", parents=[parent], help="journal d'audit du poste (entrées chaînées)")
    verbs = p.add_subparsers(dest="audit_verb", metavar="VERBE", required=True)
    verify = verbs.add_parser("verify", parents=[parent],
                              help="vérifie la chaîne (code 1 si une entrée a été retirée ou modifiée)")
    verify.add_argument(
        "--anchors",
        metavar="FICHIER|RÉPERTOIRE",
        help="ancrages en lignes JSON (journalctl -o json, ou collecteur syslog) ou répertoire de journal systemd "
        "(journalctl -D) ; par défaut journalctl",
    )
    verify.add_argument("--no-anchors", action="store_true", help="ne pas comparer aux ancrages du journal système")
    verify.set_defaults(handler=cmd_verify)
    seal = verbs.add_parser(
        "seal-key",
        parents=[parent],
        help="scelle la clé du journal avec systemd-creds (migration, ou --generate au premier démarrage)",
    )
    seal.add_argument("--generate", action="store_true", help="crée la clé (journal sans entrées seulement)")
    seal.add_argument("--out", metavar="FICHIER", help="credential chiffré (défaut /etc/kiosk/audit-key.cred)")
    seal.set_defaults(handler=cmd_seal_key)
    show = verbs.add_parser("show", parents=[parent], help="liste les entrées (heures locales)")
    show.add_argument("--since", metavar="AAAA-MM-JJ", type=_day, help="à partir de ce jour (heure locale)")
    show.add_argument("--staff", metavar="IDNAT", help="les entrées d'une carte professionnelle")
    show.add_argument("--ins", metavar="MATRICULE",
                      help="les entrées d'un patient (l'INS est haché avec la clé du journal, jamais stocké)")
    show.add_argument("--action", choices=[a.value for a in JournalAction], metavar="ACTION",
                      help="une action : " + ", ".join(a.value for a in JournalAction))
    show.set_defaults(handler=cmd_show)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date AAAA-MM-JJ attendue (reçu {text!r})") from None


def _local(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return None


def cmd_verify(ctx: CliContext) -> int:
    from kiosk.appliance.service.anchor import read_anchors
    from kiosk.appliance.service.audit import audit_dir, verify_anchors, verify_journal

    directory = audit_dir(ctx.config)
    count, problems = verify_journal(directory)
    note = ""
    if not ctx.args.no_anchors:
        try:
            anchors = read_anchors(ctx.args.anchors)
        except OSError as e:
            ctx.emit({"ok": False, "error": "usage", "problems": [f"--anchors : {e.strerror or e}"]},
                     f"ancrages illisibles : {e.strerror or e}")
            return exitcodes.USAGE
        found, note = verify_anchors(directory, anchors)
        problems += found
    lines = [f"{directory} : {count} entrée(s) vérifiée(s)"]
    lines += [f"  {p}" for p in problems] or ["  chaîne intacte"]
    if note:  # not tampering: the system journal has no anchors for these entries (volatile, vacuumed)
        lines.append(f"  {note}")
    ctx.emit({"directory": str(directory), "entries": count, "ok": not problems, "problems": [str(p) for p in problems],
              "anchors": note or "ok"}, "\n".join(lines))
    return exitcodes.OK if not problems else exitcodes.NEGATIVE


def cmd_seal_key(ctx: CliContext) -> int:
    from pathlib import Path

    from kiosk.appliance.service.audit import audit_dir, has_entries
    from kiosk.appliance.service.auditkey import SEALED_PATH, seal_key

    directory = audit_dir(ctx.config)
    out = Path(ctx.args.out) if ctx.args.out else SEALED_PATH
    message = seal_key(directory, out, generate=ctx.args.generate, journal_has_entries=has_entries(directory))
    ctx.emit({"ok": True, "credential": str(out), "message": message}, message)
    return exitcodes.OK


def cmd_show(ctx: CliContext) -> int:
    from kiosk.appliance.service.audit import audit_dir, has_entries, patient_ref, read_entries
    from kiosk.appliance.service.auditkey import load_key
    from kiosk.domain.ins import MatriculeError, parse_matricule

    directory = audit_dir(ctx.config)
    patient = None
    if ctx.args.ins:
        try:
            # The key only: a reading command never opens the journal for writing.
            matricule = parse_matricule(ctx.args.ins, strict=False)
            patient = patient_ref(load_key(directory, True), matricule) if has_entries(directory) else "-"
        except MatriculeError as e:
            ctx.emit({"ok": False, "error": "usage", "problems": [f"--ins : matricule invalide ({e.reason})"]},
                     f"matricule invalide : {e.reason}")
            return exitcodes.USAGE
    since: date | None = ctx.args.since

    def wanted(e: dict[str, Any]) -> bool:
        moment = _local(str(e.get("time", "")))
        return ((since is None or (moment is not None and moment.date() >= since))
                and (not ctx.args.staff or e.get("staff") == ctx.args.staff)
                and (patient is None or e.get("patient") == patient)
                and (not ctx.args.action or e.get("action") == ctx.args.action))

    entries = [e for e in read_entries(directory) if wanted(e)]
    header = f"{'n°':>6} {'date et heure (locale)':<19} {'carte':<22} {'action':<20} {'résultat':<14} patient"
    lines = [header] + [
        f"{e.get('seq'):>6} {_shown(e):<19} {e.get('staff') or '-':<22} {e.get('action', ''):<20} "
        f"{e.get('outcome', ''):<14} {(e.get('patient') or '')[:12]}"
        for e in entries
    ]
    ctx.emit({"ok": bool(entries), "entries": entries}, "\n".join(lines) if entries else "aucune entrée")
    return exitcodes.OK if entries else exitcodes.NEGATIVE


def _shown(entry: dict[str, Any]) -> str:
    moment = _local(str(entry.get("time", "")))
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else str(entry.get("time", ""))[:19]
