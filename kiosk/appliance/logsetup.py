"""One logging set-up for the CLI and the service.

stderr only: under systemd, journald captures it (and we prefix the syslog priority so `journalctl -p`
works); on a terminal, a short human format. Every handler carries `PatientDataFilter`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from kiosk.domain.privacy import Sensitive, scrub

__all__ = ["PatientDataFilter", "setup_logging"]

_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR,
           "CRITICAL": logging.CRITICAL}
_SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class PatientDataFilter(logging.Filter):
    """Renders each record's message once, revealing `Sensitive` values only at DEBUG and scrubbing above it.

    It rewrites `record.msg`/`record.args` so every later handler and formatter sees the safe text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        debug = record.levelno <= logging.DEBUG
        args = record.args
        if args:
            if isinstance(args, dict):
                args = {k: self._arg(v, debug) for k, v in args.items()}
            else:
                args = tuple(self._arg(a, debug) for a in args)
        try:
            message = str(record.msg) % args if args else str(record.msg)
        except (TypeError, ValueError):
            message = f"{record.msg} {args!r}"
        if not debug:
            message = scrub(message)
            if record.exc_info and record.exc_info[1] is not None:
                # The formatter would print the exception text in clear: render it now, scrubbed.
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        record.msg, record.args = message, None
        return True

    @staticmethod
    def _arg(value: Any, debug: bool) -> Any:
        if isinstance(value, Sensitive):
            return value.reveal() if debug else str(value)
        return value


class _KioskHandler(logging.StreamHandler):
    """The handler `setup_logging` installs: found again by its class, replaced on the next call."""


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_SYSLOG_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def setup_logging(verbosity: int = 0, stream: Any = None) -> logging.Handler:
    """verbosity 0: WARNING, 1: INFO, 2+: DEBUG (patient data appears only at DEBUG). Idempotent."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    env_level = os.environ.get("KIOSK_LOG_LEVEL", "").upper()
    if env_level in _LEVELS:
        level = _LEVELS[env_level]
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _KioskHandler)]:
        root.removeHandler(old)
    handler = _KioskHandler(stream or sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(PatientDataFilter())
    root.addHandler(handler)
    root.setLevel(level)
    return handler

