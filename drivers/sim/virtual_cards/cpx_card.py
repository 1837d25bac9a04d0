"""Virtual CPx cards: CPS3 (contact and contactless) and CPS4, shaped like the real chips the public references
show (`drivers.cards.cpx_layout` names the source of each fact), so that a reader or the official Cryptolib that
would fail on a real card fails on these too.

- EF.SN.ICC: `5A 0A 80 25 00 00 01 <serial, 8 digits> <Luhn digit> F` (OpenSC issue #2275).
- FCPs with the real chip's tags (`drivers.sim.virtual_cards.iso`), PKCS#15: EF.DIR, EF.ATR, ODF, TokenInfo, CDF,
  PrKDF, AODF.
- PIN: 3 tries, blocked at 0, its reference in the AODF; CPS3 contact reports a usage counter (`9D`) when given.
- CPS4: the ChipDoc applet on logical channel 1 (CLA 01); `68 81` until it is selected; T=1 or T=0 by ATR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.cards import cpx_layout as L
from drivers.sim.pki import Holder, holder_certificate
from drivers.sim.virtual_cards.iso import Df, Ef, IsoCard, sw
from drivers.sim.virtual_cards.vitale_card import tlv

__all__ = ["CPS3_ATR", "CPS3_CL_ATR", "CPS4_ATRS", "VirtualCps4", "VirtualCpx"]

CPS3_ATR = bytes.fromhex("3BAC00402A001225006480000310009000")
CPS3_CL_ATR = bytes.fromhex("3B8F80010031B86404B0ECC1739401808290000E")
CPS4_ATRS = {  # the official library's CPS_ATR_LIST (card-cps.c)
    "contact": bytes.fromhex("3B9B188001001225006480040100009044"),
    "rc": bytes.fromhex("3B9B188001001225006480000401009044"),
    "t0": bytes.fromhex("3BDC18FF00001225006480000401009000"),
}
# EF.ATR of a real CPx (OpenSC issue #2223), the leading 80 byte included.
EF_ATR = bytes.fromhex(
    "80 43 01 B8 46 04 04 B0 EC C1 47 03 94 01 80 4F 08 80 25 00 00 01 FF 01 00 E0 10 02 02 01 04 02 02 01 04 02 02"
    " 01 00 02 02 01 00 78 08 06 06 2B 81 22 F8 78 02 82 02 90 00")
# Security attributes a real CPx gives EF.DIR and EF.ATR (OpenSC issue #2223).
EF_DIR_SECURITY = bytes.fromhex("A1128C077B45FFFFFF45009C077BFFFFFFFFFF00")
MAX_TRIES = 3


def _cdf_entry(label: str, cert_id: int, path: bytes) -> bytes:
    common = tlv(0x30, tlv(0x0C, label.encode("utf-8")))
    cert_attrs = tlv(0x30, tlv(0x04, bytes((cert_id,))))
    type_attrs = tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0x04, path))))
    return tlv(0x30, common + cert_attrs + type_attrs)


def _prkdf_entry(label: str, key_id: int, reference: int, auth_id: int) -> bytes:
    common = tlv(0x30, tlv(0x0C, label.encode("utf-8")) + tlv(0x04, bytes((auth_id,))))
    key_attrs = tlv(0x30, tlv(0x04, bytes((key_id,))) + tlv(0x03, b"\x06\x20\x40") + tlv(0x02, bytes((reference,))))
    type_attrs = tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0x04, b"")) + tlv(0x02, b"\x08\x00")))
    return tlv(0x30, common + key_attrs + type_attrs)


def _aodf_entry(label: str, auth_id: int, reference: int) -> bytes:
    common = tlv(0x30, tlv(0x0C, label.encode("utf-8")) + tlv(0x03, b"\x07\x80"))
    auth = tlv(0x30, tlv(0x04, bytes((auth_id,))))
    pin = (tlv(0x03, b"\x03\x48")  # pinFlags: local, initialized
           + tlv(0x0A, b"\x01")  # ascii-numeric
           + tlv(0x02, b"\x04") + tlv(0x02, b"\x04") + tlv(0x02, b"\x04")  # min, stored, max length
           + tlv(0x80, bytes((reference,))))  # pinReference
    return tlv(0x30, common + auth + tlv(0xA1, tlv(0x30, pin)))


def _token_info(serial: str, label: str) -> bytes:
    flags = tlv(0x03, b"\x06\x40")  # tokenflags: loginRequired
    return tlv(0x30, tlv(0x02, b"\x00") + tlv(0x04, serial.encode("ascii")) + tlv(0x0C, b"ASIP-SANTE")
                + tlv(0x80, label.encode("utf-8")) + flags)


@dataclass
class VirtualCpx(IsoCard):
    """A CPS3 (contact by default; `contactless=True`: the contactless application and its technical certificate)."""

    holder: Holder
    serial: str  # 8 digits: the PAN after the ANS issuer prefix, before the Luhn digit
    pin: str = "1234"
    tries_left: int = MAX_TRIES
    pin_reference: int = 0x01
    usage_left: int | None = None  # CPS3 contact `9D`; None: not reported
    contactless: bool = False
    atr: bytes = CPS3_ATR
    label: str = "CPx"
    bad_luhn: bool = False  # write a wrong check digit (a test of "say so, never refuse")
    verified: bool = field(default=False, init=False)

    _fci_needs_0c = True

    def __post_init__(self) -> None:
        if len(self.serial) != 8 or not self.serial.isdigit():
            raise ValueError("serial: 8 digits")
        if self.contactless and self.atr == CPS3_ATR:
            self.atr = CPS3_CL_ATR
        sn = L.encode_pan(self.serial)
        if self.bad_luhn:
            sn = sn[:-1] + bytes(((((sn[-1] >> 4) + 1) % 10) << 4 | 0x0F,))
        self.mf = Df(0x3F00, children=[
            Ef(0x2F00, self._ef_dir(), sfi=0x1E, security=EF_DIR_SECURITY),
            Ef(0x2F01, EF_ATR, sfi=0x1D, security=EF_DIR_SECURITY), Ef(0xD003, sn, sfi=0x1C),
            self._application(),
        ])
        super().__init__()

    # -- the PKCS#15 application -----------------------------------------------------------------------------
    @property
    def aid(self) -> bytes:
        return L.AID_CPS3_CONTACTLESS if self.contactless else L.AID_CPS3

    def _ef_dir(self) -> bytes:
        return tlv(0x61, tlv(0x4F, self.aid) + tlv(0x50, b"CPS") + tlv(0x51, L.MF + L.APP_FID))

    def _application(self) -> Df:
        h = self.holder
        odf_entries = [(0xA4, "7004"), (0xA0, "7002")]
        if self.contactless:  # only the technical certificate; no PIN on this interface (ASSUMPTION, see layout)
            certs = [("Certificat Technique CPS", 1, "8F01", h)]
            aodf = b""
        else:
            certs = [("Certificat d'Authentification CPS", 1, "8F01", h), ("Certificat de Signature CPS", 2, "8F02", h)]
            aodf = _aodf_entry("Code porteur", 1, self.pin_reference)
            odf_entries.append((0xA8, "7001"))
        cdf = b"".join(_cdf_entry(label, cid, bytes.fromhex(path)) for label, cid, path, _ in certs)
        prkdf = b"".join(_prkdf_entry(label.replace("Certificat", "Clé"), cid, 0x80 + cid, 1)
                         for label, cid, _, _ in certs)
        odf = b"".join(
            tlv(tag, tlv(0x30, tlv(0x04, L.MF + L.APP_FID + bytes.fromhex(fid)))) for tag, fid in odf_entries
        )
        children: list[Ef | Df] = [
            Ef(0x5031, odf), Ef(0x5032, _token_info(self.serial, "CPS")), Ef(0x7004, cdf), Ef(0x7002, prkdf),
            *(Ef(int(path, 16), holder_certificate(holder)) for _, _, path, holder in certs),
        ]
        if aodf:
            children.append(Ef(0x7001, aodf))
        return Df(0x0001, aid=self.aid, children=children)

    def reset(self) -> None:
        super().reset()
        self.verified = False

    # -- card commands -----------------------------------------------------------------------------------------
    def _read_binary(self, p1: int, p2: int, body: bytes) -> bytes:
        if self.contactless and self.ef is not None and self.ef.fid == int.from_bytes(L.CONTACT_PROBE_FID, "big"):
            return sw(0x6982)  # the contact-only file: how the official library tells the contactless interface
        return super()._read_binary(p1, p2, body)

    def extra(self, cla: int, ins: int, p1: int, p2: int, body: bytes) -> bytes:
        if ins == 0x20:
            return self._verify(p2, body)
        if ins == 0xCB and p1 == 0x3F and p2 == 0xFF:
            return self._get_data(body)
        return sw(0x6D00)

    def _counter_do(self) -> bytes:
        counters = tlv(0x9A, bytes((MAX_TRIES,))) + tlv(0x9B, bytes((self.tries_left,)))
        if self.usage_left is not None:
            counters += tlv(0x9D, self.usage_left.to_bytes(2, "big"))
        # A0 { 9A 9B [9D] A1 {8C ...} } as the real CPS3 answers it (OpenSC issue #2275)
        inner = tlv(0xA0, counters + bytes.fromhex("A1088C06F3000013FF00"))
        return tlv(0x70, tlv(0xBF8100 | self.pin_reference, inner))

    def _get_data(self, body: bytes) -> bytes:
        data = self._lc_data(body)
        if data is None or len(data) != 10 or data[:6] != bytes.fromhex("4D087006BF81"):
            return sw(0x6A80)
        if data[6] != self.pin_reference or self.contactless:
            return sw(0x6A88)
        answer = self._counter_do()
        if not self.t0:
            return sw(0x9000, answer)
        self._pending = answer
        return sw(0x6100 | len(answer))

    def _verify(self, reference: int, body: bytes) -> bytes:
        if reference != self.pin_reference or self.contactless:
            return sw(0x6A88)
        if self.tries_left == 0 or self.usage_left == 0:
            return sw(0x6983)
        data = self._lc_data(body)
        if data is None:
            return sw(0x6700)
        if not data:  # no PIN (case 1, or P3=00 on T=0): the try counter, nothing spent
            return sw(0x63C0 | self.tries_left)
        if data == self.pin.encode("ascii"):
            self.tries_left, self.verified = MAX_TRIES, True
            if self.usage_left is not None:
                self.usage_left -= 1
            return sw(0x9000)
        self.tries_left -= 1
        return sw(0x63C0 | self.tries_left)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"


@dataclass
class VirtualCps4(VirtualCpx):
    """A CPS4: CLA 01 commands (logical channel 1) answer `68 81` until ChipDoc is selected with CLA 01; the basic
    channel (CLA 00) reaches the same files, as the real card of OpenSC issue #2223 does. The IDS and CPS2ter
    applets exist only as far as the official library's fall-back needs them (their SELECT answers 9000).
    `atr_kind`: contact (T=1), rc (T=1), t0 (T=0 only)."""

    atr_kind: str = "contact"
    pin_reference: int = 0x81  # ASSUMPTION: an IAS-ECC local PIN; the point is that readers take it from the AODF
    channel_open: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.atr = CPS4_ATRS[self.atr_kind]
        self.t0 = self.atr_kind == "t0"
        super().__post_init__()

    def reset(self) -> None:
        super().reset()
        self.channel_open = False

    def process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return sw(0x6700)
        cla, ins = apdu[0], apdu[1]
        if ins == 0xA4 and apdu[2] == 0x04:
            aid = self._lc_data(apdu[4:])
            if aid in (L.AID_IDS, L.AID_CPS2TER):
                return sw(0x9000)
            if aid == L.AID_CHIPDOC:  # CLA 01 opens channel 1; CLA 00 works on the basic channel (#2223)
                self.channel_open = self.channel_open or cla == 0x01
                self.df, self.ef, self._pending = self.mf, None, b""
                return sw(0x9000)
        if cla == 0x01 and not self.channel_open:
            return sw(L.SW_CHANNEL_CLOSED)
        if cla not in (0x00, 0x01):
            return sw(0x6E00)
        return super().process(apdu)  # the basic channel reaches the same files (OpenSC issue #2223: CLA 00)

    def _get_data(self, body: bytes) -> bytes:
        return sw(0x6D00)  # the try counter is read with an empty VERIFY on a CPS4
