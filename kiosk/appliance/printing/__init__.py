"""The desk's printer (`[printer]`): the Web PS link sheet and the admission ticket, on CUPS or ESC/POS.

`cups` sends a PDF over IPP and waits for the job to complete (`kiosk.appliance.printing.cups`); the `escpos-*` kinds
and `file` send ESC/POS bytes with bounded writes and a status check (`kiosk.appliance.printing.escpos`). Either way the
answer is "printed" or a `PrinterError` whose reason travels to the desk's journal and whose French text is
shown on the desk; nothing of the job is written to the kiosk's disk (except with `file`, which is for tests and
device nodes).
"""

from __future__ import annotations

import logging

from kiosk.appliance.printing.errors import PrinterError, PrintFailure
from kiosk.appliance.printing.job import PrintJob, link_job, ticket_job
from kiosk.config.schema import PrinterConfig

__all__ = ["PrintFailure", "PrintJob", "PrinterError", "link_job", "print_job", "printer_ready", "ticket_job"]

log = logging.getLogger(__name__)


def print_job(config: PrinterConfig, job: PrintJob) -> None:
    """Print `job`, or raise PrinterError; the failure is also logged (French, no patient data)."""
    try:
        _print(config, job)
    except PrinterError as e:
        log.warning("impression impossible (%s, %s) : %s", config.kind, e.reason.value, e)
        raise


def _print(config: PrinterConfig, job: PrintJob) -> None:
    if config.kind == "none":
        raise PrinterError(PrintFailure.NOT_CONFIGURED)
    if config.kind == "cups":
        from kiosk.appliance.printing.cups import print_pdf
        from kiosk.appliance.printing.pdf import render_pdf

        print_pdf(config.target, render_pdf(job), job.title, config.timeout_s)
        return
    from kiosk.appliance.printing.escpos import print_escpos

    print_escpos(config.kind, config.target, job, timeout_s=config.timeout_s, qr=config.qr,
                 confirm=config.confirm, baudrate=config.baudrate)


def printer_ready(config: PrinterConfig, timeout_s: float | None = None) -> str:
    """Ask the printer whether it could print now, without printing: a French description, or PrinterError.
    CUPS: the queue exists, accepts jobs and is not stopped; ESC/POS: paper present and on line (if it answers)."""
    timeout = timeout_s if timeout_s is not None else config.timeout_s
    if config.kind == "none":
        raise PrinterError(PrintFailure.NOT_CONFIGURED)
    if config.kind == "cups":
        from kiosk.appliance.printing.cups import queue_status

        return queue_status(config.target, timeout)
    from kiosk.appliance.printing.escpos import printer_status

    if not config.confirm:
        return f"{config.target} (état non demandé : printer.confirm = false)"
    return printer_status(config.kind, config.target, timeout_s=timeout, baudrate=config.baudrate)
