"""`kiosk link PAGE [--ins M --oid OID] [--psc] [--open | --out FILE | --text | --print]`: the Web PS page of
PDT-INF-547.

By default the XHTML goes to stdout. `--out` writes it with mode 0600 (it holds the matricule); `--open`
hands it to the configured browser through a one-shot loopback URL, so it never reaches a disk; `--text`
prints the ticket version (URL, masked INS, QR code); `--print` sends that ticket to `[printer]` and waits
for the printer to have it (a technician's test print: exit 3 with the reason when it does not).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kiosk import exitcodes
from kiosk.cli.argtypes import bounded_float
from kiosk.cli.context import CliContext

ORDER = 65


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("link", parents=[parent], help="the contextual Web PS page (XHTML, auto-submitted POST)")
    p.add_argument("page", help="page name from webps.pages (TableauDeBord, DossierPatient, Documents...)")
    p.add_argument("--ins", metavar="MATRICULE", help="the patient's INS matricule (15 characters, key checked)")
    p.add_argument("--oid", help="the INS OID INSi returned (typeINS: NIR .8, NIA .9); default: the NIR OID")
    p.add_argument("--psc", action="store_true", help="Pro Santé Connect base instead of the CPx one")
    p.add_argument("--cpx", action="store_true", help="CPx base (default: webps.access)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--open", action="store_true", help="open it in webps.browser (one-shot page on 127.0.0.1)")
    mode.add_argument("--out", metavar="FILE", help="write the XHTML to FILE (mode 0600)")
    mode.add_argument("--text", action="store_true", help="print-friendly text with a QR code of the URL")
    mode.add_argument("--print", action="store_true", help="print that text and QR code on [printer] (test print)")
    p.add_argument(
        "--ttl", type=bounded_float(1, 3600), default=60.0, help="--open: seconds the page stays available (default 60)"
    )
    p.set_defaults(handler=cmd_link)


def cmd_link(ctx: CliContext) -> int:
    from kiosk.teleservices.webps import BrowserError, LinkError, open_page, printable_link, render_xhtml, resolve_link

    args = ctx.args
    if args.psc and args.cpx:
        return _fail(ctx, "access", "--psc et --cpx s'excluent", exitcodes.USAGE)
    access = "psc" if args.psc else ("cpx" if args.cpx else None)
    try:
        if args.open:
            opened = open_page(ctx.config, args.page, args.ins, args.oid, access, browser=None, ttl_s=args.ttl)
            data = {"ok": opened.served, **opened.describe()}
            if not opened.served:
                code = opened.process.poll()
                why = (f"le navigateur s'est arrêté (code {code}) sans charger la page" if code not in (None, 0)
                       else f"le navigateur n'a pas chargé la page dans les {args.ttl:g} s (page expirée)")
                return _fail(ctx, "browser", why, exitcodes.EXTERNAL, data)
            ctx.emit(data, f"ouvert dans le navigateur : {opened.link.url}")
            return exitcodes.OK
        link = resolve_link(ctx.config, args.page, args.ins, args.oid, access)
    except LinkError as e:
        return _fail(ctx, e.code, str(e), exitcodes.USAGE)
    except BrowserError as e:
        return _fail(ctx, "browser", str(e), exitcodes.EXTERNAL)
    if args.print:
        return _print(ctx, link)
    if args.text:
        printable = printable_link(ctx.config, link)
        ctx.emit({"ok": True, **link.describe(), "text": printable.text}, printable.text + printable.qr_text())
        return exitcodes.OK
    xhtml = render_xhtml(link)
    if args.out:
        from kiosk.atomicfile import atomic_write

        out = Path(args.out)
        if out.is_dir():
            return _fail(
                ctx, "out", f"--out {args.out} est un répertoire : un chemin de fichier est attendu", exitcodes.USAGE
            )
        try:
            atomic_write(out, xhtml.encode("utf-8"), 0o600)
        except OSError as e:
            return _fail(ctx, "out", f"--out {args.out} : écriture impossible ({e.strerror or e})", exitcodes.USAGE)
        ctx.emit(
            {"ok": True, **link.describe(), "out": args.out}, f"page écrite dans {args.out} (mode 0600) : {link.url}"
        )
        return exitcodes.OK
    if ctx.json:
        ctx.emit({"ok": True, **link.describe(), "xhtml": xhtml}, xhtml)
    else:
        ctx.stdout.write(xhtml)
    return exitcodes.OK


def _print(ctx: CliContext, link: Any) -> int:
    from kiosk.appliance.printing import PrinterError, PrintFailure, link_job, print_job
    from kiosk.teleservices.webps import printable_link

    printable = printable_link(ctx.config, link)
    printer = ctx.config.printer
    try:
        print_job(printer, link_job(printable.text, printable.url))
    except PrinterError as e:
        code = (
            exitcodes.USAGE
            if e.reason in (PrintFailure.NOT_CONFIGURED, PrintFailure.BAD_TARGET)
            else exitcodes.EXTERNAL
        )
        return _fail(ctx, f"printer_{e.reason.value}", str(e), code, {**link.describe(), "printer": printer.kind})
    ctx.emit({"ok": True, **link.describe(), "printer": printer.kind, "target": printer.target},
             f"imprimé ({printer.kind} {printer.target}) : {link.url}")
    return exitcodes.OK


def _fail(ctx: CliContext, code: str, message: str, exit_code: int, data: dict[str, Any] | None = None) -> int:
    """No page: the reason on stderr (or as JSON on stdout with --json)."""
    if ctx.json:
        ctx.emit({**(data or {}), "ok": False, "error": code, "message": message}, message)
    else:
        ctx.stderr.write(f"kiosk: {message}\n")
    return exit_code
