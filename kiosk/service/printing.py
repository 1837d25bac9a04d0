"""The desk's printer (`[printer]`): the Web PS link sheet and the admission ticket, on ESC/POS or CUPS.

python-escpos drives ticket printers over USB, serial or the network; `file` writes the same ESC/POS bytes
to a path (tests, or a printer device node); `cups` sends plain text to a queue with `lp`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.config.schema import PrinterConfig
from kiosk.errors import KioskError

__all__ = ["PrintJob", "PrinterError", "print_job", "ticket_job"]


class PrinterError(KioskError):
    """The printer is not configured, unreachable or refused the job (message in French, no patient data)."""


@dataclass(frozen=True)
class PrintJob:
    lines: tuple[str, ...]
    qr: str = ""  # a URL to print as a QR code, when any

    def __repr__(self) -> str:
        return f"PrintJob(lines={len(self.lines)}, qr={bool(self.qr)})"


def ticket_job(site: str, data: dict[str, Any], now: datetime | None = None) -> PrintJob:
    """The admission ticket: who (name, birth date), the identity status, the time. Paper only: never logged."""
    row = data["row"]
    b = row.beneficiary
    digits = "".join(c for c in b.date_naissance if c.isdigit())[:8]
    born = f"{digits[6:8]}/{digits[4:6]}/{digits[:4]}" if len(digits) == 8 else b.date_naissance
    moment = (now or datetime.now()).strftime("%d/%m/%Y %H:%M")
    return PrintJob((
        "Ticket d'admission",
        site,
        moment,
        f"{b.nom_usuel} {b.prenom}",
        f"Né(e) le {born}",
        f"Identité : {data['status']}",
    ))


def _escpos(config: PrinterConfig) -> Any:
    from escpos import printer as p

    kind, target = config.kind, config.target
    if kind == "file":
        return p.File(target)
    if kind == "escpos-serial":
        return p.Serial(devfile=target)
    if kind == "escpos-network":
        host, _, port = target.partition(":")
        return p.Network(host, port=int(port or 9100))
    if kind == "escpos-usb":
        vid, _, pid = target.partition(":")
        return p.Usb(int(vid, 16), int(pid, 16))
    raise PrinterError(f"type d'imprimante inconnu : {kind}")


def print_job(config: PrinterConfig, job: PrintJob) -> None:
    if config.kind == "none":
        raise PrinterError("aucune imprimante configurée (clé printer.kind)")
    if config.kind == "cups":
        text = "\n".join(job.lines + ((job.qr,) if job.qr else ())) + "\n"
        try:
            done = subprocess.run(["lp", "-d", config.target], input=text.encode(), capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PrinterError(f"CUPS injoignable ({type(e).__name__})") from e
        if done.returncode != 0:
            raise PrinterError(f"CUPS a refusé l'impression (file {config.target!r})")
        return
    try:
        printer = _escpos(config)
        for line in job.lines:
            printer.textln(line)
        if job.qr:
            printer.qr(job.qr, size=6, native=True)  # the printer draws it: no image profile needed
        printer.cut()
        printer.close()
    except PrinterError:
        raise
    except Exception as e:  # python-escpos raises many kinds (USB, serial, socket): one error for the desk
        raise PrinterError(f"imprimante injoignable ({type(e).__name__})") from e
