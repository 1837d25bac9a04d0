"""A print job as a one-page A4 PDF for office printers (CUPS): real text (searchable, accents intact through
the standard fonts' WinAnsi encoding, which holds every French letter including œ) and a vector QR code."""

from __future__ import annotations

import io

from kiosk.appliance.printing.job import PrintJob, fold

__all__ = ["render_pdf"]

MARGIN_PT = 56.0  # ~2 cm
QR_MODULE_PT = 4.25  # 1.5 mm: scans from an office print at arm's length


def render_pdf(job: PrintJob) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    width, height = A4
    pdf = Canvas(out, pagesize=A4, invariant=True, pageCompression=1)
    pdf.setTitle(job.title)  # fixed words: the PDF's metadata never holds patient data
    pdf.setAuthor("")
    pdf.setSubject("")
    y = height - MARGIN_PT
    for i, line in enumerate(job.lines):
        font, size = ("Helvetica-Bold", 18) if i == 0 else ("Helvetica", 13)
        for part in simpleSplit(fold(line, "cp1252"), font, size, width - 2 * MARGIN_PT) or [""]:
            y -= size * 1.45
            pdf.setFont(font, size)
            pdf.drawString(MARGIN_PT, y, part)
    if job.qr:
        _draw_qr(pdf, job.qr, MARGIN_PT, y - 24)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _draw_qr(pdf: object, data: str, left: float, top: float) -> None:
    import segno

    qr = segno.make(data, error="m", micro=False)
    pdf.setFillColorRGB(0, 0, 0)  # type: ignore[attr-defined]
    for row, modules in enumerate(qr.matrix_iter(border=4)):
        for col, dark in enumerate(modules):
            if dark:
                pdf.rect(left + col * QR_MODULE_PT, top - (row + 1) * QR_MODULE_PT,  # type: ignore[attr-defined]
                         QR_MODULE_PT, QR_MODULE_PT, stroke=0, fill=1)

