"""`kiosk read [--reader NAME] [--timeout S] [--reveal]`: wait for a card and show what it holds.

Vitale: every beneficiary; CPx: the holder. Patient data is masked unless `--reveal` (for the desk screen);
a technician's terminal, a ticket or a log sees initials and masked NIRs only.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk import exitcodes
from kiosk.cli.argtypes import bounded_float
from kiosk.cli.context import CliContext

ORDER = 31


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("read", parents=[parent], help="wait for a card, read it (Vitale beneficiaries / CPx holder)")
    p.add_argument(
        "--reader", metavar="NAME", help="logical reader ([[readers]] name, patient, staff) or PC/SC reader name"
    )
    p.add_argument(
        "--timeout",
        type=bounded_float(0.1, 86400),
        default=30.0,
        metavar="S",
        help="seconds to wait for a card (default 30)",
    )
    p.add_argument("--reveal", action="store_true", help="show names, birth dates and NIRs in clear (desk screen only)")
    p.set_defaults(handler=cmd_read)


def _matricule(m: Any, reveal: bool) -> str | None:
    return None if m is None else (m.value if reveal else m.masked)


def vitale_dict(read: Any, reveal: bool) -> dict[str, Any]:
    from kiosk.domain.patient import QUALITES
    from kiosk.domain.privacy import mask_date, mask_name

    def person(b: Any) -> dict[str, Any]:
        show = (lambda v: v) if reveal else mask_name
        return {
            "index": b.index, "nom": show(b.nom_usuel), "prenom": show(b.prenom),
            "nom_naissance": show(b.nom_naissance) if b.nom_naissance else "",
            "date_naissance": b.date_naissance if reveal else mask_date(b.date_naissance),
            "rang_naissance": b.rang_naissance, "qualite": b.qualite, "qualite_label": QUALITES.get(b.qualite, ""),
            "nir": _matricule(b.nir_individuel, reveal), "nir_ouvrant_droit": _matricule(b.nir_ouvrant_droit, reveal),
            "doubtful": list(b.doubtful),
        }

    return {
        "card": "vitale", "reader": read.reader, "card_counter": read.card_counter, "card_type": read.card_type,
        "nature": read.nature.value, "beneficiaries": [person(b) for b in read.beneficiaries],
        "apdu_count": int(read.extra.get("apdu_count", 0)), "doubtful": list(read.doubtful),
    }


def _vitale_text(data: dict[str, Any]) -> str:
    count = len(data["beneficiaries"])
    lines = [f"{data['card_type']} ({data['nature']}) dans « {data['reader']} » : {count} bénéficiaire(s)"]
    for b in data["beneficiaries"]:
        born = f" né(e) {b['nom_naissance']}" if b["nom_naissance"] else ""
        lines.append(
            f"  [{b['index'] + 1}] {b['nom']} {b['prenom']}{born}, {b['date_naissance']}, rang "
            f"{b['rang_naissance'] or '?'}, "
            f"{b['qualite_label'] or b['qualite'] or 'qualité inconnue'}, NIR {b['nir'] or '—'} (ouvrant droit "
            f"{b['nir_ouvrant_droit'] or '—'})"
            + (f" — à vérifier (illisible sur la carte) : {', '.join(b['doubtful'])}" if b["doubtful"] else "")
        )
    if data["doubtful"]:
        lines.append(f"  à vérifier (illisible sur la carte) : {', '.join(data['doubtful'])}")
    return "\n".join(lines)


def cmd_read(ctx: CliContext) -> int:
    from drivers.atr import CardKind
    from drivers.errors import ReaderError
    from drivers.manager import ReaderManager
    from kiosk.domain.card_reads import read_cpx, read_vitale

    args = ctx.args
    with ReaderManager(ctx.config.readers) as manager:
        ctx.say("en attente d'une carte…")
        try:
            target = manager.wait_for_card(args.reader, timeout=args.timeout)
        except ReaderError:
            # No card came: if the name is neither a logical reader nor a reader seen, that is the real problem
            # (asked after the wait, when every backend has listed its readers).
            known = ({lr.name for lr in manager.logical_readers()} | {"patient", "staff"}
                     | {name for _, name, *_ in manager.physical_readers()})
            if args.reader is None or args.reader in known:
                raise
            ctx.emit({"ok": False, "error": "usage", "problems": [f"lecteur inconnu : {args.reader!r}"],
                      "known": sorted(known)},
                     f"lecteur inconnu : {args.reader!r} (lecteurs connus : {', '.join(sorted(known))})")
            return exitcodes.USAGE
        kind = target.family.kind
        if kind is CardKind.VITALE:
            data = vitale_dict(read_vitale(manager, target.name, timeout=args.timeout), args.reveal)
            ctx.emit(data, _vitale_text(data))
            return exitcodes.OK
        if kind is CardKind.CPX:
            holder = read_cpx(manager, target.name, timeout=args.timeout)
            data = {"card": "cpx", **holder.as_dict()}
            ctx.emit(data, (
                f"{holder.family} {holder.card_type.label} dans « {holder.reader} » : {holder.display_name}, "
                f"{holder.profession}, IdNat {holder.idnat}, carte n° {holder.serial}"
                + ("" if holder.serial_check_ok else " (chiffre de contrôle du numéro de carte incorrect)")
                + (f", {holder.organisation} ({holder.organisation_id})" if holder.organisation else "")
                + f", valide du {holder.not_before:%d/%m/%Y} au {holder.not_after:%d/%m/%Y}"
                + (" — IGC de TEST" if holder.test_pki else "")
                + (" — sans contact : identification seulement, pas de code porteur" if holder.pin_reference is None
                   else "")
            ))
            return exitcodes.OK
        atr = target.atr.hex(" ").upper() if target.atr else "?"
        ctx.emit({"card": "unknown", "reader": target.name, "atr": atr},
                 f"carte inconnue dans « {target.name} » (ATR {atr}) : ni Vitale ni CPx")
        return exitcodes.NEGATIVE
