"""BER-TLV, strict: the card data of Vitale and CPx (and PKCS#15 on CPx) is BER-TLV, and a reader must
refuse a truncated or inconsistent structure rather than guess (every failure is a `CardDataError`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from drivers.errors import CardDataError

__all__ = ["Tlv", "find", "find_all", "parse"]


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int  # the tag bytes as one integer (0x65, 0x7F21, 0xBF8101...)
    value: bytes
    constructed: bool

    @property
    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise CardDataError(f"l'objet {self.tag:X} n'est pas construit")
        return parse(self.value)


def _read(data: bytes, pos: int) -> tuple[Tlv, int]:
    start = pos
    first = data[pos]
    pos += 1
    tag = first
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise CardDataError(f"TLV tronqué : étiquette incomplète à l'octet {start}")
            tag = tag << 8 | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
            if pos - start > 4:
                raise CardDataError(f"TLV invalide : étiquette trop longue à l'octet {start}")
    if pos >= len(data):
        raise CardDataError(f"TLV tronqué : longueur absente pour l'étiquette {tag:X}")
    length = data[pos]
    pos += 1
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 3:
            raise CardDataError(f"TLV invalide : longueur sur {n} octets pour l'étiquette {tag:X}")
        if pos + n > len(data):
            raise CardDataError(f"TLV tronqué : longueur incomplète pour l'étiquette {tag:X}")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise CardDataError(
            f"TLV tronqué : l'étiquette {tag:X} annonce {length} octets, il en reste {len(data) - pos}"
        )
    return Tlv(tag, bytes(data[pos : pos + length]), bool(first & 0x20)), pos + length


def parse(data: bytes) -> list[Tlv]:
    """Every top-level object in `data`. Padding bytes 00/FF between objects (ISO 7816-4) are skipped."""
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF):
            pos += 1
            continue
        tlv, pos = _read(data, pos)
        out.append(tlv)
    return out


def _walk(objects: list[Tlv]) -> Iterator[Tlv]:
    for obj in objects:
        yield obj
        if obj.constructed:
            yield from _walk(obj.children)


def find_all(objects: list[Tlv], tag: int) -> list[Tlv]:
    """Every object with `tag`, depth first."""
    return [o for o in _walk(objects) if o.tag == tag]


def find(objects: list[Tlv], tag: int) -> Tlv | None:
    return next((o for o in _walk(objects) if o.tag == tag), None)
