"""A small ISO 7816-4 chip for the virtual cards: a file tree, SELECT, READ BINARY, GET RESPONSE, and the
T=0 habits of real cards (`61xx` after a SELECT that returns FCP/FCI, `6Cxx` when Le is wrong), so the readers
in `drivers.cards` are exercised the way real chips exercise them."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Df", "Ef", "IsoCard", "sw"]


def sw(code: int, data: bytes = b"") -> bytes:
    return data + code.to_bytes(2, "big")


@dataclass
class Ef:
    fid: int
    data: bytes
    sfi: int | None = None
    security: bytes | None = None  # the FCP's A1 security attributes, when not the default


@dataclass
class Df:
    fid: int
    aid: bytes = b""
    children: list[Ef | Df] = field(default_factory=list)

    def child(self, fid: int) -> Ef | Df | None:
        return next((c for c in self.children if c.fid == fid), None)


class IsoCard:
    """Subclasses build `self.mf` and may handle more instructions in `extra()`."""

    atr: bytes
    mf: Df
    t0 = True  # T=0: data of a case-4 command waits for GET RESPONSE (61xx); T=1: it comes back at once

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.df: Df = self.mf
        self.ef: Ef | None = None
        self._pending = b""

    # -- the VirtualCard protocol
    def process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return sw(0x6700)
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if cla == 0xFF:
            return sw(0x6E00)
        if ins != 0xC0:
            self._pending = b""
        if ins == 0xA4:
            return self._select(p1, p2, body)
        if ins == 0xB0:
            return self._read_binary(p1, p2, body)
        if ins == 0xC0:
            return self._get_response(body)
        return self.extra(cla, ins, p1, p2, body)

    def extra(self, cla: int, ins: int, p1: int, p2: int, body: bytes) -> bytes:
        return sw(0x6D00)

    # -- helpers
    @staticmethod
    def _lc_data(body: bytes) -> bytes | None:
        if not body:
            return b""
        lc = body[0]
        if len(body) < 1 + lc or len(body) > 2 + lc:
            return None
        return body[1 : 1 + lc]

    def _all_dfs(self) -> list[Df]:
        out, todo = [], [self.mf]
        while todo:
            df = todo.pop()
            out.append(df)
            todo += [c for c in df.children if isinstance(c, Df)]
        return out

    def _select(self, p1: int, p2: int, body: bytes) -> bytes:
        data = self._lc_data(body)
        if data is None:
            return sw(0x6700)
        target: Ef | Df | None = None
        if p1 == 0x04:
            target = next((d for d in self._all_dfs() if d.aid and d.aid == data), None)
            if target is not None and p2 == 0x00 and self._fci_needs_0c:
                return sw(0x6A86)
        elif p1 in (0x00, 0x01, 0x02):
            if len(data) != 2 and not (p1 == 0x00 and not data):
                return sw(0x6700)
            fid = int.from_bytes(data, "big") if data else 0x3F00
            if fid == 0x3F00:
                target = self.mf
            else:
                target = self.df.child(fid) or self.mf.child(fid)
        elif p1 in (0x08, 0x09):
            if len(data) % 2 or not data:
                return sw(0x6700)
            fids = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
            node: Ef | Df | None = self.mf if fids[0] == 0x3F00 or p1 == 0x08 else self.df
            for fid in fids[1:] if fids[0] == 0x3F00 else fids:
                node = node.child(fid) if isinstance(node, Df) else None
            target = node
        else:
            return sw(0x6A86)
        if target is None:
            return sw(0x6A82)
        if isinstance(target, Df):
            self.df, self.ef = target, None
        else:
            self.ef = target
        if p2 & 0x0C == 0x0C:
            return sw(0x9000)
        fcp = self._fcp(target)
        if p2 & 0x0C == 0x00:  # P2=00: "return FCI" -> the same objects in an FCI template 6F
            fcp = b"\x6f" + fcp[1:]
        if not self.t0:
            return sw(0x9000, fcp)
        self._pending = fcp
        return sw(0x6100 | len(fcp))  # T=0: the FCP waits for GET RESPONSE

    _fci_needs_0c = False  # CPS3: selecting the application by AID requires P2=0C

    # Security attributes as a real CPS3 shows them for EF.SN.ICC (OpenSC issue #2275: `A1 12 8C 07 7B FF..`).
    _SECURITY = bytes.fromhex("A1128C077BFFFFFFFFFF009C077BFFFFFFFFFF00")

    @classmethod
    def _fcp(cls, node: Ef | Df) -> bytes:
        """FCP (P2=04; the same in a `6F` FCI for P2=00: OpenSC's ISO driver, which the official library uses for
        CPS4, accepts only `6F` for P2=00) shaped like a real IAS-ECC chip's (OpenSC issues #2275, #2223): `80` size,
        `82` descriptor
        (01 transparent EF, 38 DF), `83` id, `88` SFI when there is one, `A1` security, `8A 05` activated."""
        fid = b"\x83\x02" + node.fid.to_bytes(2, "big")
        if isinstance(node, Ef):
            inner = b"\x80\x02" + len(node.data).to_bytes(2, "big") + b"\x82\x01\x01" + fid
            if node.sfi is not None:
                inner += b"\x88\x01" + bytes(((node.sfi & 0x1F) << 3,))
        else:
            inner = b"\x82\x01\x38" + fid
            if node.aid:
                inner += b"\x84" + bytes((len(node.aid),)) + node.aid
        security = node.security if isinstance(node, Ef) and node.security else cls._SECURITY
        inner += security + b"\x8a\x01\x05"
        return b"\x62" + bytes((len(inner),)) + inner

    def _get_response(self, body: bytes) -> bytes:
        if not self._pending:
            return sw(0x6985)
        le = (body[0] or 256) if body else 256
        chunk, self._pending = self._pending[:le], self._pending[le:]
        return sw(0x6100 | min(len(self._pending), 255) if self._pending else 0x9000, chunk)

    def _read_binary(self, p1: int, p2: int, body: bytes) -> bytes:
        if len(body) != 1:
            return sw(0x6700)
        if p1 & 0x80:
            sfi = p1 & 0x1F
            ef = next((c for c in self.df.children if isinstance(c, Ef) and c.sfi == sfi), None)
            if ef is None:
                return sw(0x6A82)
            self.ef, offset = ef, p2
        else:
            if self.ef is None:
                return sw(0x6986)
            offset = (p1 & 0x7F) << 8 | p2
        data = self.ef.data
        if offset > len(data):
            return sw(0x6B00)
        available = data[offset:]
        le = body[0] or 256
        if le > len(available):
            if body[0] == 0 and available:
                return sw(0x6C00 | len(available))  # T=0: "wrong length, this many bytes are there"
            return sw(0x6282, available)
        return sw(0x9000, available[:le])
