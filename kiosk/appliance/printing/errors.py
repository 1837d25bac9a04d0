"""Why a print job failed: one reason code that travels (journal, JSON), one French sentence for the desk."""

from __future__ import annotations

from enum import StrEnum

from kiosk.errors import KioskError

__all__ = ["PrintFailure", "PrinterError"]


class PrintFailure(StrEnum):
    NOT_CONFIGURED = "not_configured"
    UNREACHABLE = "unreachable"  # CUPS down, host refusing, device missing
    UNKNOWN_QUEUE = "unknown_queue"
    STOPPED = "stopped"  # CUPS printer state "stopped" (disabled, or its backend failed)
    REFUSING = "refusing"  # CUPS queue not accepting jobs
    NOT_COMPLETED = "not_completed"  # accepted but not printed within printer.timeout_s (then cancelled)
    JOB_FAILED = "job_failed"  # CUPS job aborted or cancelled
    NOT_READING = "not_reading"  # ESC/POS printer stopped taking bytes (flow control, buffer full)
    NO_ANSWER = "no_answer"  # ESC/POS printer did not answer the status request
    OFFLINE = "offline"  # ESC/POS status: off line (cover open, error)
    PAPER_OUT = "paper_out"
    BAD_TARGET = "bad_target"


_TEXTS = {
    PrintFailure.NOT_CONFIGURED: "aucune imprimante configurée (clé printer.kind)",
    PrintFailure.UNREACHABLE: "imprimante ou serveur d'impression injoignable",
    PrintFailure.UNKNOWN_QUEUE: "file d'impression inconnue du serveur CUPS",
    PrintFailure.STOPPED: "imprimante arrêtée sur le serveur d'impression",
    PrintFailure.REFUSING: "la file d'impression refuse les travaux",
    PrintFailure.NOT_COMPLETED: "le document n'a pas été imprimé dans le délai (travail annulé)",
    PrintFailure.JOB_FAILED: "le travail d'impression a échoué ou a été annulé",
    PrintFailure.NOT_READING: "l'imprimante ne prend plus les données",
    PrintFailure.NO_ANSWER: "l'imprimante ne répond pas",
    PrintFailure.OFFLINE: "imprimante hors ligne (capot ouvert ou erreur)",
    PrintFailure.PAPER_OUT: "plus de papier dans l'imprimante",
    PrintFailure.BAD_TARGET: "cible d'imprimante invalide (clé printer.target)",
}


class PrinterError(KioskError):
    """The job was not printed. `reason` for machines; `str()` is French and holds no patient data (queue, host
    or device names and the print server's own state message only)."""

    def __init__(self, reason: PrintFailure, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(_TEXTS[reason] + (f" : {detail}" if detail else ""))
