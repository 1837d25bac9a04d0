"""The printer answers and could print now (nothing is printed); printing leaves nothing of a patient on the
kiosk: with a local cupsd, its spool on a tmpfs and `PreserveJobFiles No` (CUPS keeps documents a day by
default); with the `file` kind, a device node, not a file."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from kiosk.appliance.doctor.registry import NET_TIMEOUT_S, DoctorContext, Finding, check, fail, ok, warn

CUPSD_CONF = Path("/etc/cups/cupsd.conf")
CUPS_FILES_CONF = Path("/etc/cups/cups-files.conf")
DEFAULT_SPOOL = "/var/spool/cups"
MEMORY_FS = {"tmpfs", "ramfs"}
LOOPBACK = {"", "localhost", "127.0.0.1", "::1"}


ACTIONS = {
    "unreachable": "vérifier le câble ou le réseau de l'imprimante, son alimentation, printer.target ; "
                   "puis `kiosk link TableauDeBord --print`",
    "unknown_queue": "corriger printer.target (`lpstat -h SERVEUR -p` liste les files)",
    "stopped": "relancer l'imprimante sur le serveur d'impression (`cupsenable FILE`) après avoir vu pourquoi",
    "refusing": "réouvrir la file (`cupsaccept FILE`) sur le serveur d'impression",
    "paper_out": "remettre du papier",
    "offline": "fermer le capot, vérifier le voyant d'erreur de l'imprimante",
    "no_answer": "imprimante muette : vérifier le câble, ou mettre printer.confirm = false si elle ne répond jamais",
}


@check("printer", "Imprimante", order=57)
def check_printer(ctx: DoctorContext) -> Finding:
    from kiosk.appliance.printing import PrinterError, printer_ready

    assert ctx.config is not None
    printer = ctx.config.printer
    if printer.kind == "none":
        return ok("aucune imprimante configurée (printer.kind = none)")
    try:
        found = printer_ready(printer, min(printer.timeout_s, NET_TIMEOUT_S))
    except PrinterError as e:
        return fail(str(e), ACTIONS.get(e.reason.value, "vérifier printer.kind et printer.target"),
                    kind=printer.kind, reason=e.reason.value)
    return ok(f"{printer.kind} : {found}", kind=printer.kind)


@check("print_privacy", "Impression : rien sur le disque", order=58)
def check_print_privacy(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    printer = ctx.config.printer
    if printer.kind == "file":
        target = Path(printer.target)
        if target.exists() and stat.S_ISCHR(target.stat().st_mode):
            return ok(f"tickets envoyés au périphérique {target}")
        if ctx.config.environment == "demo":
            return ok(f"démonstration : tickets écrits dans {target} (patients fictifs)")
        return warn(f"les tickets sont écrits dans le fichier {target} (noms et dates de naissance sur le disque)",
                    "type `file` réservé aux essais : choisir escpos-usb, escpos-serial, escpos-network ou cups")
    if printer.kind != "cups":
        return ok(f"imprimante {printer.kind} : rien n'est écrit sur la borne")
    from kiosk.config.printer_targets import parse_cups_target

    try:
        host = parse_cups_target(printer.target).host
    except ValueError:
        return ok("cible CUPS invalide : voir le contrôle de la configuration")
    if host not in LOOPBACK or not CUPSD_CONF.exists():
        return ok("serveur d'impression distant : rien n'est gardé sur la borne")
    problems = cupsd_problems(CUPSD_CONF, CUPS_FILES_CONF)
    if problems:
        return fail("cupsd local : " + " ; ".join(problems),
                    "dans cupsd.conf : `PreserveJobFiles No` ; spool sur tmpfs (unité systemd var-spool-cups.mount "
                    "ou `tmpfs /var/spool/cups tmpfs mode=0710,gid=lp 0 0` dans fstab), puis redémarrer cups")
    return ok("cupsd local : spool en mémoire (tmpfs), documents non conservés (PreserveJobFiles No)")


def cupsd_problems(cupsd_conf: Path, files_conf: Path, mountinfo: str | None = None) -> list[str]:
    """What in a local cupsd's configuration keeps print jobs on disk (French), empty when nothing does."""
    problems = []
    preserve = _directive(cupsd_conf, "PreserveJobFiles") or "86400"  # CUPS' default: documents kept one day
    if preserve.lower() not in ("no", "off", "false", "0"):
        problems.append(f"PreserveJobFiles {preserve} (documents conservés après impression)")
    spool = _directive(files_conf, "RequestRoot") or DEFAULT_SPOOL
    temp = _directive(files_conf, "TempDir") or f"{spool}/tmp"
    table = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
    for what, path in (("spool", spool), ("répertoire temporaire", temp)):
        fs = filesystem_of(path, table)
        if fs not in MEMORY_FS:
            problems.append(f"{what} {path} sur {fs or 'un disque'}, pas en mémoire")
    return problems


def _directive(path: Path, name: str) -> str | None:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    found = None
    for line in text.splitlines():
        m = re.match(rf"\s*{name}\s+(\S+)", line, re.IGNORECASE)
        if m:
            found = m.group(1)  # the last one wins, as in cupsd
    return found


def filesystem_of(path: str, mountinfo: str) -> str:
    """The file system type of the mount holding `path` (the longest mount point that prefixes it)."""
    best, fstype = "", ""
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        mount = fields[4].replace("\\040", " ")
        after = line.split(" - ", 1)[1].split()
        inside = path == mount or path.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, after[0] if after else ""
    return fstype
