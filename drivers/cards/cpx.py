"""Reading a CPx card (CPS3 contact / contactless, CPS4): serial, the holder's certificate, PIN state and VERIFY.

Everything here is readable without the PIN except `verify_pin`. The PIN is taken as a `str` only to be
encoded into one APDU buffer that is wiped after use; it is never logged, stored or put in a message.
Which command goes to which chip, and the public source of each fact, is in `cpx_layout`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from drivers.apdu import CountingChannel, Response, command, exchange
from drivers.atr import CardFamily, CardKind, classify
from drivers.base import CardChannel
from drivers.cards import cpx_layout as L
from drivers.cards import tlv
from drivers.cards.cpx_layout import CardSerial, CpxCardType
from drivers.errors import CardDataError

__all__ = [
    "CpxCardData",
    "CpxCardType",
    "PinResult",
    "PinState",
    "display_name",
    "parse_certificate",
    "parse_sn_icc",
    "pin_state",
    "pin_tries",
    "read_cpx",
    "verify_pin",
]

log = logging.getLogger(__name__)
MAX_CERT = 8192  # bytes; an IGC-Santé certificate is under 2 KiB


def display_name(given_name: str, surname: str, pseudonym: str, idnat: str) -> str:
    """How the desk shows a staff card's holder: "Prénom NOM", else the pseudonym, else the IdNat."""
    name = f"{given_name.title()} {surname}".strip()
    return name or pseudonym or idnat


@dataclass(frozen=True)
class CpxCardData:
    """The card and its holder. Field names are those of the staff identity the desk, the journal and the VIHF use:
    `idnat`, `surname`/`given_name` (empty on a "carte de service"), `pseudonym`, `profession` (+ TRE_G15 code),
    `card_type`."""

    serial: str  # as the official library reports it (PAN without ANS prefix, check digit and pad)
    serial_check_ok: bool  # Luhn digit of the PAN; False: the card is still read, the desk says so
    idnat: str  # the holder's national identifier (certificate CN), e.g. 3<FINESS>/<number>
    surname: str
    given_name: str
    pseudonym: str  # "carte de service": the only name on the card (e.g. EMPLOYE000000018)
    profession: str  # title (or OU on old GIP-CPS subjects): profession (PS) or role label (staff)
    profession_code: str  # TRE_G15 code when `profession` is a profession label, else ""
    card_type: CpxCardType
    organisation: str
    organisation_id: str
    not_before: dt.datetime
    not_after: dt.datetime
    issuer: str
    test_pki: bool  # issued by an IGC-Santé TEST CA
    certificate: bytes  # DER, public
    family: CardFamily = CardFamily.CPS3
    contactless: bool = False  # read through the contactless application (technical certificate)
    pin_reference: int | None = None  # from the AODF; None: this interface offers no PIN
    apdu_count: int = 0

    @property
    def idnat_kind(self) -> str:
        return {**L.PROFESSIONAL_PREFIXES, **L.STAFF_PREFIXES}.get(self.idnat[:1], "inconnu")

    @property
    def display_name(self) -> str:
        return display_name(self.given_name, self.surname, self.pseudonym, self.idnat)

    def valid_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after

    def __repr__(self) -> str:
        return (f"CpxCardData(type={self.card_type.label!r}, family={self.family.name}, serial={self.serial!r}, "
                f"idnat_kind={self.idnat_kind!r})")


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


@dataclass(frozen=True)
class PinState:
    """The PIN's counters read without presenting it."""

    max_tries: int
    tries_left: int  # 0 when the usage counter is spent, whatever the try counter says (the library's rule)
    usage_left: int | None = None  # CPS3 contact `9D`; None when the card does not report it

    @property
    def blocked(self) -> bool:
        return self.tries_left == 0

    def message(self) -> str:
        if self.usage_left == 0:
            return "carte bloquée : le nombre d'utilisations du code porteur est épuisé (renouvelez la carte)"
        if self.tries_left == 0:
            return "carte bloquée : code porteur épuisé (déblocage par le gestionnaire de cartes)"
        return f"{self.tries_left} essai(s) de code porteur sur {self.max_tries}"


class Chip:
    """One CPx chip, spoken to with its family's command set (CLA, path form, applet, closed channel)."""

    def __init__(self, channel: CardChannel) -> None:
        self.channel = CountingChannel(channel)
        family = classify(channel.atr).family if channel.atr else CardFamily.UNKNOWN
        self.family = family if family.kind is CardKind.CPX else CardFamily.CPS3  # unknown ATR: CPS3 commands
        self.contactless = self.family is CardFamily.CPS3_CONTACTLESS
        self.cs = L.command_set(self.family)
        if self.cs is L.CPS4:
            self.open_applet()

    def open_applet(self) -> None:
        """CPS4: select ChipDoc on channel 1; if refused, the library's fall-back sequence (IDS, CPS2ter, ChipDoc)."""
        if exchange(self.channel, L.CPS4_SELECT_CHIPDOC).ok:
            return
        last = Response(b"", 0x6A82)
        for apdu in L.CPS4_FALLBACK:
            last = exchange(self.channel, apdu)
            if not last.ok:
                break
        last.expect_ok("CPS4 : sélection de l'application ChipDoc")

    def send(self, apdu: bytes) -> Response:
        resp = exchange(self.channel, apdu)
        if resp.sw == L.SW_CHANNEL_CLOSED and self.cs is L.CPS4:  # the logical channel was closed: reopen it
            self.open_applet()
            resp = exchange(self.channel, apdu)
        return resp

    def cmd(self, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
        return command(self.cs.cla, ins, p1, p2, data, le)

    def select(self, path: bytes, what: str, fcp: bool = False) -> bytes:
        """Select by path from the MF (`path` starts with 3F00). Returns the FCP when `fcp`."""
        if self.cs.paths_from_mf:
            rest = path[2:] if path[:2] == L.MF else path
            apdu = self.cmd(0xA4, 0x08, 0x00 if fcp else 0x0C, rest) if rest else self.cmd(0xA4, 0x00, 0x0C, L.MF)
        else:
            apdu = self.cmd(0xA4, 0x09, 0x04 if fcp else 0x0C, path)
        return self.send(apdu).expect_ok(f"sélection de {what}")

    def read(self, what: str, length: int | None = None) -> bytes:
        """READ BINARY by chunks of at most 0xE7 bytes, up to `length` or the end of the file."""
        data = bytearray()
        while length is None or len(data) < length:
            want = L.MAX_READ if length is None else min(L.MAX_READ, length - len(data))
            off = len(data)
            if off > 0x7FFF or off > MAX_CERT:
                raise CardDataError(f"{what} : fichier trop long")
            resp = self.send(self.cmd(0xB0, off >> 8, off & 0xFF, le=want))
            if resp.sw in (0x6282, 0x6B00) or (resp.ok and len(resp.data) < want):
                data += resp.data
                break
            data += resp.expect_ok(f"lecture de {what}")
            if not resp.data:
                break
        if length is not None and len(data) < length:
            raise CardDataError(f"{what} : fichier tronqué ({len(data)} octets sur {length})")
        return bytes(data)

    def read_file(self, path: bytes, what: str) -> bytes:
        self.select(path, what)
        return self.read(what)


def _fcp_size(fcp: bytes, what: str) -> int:
    objects = tlv.parse(fcp)
    size = tlv.find(objects, 0x80) or tlv.find(objects, 0x81)
    if size is None or not 1 <= len(size.value) <= 2:
        raise CardDataError(f"{what} : taille absente de la FCP (tag 80)")
    return int.from_bytes(size.value, "big")


def parse_sn_icc(raw: bytes) -> CardSerial:
    """EF.SN.ICC -> the serial as the official library reports it, and whether the PAN's Luhn digit agrees."""
    if raw[:2] != b"\x5a\x0a" or len(raw) < 12:
        raise CardDataError("EF.SN.ICC : en-tête 5A 0A attendu")
    pan = raw[2:12].hex().upper().rstrip("F")
    if not pan.isdigit() or len(pan) < len(L.ANS_ISSUER_PREFIX) + 2:
        raise CardDataError("EF.SN.ICC : numéro de carte non BCD")
    if not pan.startswith(L.ANS_ISSUER_PREFIX):
        raise CardDataError("EF.SN.ICC : émetteur inconnu (préfixe ANS 80 25 00 00 01 attendu)")
    serial = raw[2:11].hex().upper()[len(L.ANS_ISSUER_PREFIX):]  # the library drops the last byte
    return CardSerial(serial=serial, pan=pan, check_ok=L.luhn_ok(pan))


def read_serial(chip: Chip) -> CardSerial:
    fcp = chip.select(L.MF + L.SN_ICC_FID, "EF.SN.ICC", fcp=True)
    size = _fcp_size(fcp, "EF.SN.ICC") if fcp else 12
    if size != 12:
        raise CardDataError(f"EF.SN.ICC : taille {size} (12 octets attendus)")
    sn = parse_sn_icc(chip.read("EF.SN.ICC", size))
    if not sn.check_ok:
        log.warning("EF.SN.ICC : chiffre de contrôle (Luhn) incorrect pour la carte %s", sn.serial)
    return sn


def _application_path(chip: Chip, aid: bytes) -> bytes:
    """The PKCS#15 application's path from EF.DIR (record with `aid`); ASSUMPTION `3F00/0001` when absent."""
    try:
        records = tlv.parse(chip.read_file(L.MF + L.DIR_FID, "EF.DIR"))
    except CardDataError:
        return L.MF + L.APP_FID
    for rec in records:
        if rec.tag != 0x61 or not rec.constructed:
            continue
        rec_aid, rec_path = tlv.find([rec], 0x4F), tlv.find([rec], 0x51)
        if rec_aid and rec_aid.value == aid and rec_path and len(rec_path.value) >= 2:
            return rec_path.value if rec_path.value[:2] == L.MF else L.MF + rec_path.value
    return L.MF + L.APP_FID


def _pkcs15(chip: Chip) -> tuple[bytes, list[tlv.Tlv]]:
    """The path of the PKCS#15 application this interface offers (contact or contactless) and its ODF."""
    app = _application_path(chip, L.AID_CPS3_CONTACTLESS if chip.contactless else L.AID_CPS3)
    return app, tlv.parse(chip.read_file(app + L.ODF_FID, "l'ODF"))


def _abs(app: bytes, path: bytes) -> bytes:
    return path if path[:2] == L.MF else app + path


def _odf_paths(odf: list[tlv.Tlv], tags: tuple[int, ...]) -> list[bytes]:
    return [t.value for o in odf if o.tag in tags for t in tlv.find_all([o], 0x04)]


def _certificate_path(chip: Chip, app: bytes, odf: list[tlv.Tlv], technical: bool) -> bytes:
    match = L.is_technical_label if technical else L.is_authentication_label
    cdf_paths = _odf_paths(odf, L.ODF_CDF_TAGS)
    if not cdf_paths:
        raise CardDataError("ODF : aucun répertoire de certificats (CDF)")
    for cdf_path in cdf_paths:
        for entry in tlv.parse(chip.read_file(_abs(app, cdf_path), "le CDF")):
            if entry.tag != 0x30 or not entry.constructed:
                continue
            label = tlv.find(entry.children[:1], 0x0C)
            type_attrs = next((c for c in entry.children if c.tag == 0xA1), None)
            path = tlv.find([type_attrs], 0x04) if type_attrs else None
            if label and path and match(label.value.decode("utf-8", "replace")):
                return _abs(app, path.value)
    kind = "technique" if technical else "d'authentification"
    raise CardDataError(f"aucun certificat {kind} dans le CDF")


def _pin_reference(chip: Chip, app: bytes, odf: list[tlv.Tlv]) -> int | None:
    paths = _odf_paths(odf, (L.ODF_AODF_TAG,))
    for path in paths:
        ref = L.pin_reference_from_aodf(tlv.parse(chip.read_file(_abs(app, path), "l'AODF")))
        if ref is not None:
            return ref
    return None


def _name_attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    attrs = name.get_attributes_for_oid(oid)
    return str(attrs[0].value) if attrs else ""


def parse_certificate(der: bytes) -> dict[str, object]:
    """The holder fields of an IGC-Santé certificate (`CardDataError` if not one)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as e:
        raise CardDataError("certificat du porteur illisible (DER X.509 invalide)") from e
    subject = cert.subject
    idnat = _name_attr(subject, NameOID.COMMON_NAME)
    surname = _name_attr(subject, NameOID.SURNAME)
    given = _name_attr(subject, NameOID.GIVEN_NAME)
    pseudonym = _name_attr(subject, NameOID.PSEUDONYM)
    if not idnat:
        raise CardDataError("certificat du porteur sans identifiant national (CN)")
    if not surname and not pseudonym:
        raise CardDataError("certificat du porteur sans nom (SN) ni pseudonyme")
    organisation = _name_attr(subject, NameOID.ORGANIZATION_NAME)
    ou = _name_attr(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    title = _name_attr(subject, NameOID.TITLE)
    if L.is_profession_label(ou) and not title:  # old GIP-CPS subject: the profession in OU, no structure
        profession, organisation_id, has_structure = ou, "", False
    else:
        profession, organisation_id, has_structure = title, ou, bool(organisation and ou)
    issuer_text = " ".join(str(a.value) for a in cert.issuer)
    return {
        "idnat": idnat, "surname": surname, "given_name": given, "pseudonym": pseudonym, "profession": profession,
        "profession_code": L.profession_code(profession),
        "card_type": L.infer_card_type(idnat, profession, has_structure),
        "organisation": organisation, "organisation_id": organisation_id,
        "not_before": cert.not_valid_before_utc, "not_after": cert.not_valid_after_utc,
        "issuer": cert.issuer.rfc4514_string(), "test_pki": "TEST" in issuer_text.upper(), "certificate": der,
    }


def _read_certificate(chip: Chip, path: bytes, what: str) -> bytes:
    chip.select(path, what)
    head = chip.read(what, 4)
    if len(head) < 2 or head[0] != 0x30:
        raise CardDataError(f"{what} : pas un certificat X.509 (DER attendu)")
    n = head[1]
    if n < 0x80:
        total = 2 + n
    else:
        k = n & 0x7F
        if not 1 <= k <= 2:
            raise CardDataError(f"{what} : longueur DER invalide")
        total = 2 + k + int.from_bytes(head[2 : 2 + k], "big")
    if total > MAX_CERT:
        raise CardDataError(f"{what} : certificat trop long")
    return chip.read(what, total)


def read_cpx(channel: CardChannel) -> CpxCardData:
    """Serial, holder certificate and PIN reference (no PIN). The caller holds the transaction."""
    chip = Chip(channel)
    sn = read_serial(chip)
    app, odf = _pkcs15(chip)
    path = _certificate_path(chip, app, odf, technical=chip.contactless)
    der = _read_certificate(chip, path, "le certificat du porteur")
    reference = _pin_reference(chip, app, odf)
    if reference is None and not chip.contactless:
        raise CardDataError("AODF : aucune référence de code porteur")
    return CpxCardData(
        serial=sn.serial, serial_check_ok=sn.check_ok, family=chip.family, contactless=chip.contactless,
        pin_reference=reference, apdu_count=chip.channel.count, **parse_certificate(der),  # type: ignore[arg-type]
    )


def _discover_reference(chip: Chip) -> int:
    ref = _pin_reference(chip, *_pkcs15(chip))
    if ref is None:
        raise CardDataError("cette carte n'offre pas de code porteur sur cette interface")
    return ref


def pin_state(channel: CardChannel, reference: int | None = None) -> PinState:
    """The PIN's counters, read without the PIN (`reference` from `read_cpx`, else found in the AODF)."""
    chip = Chip(channel)
    ref = _discover_reference(chip) if reference is None else reference
    if chip.cs.counter_by_verify:
        resp = chip.send(chip.cmd(0x20, 0x00, ref))
        if resp.sw >> 4 == 0x63C:
            return PinState(3, resp.sw & 0x0F)
        if resp.sw == 0x6983:
            return PinState(3, 0)
        raise CardDataError(f"lecture du compteur du code porteur : réponse inattendue {resp.describe()}")
    chip.select(L.MF, "MF")
    data = chip.send(L.get_pin_counter(ref)).expect_ok("lecture du compteur du code porteur")
    objects = tlv.parse(data)
    max_t, left, usage = tlv.find(objects, 0x9A), tlv.find(objects, 0x9B), tlv.find(objects, 0x9D)
    if not max_t or not left or len(max_t.value) != 1 or len(left.value) != 1:
        raise CardDataError("compteur du code porteur illisible (9A/9B attendus)")
    usage_left = int.from_bytes(usage.value, "big") if usage and 1 <= len(usage.value) <= 2 else None
    if chip.family is not CardFamily.CPS3:  # the library reads 9D on CPS3 contact only
        usage_left = None
    tries = 0 if usage_left == 0 else left.value[0]
    return PinState(max_t.value[0], tries, usage_left)


def pin_tries(channel: CardChannel, reference: int | None = None) -> tuple[int, int]:
    """(max tries, tries left), read without the PIN; tries left is 0 when the usage counter is spent."""
    state = pin_state(channel, reference)
    return state.max_tries, state.tries_left


def verify_pin(channel: CardChannel, pin: str, reference: int | None = None) -> PinResult:
    """VERIFY the holder PIN (4 digits). `ValueError` for a malformed PIN, before anything reaches the card."""
    if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
        raise ValueError("code porteur : 4 chiffres attendus")
    chip = Chip(channel)
    ref = _discover_reference(chip) if reference is None else reference
    if not chip.cs.paths_from_mf:
        chip.select(L.MF, "MF")
    apdu = bytearray(chip.cmd(0x20, 0x00, ref, pin.encode("ascii")))
    try:
        resp = chip.send(bytes(apdu))
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
