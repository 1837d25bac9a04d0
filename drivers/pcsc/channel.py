"""A connection to one card through pcscd: SCardConnect / Transmit / Begin/EndTransaction on its own context.

Each channel owns a PC/SC context, so channels in different threads never share one (pcsc-lite contexts are
not meant to be used from several threads at once) and pcscd arbitrates their transactions.
"""

from __future__ import annotations

import logging

from smartcard import scard

from drivers.base import CardChannel
from drivers.errors import CardSwappedError, ReaderError

__all__ = ["PcscChannel", "open_channel", "reader_status"]

log = logging.getLogger(__name__)

_GONE = {scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD}
_SERVICE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE}


def _message(rc: int) -> str:
    return f"{scard.SCardGetErrorMessage(rc)} (0x{rc & 0xFFFFFFFF:08X})"


def reader_status(ctx: int, reader: str) -> tuple[bool, int, bytes]:
    """(card present, pcsc-lite event counter, ATR) now, without waiting. A mute card (inserted but not
    answering its reset) is present: the caller learns it from `SCardConnect`."""
    rc, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
    if rc != scard.SCARD_S_SUCCESS:
        raise ReaderError(f"état du lecteur {reader!r} illisible : {_message(rc)}")
    _, event, atr = states[0]
    return bool(event & scard.SCARD_STATE_PRESENT), (event >> 16) & 0xFFFF, bytes(atr)


class PcscChannel(CardChannel):
    def __init__(self, ctx: int, handle: int, protocol: int, reader: str, atr: bytes, counter: int) -> None:
        self._ctx, self._handle, self._protocol = ctx, handle, protocol
        self.reader, self.atr, self.card_counter = reader, atr, counter
        self._in_transaction = False
        self._closed = False

    def _check(self, rc: int, what: str) -> None:
        if rc == scard.SCARD_S_SUCCESS:
            return
        if rc in _GONE:
            raise CardSwappedError(f"la carte du lecteur {self.reader!r} a été retirée ({what})")
        if rc in _SERVICE:
            raise ReaderError(f"pcscd indisponible pendant {what} : {_message(rc)}")
        raise ReaderError(f"{what} sur le lecteur {self.reader!r} : {_message(rc)}")

    def transmit(self, apdu: bytes) -> bytes:
        if self._closed:
            raise ReaderError(f"canal fermé sur le lecteur {self.reader!r}")
        rc, response = scard.SCardTransmit(self._handle, self._protocol, list(apdu))
        self._check(rc, "l'échange avec la carte")
        return bytes(response)

    def begin_transaction(self) -> None:
        rc = scard.SCardBeginTransaction(self._handle)
        if rc == scard.SCARD_W_RESET_CARD:  # another program reset the card: same card, reconnect and retry
            rc, self._protocol = scard.SCardReconnect(self._handle, scard.SCARD_SHARE_SHARED,
                                                      scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
                                                      scard.SCARD_LEAVE_CARD)
            self._check(rc, "la reconnexion")
            rc = scard.SCardBeginTransaction(self._handle)
        self._check(rc, "l'ouverture de la transaction")
        self._in_transaction = True
        try:
            self.ensure_same_card()
        except ReaderError:
            self.end_transaction()
            raise

    def end_transaction(self) -> None:
        if self._in_transaction:
            self._in_transaction = False
            rc = scard.SCardEndTransaction(self._handle, scard.SCARD_LEAVE_CARD)
            if rc not in (scard.SCARD_S_SUCCESS, *_GONE, *_SERVICE):
                log.debug("SCardEndTransaction on %s: %s", self.reader, _message(rc))

    def close(self) -> None:
        if self._closed:
            return
        self.end_transaction()
        self._closed = True
        scard.SCardDisconnect(self._handle, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(self._ctx)

    def current_counter(self) -> int | None:
        if self._closed:
            return None
        try:
            present, counter, _ = reader_status(self._ctx, self.reader)
        except ReaderError:
            return None
        return counter if present else None


def open_channel(reader: str) -> PcscChannel:
    """Connect (shared mode) to the card in `reader`, with the insertion counter of that card."""
    rc, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if rc != scard.SCARD_S_SUCCESS:
        raise ReaderError(f"pcscd injoignable : {_message(rc)}")
    try:
        present, counter, _ = reader_status(ctx, reader)
        if not present:
            raise ReaderError(f"pas de carte dans le lecteur {reader!r}")
        rc, handle, protocol = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED,
                                                  scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if rc in (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE):
            raise ReaderError(f"lecteur {reader!r} absent")
        if rc in (scard.SCARD_W_UNRESPONSIVE_CARD, scard.SCARD_W_UNPOWERED_CARD, scard.SCARD_E_PROTO_MISMATCH):
            raise ReaderError(f"la carte du lecteur {reader!r} ne répond pas correctement (mal insérée, "
                              f"à l'envers, abîmée ou d'un protocole non pris en charge)")
        if rc != scard.SCARD_S_SUCCESS:
            raise ReaderError(f"connexion à la carte du lecteur {reader!r} impossible : {_message(rc)}")
        rc, _name, _state, _proto, atr = scard.SCardStatus(handle)
        _, after, _ = reader_status(ctx, reader)
        if rc != scard.SCARD_S_SUCCESS or after != counter:
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
            raise CardSwappedError(f"la carte du lecteur {reader!r} a changé pendant la connexion")
        return PcscChannel(ctx, handle, protocol, reader, bytes(atr), counter)
    except BaseException:
        scard.SCardReleaseContext(ctx)
        raise
