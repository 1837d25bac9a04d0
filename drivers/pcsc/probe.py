"""Is pcscd there, and does it let this user in? A one-shot probe for diagnostics (`kiosk doctor`), apart from the
event-driven backend: it answers with a state the caller words for its users, never raises for pcscd's faults."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

__all__ = ["PCSCD_SOCKET", "PcscdState", "PcscdStatus", "probe_pcscd"]

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")


class PcscdState(StrEnum):
    SOCKET_MISSING = "socket_missing"  # pcscd not installed, or its socket unit not started
    UNREACHABLE = "unreachable"  # the socket exists but nobody answers (pcscd crashed, stale file)
    REFUSED = "refused"  # pcscd answers but refuses a context (polkit)
    LIST_FAILED = "list_failed"  # context granted, readers not listed
    OK = "ok"


@dataclass(frozen=True)
class PcscdStatus:
    state: PcscdState
    socket: Path
    readers: tuple[str, ...] = ()
    reason: str = ""  # the OS or PC/SC error text, for the technician

    @property
    def ok(self) -> bool:
        return self.state is PcscdState.OK


def probe_pcscd(socket_path: Path = PCSCD_SOCKET, timeout: float = 5.0) -> PcscdStatus:
    """Connect to pcscd's socket, then ask PC/SC for a context and the reader list."""
    if not socket_path.exists():
        return PcscdStatus(PcscdState.SOCKET_MISSING, socket_path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(timeout)
    try:
        probe.connect(str(socket_path))
    except OSError as e:
        return PcscdStatus(PcscdState.UNREACHABLE, socket_path, reason=str(e.strerror or e))
    finally:
        probe.close()
    from smartcard import scard

    rc, hcontext = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if rc != scard.SCARD_S_SUCCESS:
        return PcscdStatus(PcscdState.REFUSED, socket_path, reason=scard.SCardGetErrorMessage(rc).strip())
    try:
        rc, readers = scard.SCardListReaders(hcontext, [])
    finally:
        scard.SCardReleaseContext(hcontext)
    if rc == scard.SCARD_E_NO_READERS_AVAILABLE:
        readers = []
    elif rc != scard.SCARD_S_SUCCESS:
        return PcscdStatus(PcscdState.LIST_FAILED, socket_path, reason=scard.SCardGetErrorMessage(rc).strip())
    return PcscdStatus(PcscdState.OK, socket_path, tuple(readers))
