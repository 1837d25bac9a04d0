"""What is printed, whatever the printer: a few lines of text and, for a Web PS link, the URL as a QR code."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["PrintJob", "fold", "link_job", "ticket_job"]

TICKET_TITLE = "Ticket d'admission"
LINK_TITLE = "Lien Web PS"


@dataclass(frozen=True)
class PrintJob:
    lines: tuple[str, ...]
    qr: str = ""  # a URL to print as a QR code, when any
    title: str = TICKET_TITLE  # job title and PDF title: fixed words, never patient data

    def __repr__(self) -> str:
        return f"PrintJob({self.title!r}, lines={len(self.lines)}, qr={bool(self.qr)})"


def ticket_job(site: str, data: dict[str, Any], now: datetime | None = None) -> PrintJob:
    """The admission ticket: who (name, birth date), the identity status, the time. Paper only: never logged."""
    row = data["row"]
    b = row.beneficiary
    digits = "".join(c for c in b.date_naissance if c.isdigit())[:8]
    born = f"{digits[6:8]}/{digits[4:6]}/{digits[:4]}" if len(digits) == 8 else b.date_naissance
    moment = (now or datetime.now()).strftime("%d/%m/%Y %H:%M")
    return PrintJob((
        TICKET_TITLE,
        site,
        moment,
        f"{b.nom_usuel} {b.prenom}",
        f"Né(e) le {born}",
        f"Identité : {data['status']}",
    ), title=TICKET_TITLE)


def link_job(text: str, url: str) -> PrintJob:
    """The Web PS link sheet (`kiosk.teleservices.webps.printable_link`'s text) with its URL as a QR code."""
    return PrintJob(tuple(text.splitlines()), qr=url, title=LINK_TITLE)


def fold(text: str, encoding: str) -> str:
    """`text` made encodable in `encoding`: a character it lacks loses its accent (rare diacritics in a name)
    rather than printing as garbage; what has no plain form becomes "?"."""
    out = []
    for ch in text:
        try:
            ch.encode(encoding)
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            try:
                base.encode(encoding)
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)
