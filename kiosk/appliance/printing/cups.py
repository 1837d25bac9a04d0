"""`[printer] kind = "cups"`: a PDF sent over IPP with pycups (libcups), then followed to its end.

Target: `QUEUE` (the default server: $CUPS_SERVER, client.conf, else the local socket) or
`ipp://HOST[:PORT]/printers/QUEUE` (`ipps://` for TLS). Success is the job reaching IPP state `completed`;
a stopped printer, a queue refusing jobs, an aborted job or one still not finished after `printer.timeout_s`
(then cancelled, so it never comes out later for the next patient) are errors. The document goes from memory
to the server (Create-Job + Send-Document): nothing of it is written on the kiosk's disk. Job title and
requesting user are fixed words, never patient data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from kiosk.appliance.printing.errors import PrinterError, PrintFailure
from kiosk.config.printer_targets import CupsTarget, parse_cups_target

__all__ = ["print_pdf", "queue_status"]

log = logging.getLogger(__name__)

USER = "kiosk"  # requesting-user-name: the desk, not the receptionist
POLL_S = 0.25
# IPP job-state and printer-state values (RFC 8011 5.3.7, 5.4.11)
JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED, JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = range(3, 10)
PRINTER_STOPPED = 5
IPP_NOT_FOUND = 0x0406
IPP_NOT_ACCEPTING = 0x0506


def print_pdf(target: str, pdf: bytes, title: str, timeout_s: float) -> int:
    """Print and wait for `completed`; returns the job id. Raises PrinterError."""
    cups = _pycups()
    where = _parse(target)
    deadline = time.monotonic() + timeout_s
    with _cups_errors(cups, where):
        conn = _connect(where, timeout_s, cups)
        _check_printer(conn, where, cups)
        job = conn.createJob(where.queue, title, {})
        conn.startDocument(where.queue, job, title, "application/pdf", 1)
        conn.writeRequestData(pdf, len(pdf))
        conn.finishDocument(where.queue)
    log.info("impression CUPS : travail %s envoyé (%s)", job, where.describe())
    _wait_completed(conn, where, job, deadline, cups)
    return int(job)


def queue_status(target: str, timeout_s: float) -> str:
    """The queue ready to print (French description), or PrinterError: what `kiosk doctor` asks, no job sent."""
    cups = _pycups()
    where = _parse(target)
    with _cups_errors(cups, where):
        conn = _connect(where, timeout_s, cups)
        _check_printer(conn, where, cups)
    return f"{where.describe()} prête (accepte les travaux)"


def _pycups() -> Any:
    try:
        import cups
    except ImportError:  # pycups is a dependency; libcups2 missing on the system breaks its import
        raise PrinterError(
            PrintFailure.UNREACHABLE, "bibliothèque CUPS absente (paquets libcups2 / cups-client)"
        ) from None
    return cups


def _connect(where: CupsTarget, timeout_s: float, cups: Any) -> Any:
    _probe(where, timeout_s, cups)  # libcups' own connect timeout is not settable: fail fast when nobody listens
    # libcups keeps server, user and encryption per thread. The server is set here rather than given to
    # Connection(host=...): cupsCreateJob resolves the queue through the default server, and with another
    # one it posted the job to the queue's device URI (cups-pdf:/, usb://...) and got "not found".
    cups.setServer(
        f"[{where.host}]:{where.port}" if ":" in where.host else f"{where.host}:{where.port}" if where.host else ""
    )
    cups.setEncryption(cups.HTTP_ENCRYPT_REQUIRED if where.tls else cups.HTTP_ENCRYPT_IF_REQUESTED)
    cups.setUser(USER)
    return cups.Connection()


def _parse(target: str) -> CupsTarget:
    try:
        return parse_cups_target(target)
    except ValueError as e:
        raise PrinterError(PrintFailure.BAD_TARGET, str(e)) from None


def _probe(where: CupsTarget, timeout_s: float, cups: Any) -> None:
    host, port = (where.host, where.port) if where.host else (cups.getServer(), cups.getPort())
    try:
        if host.startswith("/"):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(timeout_s)
                s.connect(host)
        else:
            socket.create_connection((host, port), timeout=min(timeout_s, 10.0)).close()
    except OSError as e:
        shown = host if host.startswith("/") else f"{host}:{port}"
        raise PrinterError(
            PrintFailure.UNREACHABLE, f"serveur CUPS {shown} ({os.strerror(e.errno) if e.errno else e})"
        ) from None


def _check_printer(conn: Any, where: CupsTarget, cups: Any) -> None:
    """Refuse before sending: a job queued on a stopped printer would come out later, for the wrong patient."""
    attrs = conn.getPrinterAttributes(where.queue, requested_attributes=[
        "printer-state", "printer-is-accepting-jobs", "printer-state-message"])
    message = str(attrs.get("printer-state-message") or "")
    if not attrs.get("printer-is-accepting-jobs", True):
        raise PrinterError(PrintFailure.REFUSING, _with(where.describe(), message))
    if attrs.get("printer-state") == PRINTER_STOPPED:
        raise PrinterError(PrintFailure.STOPPED, _with(where.describe(), message))


def _wait_completed(conn: Any, where: CupsTarget, job: int, deadline: float, cups: Any) -> None:
    with _cups_errors(cups, where, job):
        while True:
            attrs = conn.getJobAttributes(job, requested_attributes=["job-state", "job-printer-state-message"])
            state = int(attrs.get("job-state", JOB_PENDING))
            if state == JOB_COMPLETED:
                log.info("impression CUPS : travail %s terminé", job)
                return
            message = str(attrs.get("job-printer-state-message") or "")
            if state in (JOB_CANCELED, JOB_ABORTED):
                raise PrinterError(PrintFailure.JOB_FAILED, _with(f"travail {job}, {where.describe()}", message))
            if state == JOB_STOPPED:  # processing-stopped: the printer stopped in the middle of it
                _cancel(conn, job)
                raise PrinterError(PrintFailure.STOPPED, _with(where.describe(), message))
            if state != JOB_PROCESSING:  # pending or held: the printer may have stopped meanwhile
                printer = conn.getPrinterAttributes(where.queue, requested_attributes=["printer-state"])
                if printer.get("printer-state") == PRINTER_STOPPED:
                    _cancel(conn, job)
                    raise PrinterError(PrintFailure.STOPPED, _with(where.describe(), message))
            if time.monotonic() >= deadline:
                _cancel(conn, job)
                raise PrinterError(PrintFailure.NOT_COMPLETED, _with(f"travail {job}, {where.describe()}", message))
            time.sleep(POLL_S)


def _cancel(conn: Any, job: int) -> None:
    try:
        conn.cancelJob(job, purge_job=True)
    except Exception as e:  # noqa: BLE001 - best effort: the error the desk shows is the timeout, not this
        log.warning("impression CUPS : travail %s non annulé (%s)", job, e)


@contextlib.contextmanager
def _cups_errors(cups: Any, where: CupsTarget, job: int | None = None) -> Iterator[None]:
    """pycups' errors as PrinterError reasons (an IPP status by its meaning, anything else: unreachable)."""
    try:
        yield
    except cups.IPPError as e:
        raise _ipp_error(e, where) from None
    except (RuntimeError, cups.HTTPError) as e:
        during = "" if job is None else f", travail {job}"
        raise PrinterError(PrintFailure.UNREACHABLE, f"CUPS ({where.describe()}){during} : {e}") from None


def _ipp_error(e: Any, where: CupsTarget) -> PrinterError:
    status, message = e.args if len(e.args) == 2 else (0, str(e))
    if status == IPP_NOT_FOUND:
        return PrinterError(PrintFailure.UNKNOWN_QUEUE, where.describe())
    if status == IPP_NOT_ACCEPTING:
        return PrinterError(PrintFailure.REFUSING, _with(where.describe(), str(message)))
    return PrinterError(PrintFailure.JOB_FAILED, _with(where.describe(), f"IPP 0x{status:04x} {message}"))


def _with(what: str, message: str) -> str:
    return f"{what} — {message}" if message else what
