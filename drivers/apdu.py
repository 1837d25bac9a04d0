"""APDU exchange with T=0 status handling, shared by every card application.

Backends return the raw response (`CardChannel.transmit`); this layer turns `61xx` (more data waiting)
into GET RESPONSE calls and `6Cxx` (wrong Le) into one resend with the length the card asked for, so the
card parsers see one `Response` per command whatever the transport and protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.base import CardChannel
from drivers.errors import CardDataError, ReaderError

__all__ = ["STATUS_TEXT", "CountingChannel", "Response", "command", "exchange"]

MAX_GET_RESPONSE = 64  # a card answering 61xx forever is broken: stop after this many GET RESPONSE (~16 KiB)

STATUS_TEXT = {
    0x6281: "données éventuellement corrompues",
    0x6282: "fin de fichier atteinte",
    0x6700: "longueur incorrecte",
    0x6982: "condition de sécurité non satisfaite",
    0x6983: "méthode d'authentification bloquée",
    0x6984: "données de référence invalidées",
    0x6985: "conditions d'utilisation non satisfaites",
    0x6A82: "fichier ou application introuvable",
    0x6A86: "paramètres P1-P2 incorrects",
    0x6B00: "déplacement hors du fichier",
    0x6D00: "instruction non supportée",
    0x6E00: "classe non supportée",
}


@dataclass(frozen=True, slots=True)
class Response:
    data: bytes
    sw: int  # SW1 << 8 | SW2

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000

    def describe(self) -> str:
        return f"{self.sw:04X} ({STATUS_TEXT.get(self.sw, 'statut inattendu')})"

    def expect_ok(self, what: str) -> bytes:
        """The data, or `CardDataError` naming the step that failed and the status word."""
        if not self.ok:
            raise CardDataError(f"{what} : la carte a répondu {self.describe()}")
        return self.data


def command(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    """A short APDU (cases 1-4). `le=0` asks for up to 256 bytes."""
    apdu = bytes((cla, ins, p1, p2))
    if data:
        if len(data) > 255:
            raise ValueError("short APDU data is at most 255 bytes")
        apdu += bytes((len(data),)) + data
    if le is not None:
        apdu += bytes((le & 0xFF,))
    return apdu


def _split(raw: bytes) -> tuple[bytes, int]:
    if not raw:  # no card answers nothing: the transport lost it (vpcd does this when the card is pulled)
        raise ReaderError("aucune réponse de la carte (retirée pendant l'échange ?)")
    if len(raw) < 2:
        raise CardDataError(f"réponse de la carte trop courte ({len(raw)} octet(s), statut absent)")
    return raw[:-2], raw[-2] << 8 | raw[-1]


def exchange(channel: CardChannel, apdu: bytes) -> Response:
    """Send `apdu`; follow `61xx` with GET RESPONSE (same CLA) and resend once on `6Cxx`."""
    data, sw = _split(channel.transmit(apdu))
    if sw >> 8 == 0x6C:
        if len(apdu) < 5:
            raise CardDataError(f"la carte demande Le={sw & 0xFF} pour une commande sans Le")
        data, sw = _split(channel.transmit(apdu[:-1] + bytes((sw & 0xFF,))))
    chunks = [data]
    for _ in range(MAX_GET_RESPONSE):
        if sw >> 8 != 0x61:
            return Response(b"".join(chunks), sw)
        more, sw = _split(channel.transmit(bytes((apdu[0], 0xC0, 0x00, 0x00, sw & 0xFF))))
        chunks.append(more)
    raise CardDataError("la carte annonce des données sans fin (61xx répété)")


class CountingChannel(CardChannel):
    """Counts the APDUs really sent (benchmarks, "only the APDUs needed" checks); the rest goes to `channel`,
    which its caller still owns (`close` does nothing)."""

    def __init__(self, channel: CardChannel) -> None:
        self.channel, self.count = channel, 0
        self.atr, self.reader, self.card_counter = channel.atr, channel.reader, channel.card_counter

    def transmit(self, apdu: bytes) -> bytes:
        self.count += 1
        return self.channel.transmit(apdu)

    def begin_transaction(self) -> None:
        self.channel.begin_transaction()

    def end_transaction(self) -> None:
        self.channel.end_transaction()

    def close(self) -> None:
        pass

    def current_counter(self) -> int | None:
        return self.channel.current_counter()
