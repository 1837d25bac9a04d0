"""CCID messages (USB CCID class spec, section 6) as the serial Twin family carries them.

Pure data: building host commands and parsing reader answers; the line framing is in `frame.py`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.serial.frame import HEADER_SIZE, MAX_MESSAGE, FrameError

__all__ = ["Command", "IccStatus", "Response", "ResponseType", "build", "error_text", "parse_response"]


class Command(enum.IntEnum):
    SET_PARAMETERS = 0x61
    POWER_ON = 0x62
    POWER_OFF = 0x63
    GET_SLOT_STATUS = 0x65
    ESCAPE = 0x6B
    GET_PARAMETERS = 0x6C
    XFR_BLOCK = 0x6F


class ResponseType(enum.IntEnum):
    DATA_BLOCK = 0x80
    SLOT_STATUS = 0x81
    PARAMETERS = 0x82
    ESCAPE = 0x83


ANSWER_TO = {
    Command.POWER_ON: ResponseType.DATA_BLOCK,
    Command.XFR_BLOCK: ResponseType.DATA_BLOCK,
    Command.POWER_OFF: ResponseType.SLOT_STATUS,
    Command.GET_SLOT_STATUS: ResponseType.SLOT_STATUS,
    Command.ESCAPE: ResponseType.ESCAPE,
    Command.SET_PARAMETERS: ResponseType.PARAMETERS,
    Command.GET_PARAMETERS: ResponseType.PARAMETERS,
}


class IccStatus(enum.IntEnum):
    ACTIVE = 0  # present and powered
    INACTIVE = 1  # present, not powered
    ABSENT = 2


COMMAND_FAILED = 0x40
TIME_EXTENSION = 0x80

ERRORS = {
    0xFF: "commande interrompue",
    0xFE: "carte muette (pas de réponse)",
    0xFD: "erreur de parité",
    0xFC: "débordement",
    0xFB: "erreur matérielle du lecteur",
    0xF8: "ATR invalide (TS)",
    0xF7: "ATR invalide (TCK)",
    0xF6: "protocole de la carte non géré",
    0xF5: "classe de tension non gérée",
    0xF4: "conflit d'octet de procédure",
    0xF3: "protocole désactivé",
    0xF2: "lecteur occupé (séquence automatique)",
    0xE0: "emplacement occupé",
    0x00: "commande non gérée par le lecteur",
}


def error_text(code: int) -> str:
    return ERRORS.get(code, f"erreur lecteur 0x{code:02X}")


def build(
    command: Command | int, seq: int, data: bytes = b"", slot: int = 0, specific: bytes = b"\x00\x00\x00"
) -> bytes:
    """One host message: type, dwLength (LE), bSlot, bSeq, 3 command-specific bytes, data."""
    if len(specific) != 3:
        raise ValueError("3 command-specific bytes expected")
    message = bytes((int(command),)) + len(data).to_bytes(4, "little") + bytes((slot, seq & 0xFF)) + specific + data
    if len(message) > MAX_MESSAGE:
        raise FrameError(f"commande trop longue pour le lecteur ({len(data)} octets de données)")
    return message


@dataclass(frozen=True, slots=True)
class Response:
    type: int
    slot: int
    seq: int
    status: int
    error: int
    specific: int
    data: bytes

    @property
    def icc(self) -> IccStatus:
        value = self.status & 0x03
        return IccStatus(value) if value in (0, 1, 2) else IccStatus.ABSENT

    @property
    def failed(self) -> bool:
        return self.status & 0xC0 == COMMAND_FAILED

    @property
    def time_extension(self) -> bool:
        return self.status & 0xC0 == TIME_EXTENSION


def parse_response(message: bytes) -> Response:
    """A reader message (header + data), as delivered by the frame decoder."""
    if len(message) < HEADER_SIZE:
        raise FrameError(f"réponse CCID trop courte ({len(message)} octets)")
    length = int.from_bytes(message[1:5], "little")
    if length != len(message) - HEADER_SIZE:
        raise FrameError("longueur de réponse CCID incohérente")
    return Response(message[0], message[5], message[6], message[7], message[8], message[9], bytes(message[10:]))
