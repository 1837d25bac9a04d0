"""An exception from a worker, as the desk's `Problem`: what happened, so the catalogue can say who acts.

Teleservice failures are told apart by the exception chain the transport left (`raise ... from e`): a TLS
refusal is the technician's (certificates), a network that does not route is the cable's, a service that
does not answer or answers 5xx is "try again in a few minutes". Details never hold patient data.
"""

from __future__ import annotations

import errno
import socket
import ssl

import requests

from drivers.errors import CardDataError, CardSwappedError, ReaderError
from kiosk.desk.events import Problem, Reason
from kiosk.domain.privacy import scrub
from kiosk.errors import TeleserviceError

__all__ = ["problem_of"]

# errno values meaning "this machine cannot reach the network at all", not "the service is down"
_NETWORK_ERRNOS = {errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}
_NETWORK_WORDS = ("Network is unreachable", "No route to host", "Name or service not known",
                  "Temporary failure in name resolution", "nodename nor servname")


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 12:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _teleservice_reason(error: BaseException) -> Reason:
    chain = _chain(error)
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, (requests.exceptions.SSLError, ssl.SSLError)) for e in chain):
        return Reason.CERTIFICATE_REFUSED
    for e in chain:
        if isinstance(e, socket.gaierror) or (isinstance(e, OSError) and e.errno in _NETWORK_ERRNOS):
            return Reason.NETWORK_DOWN
    if any(word in text for word in _NETWORK_WORDS):
        return Reason.NETWORK_DOWN
    if any(isinstance(e, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, TimeoutError))
           for e in chain) or "HTTP 5" in text or "injoignable" in text or "délai" in text or "pas de réponse" in text:
        return Reason.SERVICE_DOWN
    return Reason.SERVICE_ERROR


def problem_of(error: BaseException | None, service: str = "") -> Problem:
    """The desk's reason for a worker's failure; `service` names the teleservice that was asked."""
    if isinstance(error, CardSwappedError):
        return Problem(Reason.CARD_SWAPPED)
    if isinstance(error, ReaderError):
        return Problem(Reason.READER_UNREACHABLE, type(error).__name__)
    if isinstance(error, CardDataError):
        return Problem(Reason.CARD_DATA_INVALID, type(error).__name__)
    if isinstance(error, TeleserviceError):
        detail = scrub(str(error))[:160]
        if service and detail.startswith(f"{service} : "):
            detail = detail[len(service) + 3:]
        return Problem(_teleservice_reason(error), detail, service)
    return Problem(Reason.CONFIG_INCOMPLETE, scrub(str(error))[:160] if error else "?")
