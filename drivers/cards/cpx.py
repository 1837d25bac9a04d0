"""Reading a CPx card (CPS / CPE / CPF): serial, the authentication certificate's holder, PIN verification.

Everything here is readable without the PIN except `verify_pin`. The PIN is taken as a `str` only to be
encoded into one APDU buffer that is wiped after use; it is never logged, stored or put in a message.
Where files live and what is assumed is in `cpx_layout`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from drivers.apdu import Response, command, exchange
from drivers.base import CardChannel
from drivers.cards import cpx_layout as L
from drivers.cards import tlv
from drivers.errors import CardDataError

__all__ = ["CpxCardData", "PinResult", "parse_certificate", "pin_tries", "read_cpx", "verify_pin"]

MAX_CERT = 8192  # bytes; an IGC-Santé certificate is under 2 KiB


@dataclass(frozen=True)
class CpxCardData:
    serial: str  # the PAN after the ANS issuer prefix
    idnat: str  # the holder's national identifier (certificate CN)
    surname: str
    given_name: str
    profession: str  # certificate title: profession (PS) or role label (staff)
    card_type: str  # CPS / CPE / CPF, or "" when the certificate does not tell (inferred: see cpx_layout)
    organisation: str
    organisation_id: str
    not_before: dt.datetime
    not_after: dt.datetime
    issuer: str
    test_pki: bool  # issued by an IGC-Santé TEST CA
    certificate: bytes  # DER, public

    @property
    def idnat_kind(self) -> str:
        return {**L.PROFESSIONAL_PREFIXES, **L.STAFF_PREFIXES}.get(self.idnat[:1], "inconnu")

    def valid_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after

    def __repr__(self) -> str:
        return f"CpxCardData(type={self.card_type or '?'}, serial={self.serial!r}, idnat_kind={self.idnat_kind!r})"


@dataclass(frozen=True)
class PinResult:
    ok: bool
    tries_left: int | None  # None when the card did not say
    blocked: bool

    def message(self) -> str:
        if self.ok:
            return "code porteur correct"
        if self.blocked:
            return "carte bloquée : code porteur épuisé (déblocage par le gestionnaire de cartes)"
        left = f", {self.tries_left} essai(s) restant(s)" if self.tries_left is not None else ""
        return f"code porteur incorrect{left}"


def _select_path(channel: CardChannel, path: bytes, what: str) -> None:
    exchange(channel, command(0x00, 0xA4, 0x09, 0x0C, path)).expect_ok(f"sélection de {what}")


def _read(channel: CardChannel, what: str, length: int | None = None) -> bytes:
    """READ BINARY by chunks of at most 0xE7 bytes, up to `length` or the end of the file."""
    data = bytearray()
    while length is None or len(data) < length:
        want = L.MAX_READ if length is None else min(L.MAX_READ, length - len(data))
        off = len(data)
        if off > 0x7FFF or off > MAX_CERT:
            raise CardDataError(f"{what} : fichier trop long")
        resp: Response = exchange(channel, command(0x00, 0xB0, off >> 8, off & 0xFF, le=want))
        if resp.sw in (0x6282, 0x6B00) or (resp.ok and len(resp.data) < want):
            data += resp.data
            break
        data += resp.expect_ok(f"lecture de {what}")
        if not resp.data:
            break
    if length is not None and len(data) < length:
        raise CardDataError(f"{what} : fichier tronqué ({len(data)} octets sur {length})")
    return bytes(data)


def _der_length(head: bytes, what: str) -> int:
    """Total length of the DER object starting with `head` (at least 4 bytes)."""
    if len(head) < 2 or head[0] != 0x30:
        raise CardDataError(f"{what} : pas un certificat X.509 (DER attendu)")
    n = head[1]
    if n < 0x80:
        return 2 + n
    k = n & 0x7F
    if not 1 <= k <= 2 or len(head) < 2 + k:
        raise CardDataError(f"{what} : longueur DER invalide")
    return 2 + k + int.from_bytes(head[2 : 2 + k], "big")


def _abs_path(path: bytes) -> bytes:
    return path if path[:2] == b"\x3f\x00" else L.APP_PATH + path


def read_serial(channel: CardChannel) -> str:
    _select_path(channel, L.SN_ICC_PATH, "EF.SN.ICC")
    raw = _read(channel, "EF.SN.ICC", 12)
    if raw[:2] != b"\x5a\x0a":
        raise CardDataError("EF.SN.ICC : en-tête 5A 0A attendu")
    pan = raw[2:12].hex().upper()
    if not pan.isdigit():
        raise CardDataError("EF.SN.ICC : numéro de carte non BCD")
    if not pan.startswith(L.ANS_ISSUER_PREFIX):
        raise CardDataError("EF.SN.ICC : émetteur inconnu (préfixe ANS 80 25 00 00 01 attendu)")
    return pan[len(L.ANS_ISSUER_PREFIX):]


def _authentication_certificate_path(channel: CardChannel) -> bytes:
    _select_path(channel, L.APP_PATH + L.ODF_FID, "l'ODF")
    odf = tlv.parse(_read(channel, "l'ODF"))
    cdf_paths = [t.value for tag in (0xA4, 0xA5, 0xA6) for o in odf if o.tag == tag
                 for t in tlv.find_all([o], 0x04)]
    if not cdf_paths:
        raise CardDataError("ODF : aucun répertoire de certificats (CDF)")
    for cdf_path in cdf_paths:
        _select_path(channel, _abs_path(cdf_path), "le CDF")
        for entry in tlv.parse(_read(channel, "le CDF")):
            if entry.tag != 0x30 or not entry.constructed:
                continue
            label = tlv.find(entry.children[:1], 0x0C)
            type_attrs = next((c for c in entry.children if c.tag == 0xA1), None)
            path = tlv.find([type_attrs], 0x04) if type_attrs else None
            if label and path and L.is_authentication_label(label.value.decode("utf-8", "replace")):
                return _abs_path(path.value)
    raise CardDataError("aucun certificat d'authentification dans le CDF")


def _name_attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    attrs = name.get_attributes_for_oid(oid)
    return str(attrs[0].value) if attrs else ""


def parse_certificate(der: bytes) -> dict[str, object]:
    """The holder fields of an IGC-Santé authentication certificate (`CardDataError` if not one)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as e:
        raise CardDataError("certificat d'authentification illisible (DER X.509 invalide)") from e
    subject = cert.subject
    idnat = _name_attr(subject, NameOID.COMMON_NAME)
    surname = _name_attr(subject, NameOID.SURNAME)
    given = _name_attr(subject, NameOID.GIVEN_NAME)
    if not idnat or not surname:
        raise CardDataError("certificat d'authentification sans identifiant national (CN) ou nom (SN)")
    organisation = _name_attr(subject, NameOID.ORGANIZATION_NAME)
    org_id = _name_attr(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    title = _name_attr(subject, NameOID.TITLE) or (org_id if not organisation else "")  # older GIP-CPS: OU
    issuer = cert.issuer.rfc4514_string()
    issuer_text = " ".join(str(a.value) for a in cert.issuer)
    return {
        "idnat": idnat, "surname": surname, "given_name": given, "profession": title,
        "card_type": L.infer_card_type(idnat, title, bool(organisation)),
        "organisation": organisation, "organisation_id": org_id if organisation else "",
        "not_before": cert.not_valid_before_utc, "not_after": cert.not_valid_after_utc, "issuer": issuer,
        "test_pki": "TEST" in issuer_text.upper(), "certificate": der,
    }


def read_cpx(channel: CardChannel) -> CpxCardData:
    """Serial and authentication certificate (no PIN). The caller holds the transaction."""
    serial = read_serial(channel)
    path = _authentication_certificate_path(channel)
    _select_path(channel, path, "le certificat d'authentification")
    head = _read(channel, "le certificat d'authentification", 4)
    total = _der_length(head, "certificat d'authentification")
    if total > MAX_CERT:
        raise CardDataError("certificat d'authentification trop long")
    der = _read(channel, "le certificat d'authentification", total)
    return CpxCardData(serial=serial, **parse_certificate(der))  # type: ignore[arg-type]


def pin_tries(channel: CardChannel) -> tuple[int, int]:
    """(max tries, tries left), read without the PIN."""
    exchange(channel, L.SELECT_MF).expect_ok("sélection du MF")
    data = exchange(channel, L.GET_PIN_COUNTER).expect_ok("lecture du compteur du code porteur")
    objects = tlv.parse(data)
    max_t, left = tlv.find(objects, 0x9A), tlv.find(objects, 0x9B)
    if not max_t or not left or len(max_t.value) != 1 or len(left.value) != 1:
        raise CardDataError("compteur du code porteur illisible (9A/9B attendus)")
    return max_t.value[0], left.value[0]


def verify_pin(channel: CardChannel, pin: str) -> PinResult:
    """VERIFY the holder PIN (4 digits). `ValueError` for a malformed PIN, before anything reaches the card."""
    if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
        raise ValueError("code porteur : 4 chiffres attendus")
    exchange(channel, L.SELECT_MF).expect_ok("sélection du MF")
    apdu = bytearray(command(0x00, 0x20, 0x00, L.PIN_REFERENCE, pin.encode("ascii")))
    try:
        resp = exchange(channel, bytes(apdu))
    finally:
        apdu[:] = bytes(len(apdu))
    if resp.ok:
        return PinResult(True, None, False)
    if resp.sw >> 4 == 0x63C:
        left = resp.sw & 0x0F
        return PinResult(False, left, left == 0)
    if resp.sw in (0x6983, 0x9840):
        return PinResult(False, 0, True)
    if resp.sw == 0x9804:  # CPS2ter: wrong PIN, count unknown
        return PinResult(False, None, False)
    raise CardDataError(f"vérification du code porteur : réponse inattendue {resp.describe()}")
