"""An ESC/POS reader for the tests, written from Epson's ESC/POS command reference (TM-T20/T88 series), not from
python-escpos: it turns the bytes a receipt printer receives into what the printer would do with them, and
refuses any command it does not know, so a wrong byte shows instead of printing garbage.

Commands read: ESC @ (initialise), ESC t n (character code table), ESC E/- /M/a/{/! n and GS !/B/b n (text
style), LF, ESC d n / ESC J n (feed), GS V m [n] (cut), GS ( k (QR code: model, module size, error correction,
store, print), GS v 0 (raster bit image), DLE EOT n (real-time status request).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

ESC, GS, DLE, LF = 0x1B, 0x1D, 0x10, 0x0A

# ESC t n: Epson's character code tables (page 0 = PC437 ... 16 = WPC1252, 19 = PC858), as Python codecs
CODE_TABLES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866", 18: "cp852",
               19: "cp858", 40: "iso8859_15"}
ONE_BYTE_ARG = {(ESC, ord("E")): "bold", (ESC, ord("-")): "underline", (ESC, ord("M")): "font",
                (ESC, ord("a")): "align", (ESC, ord("{")): "upside_down", (ESC, ord("!")): "print_mode",
                (GS, ord("!")): "char_size", (GS, ord("B")): "reverse", (GS, ord("b")): "smoothing",
                (ESC, ord("d")): "feed_lines", (ESC, ord("J")): "feed_dots"}
QR_ECC = {48: "L", 49: "M", 50: "Q", 51: "H"}


class EscPosSyntaxError(ValueError):
    pass


@dataclass
class QrCode:
    model: int = 0
    module: int = 0
    ecc: str = ""
    data: bytes = b""
    printed: bool = False


@dataclass
class Raster:
    width_bytes: int
    height: int
    bits: bytes

    def png(self) -> bytes:
        from PIL import Image

        image = Image.frombytes("1", (self.width_bytes * 8, self.height), bytes(b ^ 0xFF for b in self.bits))
        image = image.resize((image.width * 4, image.height * 4))  # white border for the decoder
        framed = Image.new("1", (image.width + 80, image.height + 80), 1)
        framed.paste(image, (40, 40))
        out = io.BytesIO()
        framed.save(out, "PNG")
        return out.getvalue()


@dataclass
class Receipt:
    """What the printer did, in order: `events` like ("init",), ("codepage", 16), ("text", "…"), ("cut", 0)."""

    events: list[tuple] = field(default_factory=list)
    qr_codes: list[QrCode] = field(default_factory=list)
    rasters: list[Raster] = field(default_factory=list)
    status_requests: list[int] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [e[1] for e in self.events if e[0] == "text"]

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


class EscPosReader:
    """Incremental: `feed()` bytes as they arrive; returns the DLE EOT requests seen in them (to be answered)."""

    def __init__(self) -> None:
        self.receipt = Receipt()
        self._buf = bytearray()
        self._text = bytearray()
        self._codec = CODE_TABLES[0]  # the printer's power-on table
        self._qr: QrCode | None = None

    def feed(self, data: bytes) -> list[int]:
        self._buf += data
        requests: list[int] = []
        while self._buf:
            used = self._command(requests)
            if used == 0:
                break  # incomplete command: wait for more bytes
            del self._buf[:used]
        return requests

    def close(self) -> Receipt:
        if self._buf:
            raise EscPosSyntaxError(f"stream ends inside a command: {bytes(self._buf[:16]).hex(' ')}")
        self._flush_text(force=False)
        return self.receipt

    # ---- one command from the front of the buffer: bytes used, 0 if incomplete ----
    def _command(self, requests: list[int]) -> int:
        b = self._buf
        first = b[0]
        if first == LF:
            self._flush_text(force=True)
            return 1
        if first >= 0x20:
            self._text.append(first)
            return 1
        if len(b) < 2:
            return 0
        pair = (first, b[1])
        if first == DLE and b[1] == 0x04:
            if len(b) < 3:
                return 0
            self.receipt.status_requests.append(b[2])
            requests.append(b[2])
            return 3
        if first not in (ESC, GS):
            raise EscPosSyntaxError(f"unknown control byte 0x{first:02x}")
        self._flush_text(force=False)
        if pair == (ESC, ord("@")):
            self._codec = CODE_TABLES[0]
            self.receipt.events.append(("init",))
            return 2
        if pair in ONE_BYTE_ARG or pair == (ESC, ord("t")):
            if len(b) < 3:
                return 0
            if pair == (ESC, ord("t")):
                if b[2] not in CODE_TABLES:
                    raise EscPosSyntaxError(f"ESC t {b[2]}: code table unknown to this reader")
                self._codec = CODE_TABLES[b[2]]
                self.receipt.events.append(("codepage", b[2]))
            else:
                self.receipt.events.append((ONE_BYTE_ARG[pair], b[2]))
            return 3
        if pair == (GS, ord("V")):
            if len(b) < 3:
                return 0
            m = b[2]
            if m in (0, 1, 48, 49):
                self.receipt.events.append(("cut", m))
                return 3
            if m in (65, 66, 97, 98, 103, 104):
                if len(b) < 4:
                    return 0
                self.receipt.events.append(("cut", m))
                return 4
            raise EscPosSyntaxError(f"GS V {m}: unknown cut")
        if pair == (GS, ord("(")):
            return self._gs_paren(b)
        if pair == (GS, ord("v")):
            return self._raster(b)
        raise EscPosSyntaxError(f"unknown command {bytes(b[:3]).hex(' ')}")

    def _gs_paren(self, b: bytearray) -> int:
        if len(b) < 5:
            return 0
        if b[2] != ord("k"):
            raise EscPosSyntaxError(f"GS ( {chr(b[2])!r}: only GS ( k (2D codes) is read")
        size = b[3] + 256 * b[4]
        if len(b) < 5 + size:
            return 0
        cn, fn, params = b[5], b[6], bytes(b[7:5 + size])
        if cn != 49:
            raise EscPosSyntaxError(f"GS ( k cn={cn}: only QR codes (cn 49) are read")
        qr = self._qr or QrCode()
        self._qr = qr
        if fn == 65:  # select the model: n1 = 49/50/51 (model 1, 2, micro), n2 = 0
            qr.model = params[0] - 48
        elif fn == 67:  # module size in dots, 1..16
            qr.module = params[0]
        elif fn == 69:  # error correction level
            qr.ecc = QR_ECC[params[0]]
        elif fn == 80:  # store the data: m = 48, then the bytes
            if params[:1] != b"0":
                raise EscPosSyntaxError("GS ( k fn 80: m must be 48")
            qr.data = params[1:]
        elif fn == 81:  # print the stored symbol
            if not qr.data:
                raise EscPosSyntaxError("GS ( k fn 81 with no data stored")
            qr.printed = True
            self.receipt.qr_codes.append(qr)
            self.receipt.events.append(("qr", qr.data.decode("latin-1")))
            self._qr = None
        else:
            raise EscPosSyntaxError(f"GS ( k QR function {fn} unknown to this reader")
        return 5 + size

    def _raster(self, b: bytearray) -> int:
        if len(b) < 8:
            return 0
        if b[2] != 0x30 or b[3] not in (0, 1, 2, 3, 48, 49, 50, 51):
            raise EscPosSyntaxError(f"GS v {bytes(b[2:4]).hex(' ')}: only GS v 0 m is read")
        width, height = b[4] + 256 * b[5], b[6] + 256 * b[7]
        if len(b) < 8 + width * height:
            return 0
        raster = Raster(width, height, bytes(b[8:8 + width * height]))
        self.receipt.rasters.append(raster)
        self.receipt.events.append(("raster", (width * 8, height)))
        return 8 + width * height

    def _flush_text(self, force: bool) -> None:
        if self._text or force:
            self.receipt.events.append(("text", bytes(self._text).decode(self._codec)))
            self._text.clear()


def read_receipt(data: bytes) -> Receipt:
    reader = EscPosReader()
    reader.feed(data)
    return reader.close()
