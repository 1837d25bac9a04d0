"""A virtual CPS3 card: EF.SN.ICC, a PKCS#15 tree (EF.DIR, ODF, CDF, certificate EFs) laid out as
`drivers.cards.cpx_layout` says, and a PIN with a try counter (3 tries, blocked at 0)."""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.cards import cpx_layout as L
from drivers.sim.iso import Df, Ef, IsoCard, sw
from drivers.sim.pki import Holder, holder_certificate
from drivers.sim.vitale_card import _tlv

__all__ = ["CPS3_ATR", "VirtualCpx"]

CPS3_ATR = bytes.fromhex("3BAC00402A001225006480000310009000")
AID_CPS3 = bytes.fromhex("E828BD080F80250000 01FF0010".replace(" ", ""))
MAX_TRIES = 3


def _cdf_entry(label: str, cert_id: int, path: bytes) -> bytes:
    common = _tlv(0x30, _tlv(0x0C, label.encode("utf-8")))
    cert_attrs = _tlv(0x30, _tlv(0x04, bytes((cert_id,))))
    type_attrs = _tlv(0xA1, _tlv(0x30, _tlv(0x30, _tlv(0x04, path))))
    return _tlv(0x30, common + cert_attrs + type_attrs)


@dataclass
class VirtualCpx(IsoCard):
    holder: Holder
    serial: str  # 10 digits, the PAN after the ANS issuer prefix
    pin: str = "1234"
    tries_left: int = MAX_TRIES
    atr: bytes = CPS3_ATR
    label: str = "CPx"
    verified: bool = field(default=False, init=False)

    _fci_needs_0c = True

    def __post_init__(self) -> None:
        if len(self.serial) != 10 or not self.serial.isdigit():
            raise ValueError("serial: 10 digits")
        pan = bytes.fromhex(L.ANS_ISSUER_PREFIX + self.serial)
        auth = holder_certificate(self.holder)
        sign = holder_certificate(Holder(self.holder.idnat, self.holder.surname, self.holder.given_name,
                                         self.holder.title + " (signature)", self.holder.organisation,
                                         self.holder.organisation_id))
        cdf = (_cdf_entry("Certificat de Signature", 2, bytes.fromhex("3F0000018F02"))
               + _cdf_entry("Certificat d'Authentification", 1, bytes.fromhex("8F01")))
        odf = _tlv(0xA4, _tlv(0x30, _tlv(0x04, bytes.fromhex("3F0000017004"))))
        dir_ = _tlv(0x61, _tlv(0x4F, AID_CPS3) + _tlv(0x50, b"CPS3 IAS") + _tlv(0x51, L.APP_PATH))
        self.mf = Df(0x3F00, children=[
            Ef(0x2F00, dir_),
            Ef(0xD003, b"\x5A\x0A" + pan),
            Df(0x0001, aid=AID_CPS3, children=[
                Ef(0x5031, odf), Ef(0x5032, _tlv(0x30, _tlv(0x0C, b"CPS3"))), Ef(0x7004, cdf),
                Ef(0x8F01, auth), Ef(0x8F02, sign),
            ]),
        ])
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.verified = False

    def extra(self, cla: int, ins: int, p1: int, p2: int, body: bytes) -> bytes:
        if ins == 0x20:
            return self._verify(p2, body)
        if ins == 0xCB and p1 == 0x3F and p2 == 0xFF:
            counter = _tlv(0x9A, bytes((MAX_TRIES,))) + _tlv(0x9B, bytes((self.tries_left,)))
            return sw(0x9000, _tlv(0x70, _tlv(0xBF8101, _tlv(0xA0, counter))))
        return sw(0x6D00)

    def _verify(self, reference: int, body: bytes) -> bytes:
        if reference != L.PIN_REFERENCE:
            return sw(0x6A88)
        if self.tries_left == 0:
            return sw(0x6983)
        if not body:
            return sw(0x63C0 | self.tries_left)
        data = self._lc_data(body)
        if data is None:
            return sw(0x6700)
        if data == self.pin.encode("ascii"):
            self.tries_left, self.verified = MAX_TRIES, True
            return sw(0x9000)
        self.tries_left -= 1
        return sw(0x63C0 | self.tries_left)

    def __repr__(self) -> str:
        return f"VirtualCpx({self.label!r})"
