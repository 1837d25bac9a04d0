"""Where the CPx (CPS3 / CPS4) data lives, each fact with the public source that confirms it or "ASSUMPTION".

Sources named below:
- [CRYPTOLIB] ANS's official Cryptolib CPS 5.2 sources, ansforge/dops-cryptolib,
  `_sources/_old/Sources_PKCS11_Cryptolib_CPS_v5.2/pkcs11/opensc/src/libopensc/` (`card-cps.c`, `card-cps3.c`,
  `card-cps4.c`, `pkcs15*.c`), and the library itself (../shared/peers/, read through PKCS#11 in the peer test).
- [OPENSC-2275] OpenSC/OpenSC issue #2275: a real CPS3's APDU trace under the official library.
- [OPENSC-2223] OpenSC/OpenSC issue #2223: a real CPx's EF.ATR and EF.DIR selection.
- [CERTS] public IGC-Santé certificate samples (cards.md): subject shapes, IdNat prefixes, titles.
- [TRE] ANS nomenclatures TRE_G15 (professions) and TRE_R87 (card types), as cards.md lists them.

| fact | source |
| --- | --- |
| EF.SN.ICC at `3F00/D003`, 12 bytes `5A 0A` + PAN, readable without PIN | [CRYPTOLIB] `CPS_EF_SN_PATH`, [OPENSC-2275] |
| PAN = `80 25 00 00 01` (ANS issuer) + serial + Luhn digit + `F` pad; serial = PAN without prefix and last byte | [OPENSC-2275] bytes, [CRYPTOLIB] `PREFIX_SN`; Luhn over the whole PAN: ASSUMPTION checked on the one public PAN |
| CPS3 contact application AID `E8 28 BD 08 0F 80 25 00 00 01 FF 00 10`, contactless `... FF 00 20` | [CRYPTOLIB] `card-cps3.c` |
| CPS3: select by full path `00 A4 09 04|0C 3F00...`; FCP through `61xx` + GET RESPONSE; reads of at most 0xE7 | [OPENSC-2275], [CRYPTOLIB] `max_recv_size = 0xE7` |
| CPS3 contactless: `3F00/0001/7001` unreadable (that is how the library tells it), no signature; certificate "Certificat Technique CPS" | [CRYPTOLIB] `cps3_check_type`, `cps3_init`; label: cards.md |
| CPS3 try counter: select MF, GET DATA `00 CB 3F FF 0A 4D 08 70 06 BF 81 <ref> 02 A0 80`, `9A` max, `9B` left | [OPENSC-2275] (answer `70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 ...`), [CRYPTOLIB] |
| CPS3 contact: `9D` = PIN usage counter (1 or 2 bytes); 0 means no try left whatever `9B` says | [CRYPTOLIB] `_cps_get_pin_info` |
| CPS4: every command CLA `01` (logical channel 1) after SELECT ChipDoc `01 A4 04 0C 08 80 25 00 00 01 FF 01 00` | [CRYPTOLIB] `card-cps4.c` |
| CPS4 fall-back: IDS `01 A4 04 0C 07 A0 00 00 01 51 00 00`, CPS2ter `00 A4 04 0C 08 ...FF 00 02`, ChipDoc | [CRYPTOLIB] `_do_reselect_cps4_aid` |
| CPS4: `68 81` (channel not open) -> select ChipDoc again and retry | [CRYPTOLIB] `cps4_get_pin_counter` (SC_ERROR_BAD_CHANNEL) |
| CPS4: paths without `3F00` (`01 A4 08 00 02 D0 03`), the file size from FCP tag `80` | [CRYPTOLIB] `cps4_select_file`, `_cps_read_efsnicc` |
| CPS4 try counter: VERIFY without data `01 20 00 <ref>` -> `63 Cx` (max 3), `69 83` blocked | [CRYPTOLIB] `_cps4_get_pin_counter` |
| CPS4 ATRs: contact, RC, T=0 only (exact match, `CPS_ATR_LIST`) | [CRYPTOLIB] `card-cps.c` |
| PKCS#15: EF.DIR `2F00` -> application DF `0001` -> ODF `5031` (CDF `A4`/`A5`/`A6`, AODF `A8`), TokenInfo `5032` | [CRYPTOLIB] `pkcs15.c`; [OPENSC-2223] (EF.DIR, EF.ATR) |
| the PIN reference is the AODF's `pinReference` (never hard-coded) | [CRYPTOLIB] `pkcs15-pin.c` |
| certificate labels "Authentification", "Signature", "Technique" | [CRYPTOLIB] PKCS#11 labels (cards.md) |
| the CDF's file ids | ASSUMPTION: found by walking the ODF, relative paths under `3F00/0001` |
| holder subject `CN=<IdNat> + SN + GN`, `title`; CPE: `O`, `OU`; "carte de service": `pseudonym`, no SN/GN | [CERTS] |
| old GIP-CPS subjects: profession in `OU` (`O=TEST, OU=Masseur-Kinésithérapeute`) | [CERTS] |
| card type CPS/CPE/CPF/CPA: not in a known certificate field | ASSUMPTION: `infer_card_type` below |
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from drivers.atr import CardFamily
from drivers.cards import tlv

SN_ICC_FID = bytes.fromhex("D003")
APP_FID = bytes.fromhex("0001")
DIR_FID = bytes.fromhex("2F00")
ODF_FID = bytes.fromhex("5031")
CONTACT_PROBE_FID = bytes.fromhex("7001")  # unreadable on the contactless interface [CRYPTOLIB]
MF = bytes.fromhex("3F00")
ANS_ISSUER_PREFIX = "8025000001"
MAX_READ = 0xE7

AID_CPS3 = bytes.fromhex("E828BD080F8025000001FF0010")
AID_CPS3_CONTACTLESS = bytes.fromhex("E828BD080F8025000001FF0020")
AID_CHIPDOC = bytes.fromhex("8025000001FF0100")
AID_IDS = bytes.fromhex("A0000001510000")
AID_CPS2TER = bytes.fromhex("8025000001FF0002")

ODF_CDF_TAGS = (0xA4, 0xA5, 0xA6)  # certificates, trusted certificates, useful certificates
ODF_AODF_TAG = 0xA8
SW_CHANNEL_CLOSED = 0x6881


@dataclass(frozen=True)
class CommandSet:
    """How one chip family is spoken to ([CRYPTOLIB] `card-cps3.c` / `card-cps4.c`)."""

    cla: int
    paths_from_mf: bool  # CPS4: `A4 08` with the path after 3F00; CPS3: `A4 09` with the full path
    counter_by_verify: bool  # CPS4: empty VERIFY; CPS3: GET DATA 9A/9B(/9D)


CPS3 = CommandSet(cla=0x00, paths_from_mf=False, counter_by_verify=False)
CPS4 = CommandSet(cla=0x01, paths_from_mf=True, counter_by_verify=True)
CPS4_SELECT_CHIPDOC = bytes((0x01, 0xA4, 0x04, 0x0C, len(AID_CHIPDOC))) + AID_CHIPDOC
CPS4_FALLBACK = (  # [CRYPTOLIB] `_do_reselect_cps4_aid`, in its order
    bytes((0x01, 0xA4, 0x04, 0x0C, len(AID_IDS))) + AID_IDS,
    bytes((0x00, 0xA4, 0x04, 0x0C, len(AID_CPS2TER))) + AID_CPS2TER,
    CPS4_SELECT_CHIPDOC,
)


def command_set(family: CardFamily) -> CommandSet:
    return CPS4 if family is CardFamily.CPS4 else CPS3


def get_pin_counter(reference: int) -> bytes:
    """CPS3 GET DATA of the PIN's security data object: the reference is the third byte of tag BF81xx. Sent without
    Le, as the official library does on T=0 (OpenSC issue #2275): the answer comes through 61xx."""
    return bytes((0x00, 0xCB, 0x3F, 0xFF, 0x0A, 0x4D, 0x08, 0x70, 0x06, 0xBF, 0x81, reference, 0x02, 0xA0, 0x80))


# ---- EF.SN.ICC --------------------------------------------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check over `digits`, the last one being the check digit."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def luhn_digit(digits: str) -> str:
    """The check digit to append to `digits` (for the virtual cards)."""
    return next(c for c in "0123456789" if luhn_ok(digits + c))


@dataclass(frozen=True)
class CardSerial:
    serial: str  # what the official library reports: the PAN without the ANS prefix, check digit and pad
    pan: str  # the whole PAN, check digit included, pad removed
    check_ok: bool  # the Luhn digit agrees (a card that fails is still read: the desk says so)


def encode_pan(serial: str) -> bytes:
    """EF.SN.ICC content for `serial` (8 digits): `5A 0A` + prefix + serial + Luhn digit + F pad."""
    digits = ANS_ISSUER_PREFIX + serial
    return b"\x5a\x0a" + bytes.fromhex(digits + luhn_digit(digits) + "F")


# ---- PIN reference from the AODF ---------------------------------------------------------------------------------
def pin_reference_from_aodf(objects: list[tlv.Tlv]) -> int | None:
    """The first PIN object's `pinReference` ([0] / `80`, in the type attributes `A1 { 30 { ... } }`)."""
    for obj in objects:
        if obj.tag != 0x30 or not obj.constructed:
            continue
        attrs = next((c for c in obj.children if c.tag == 0xA1 and c.constructed), None)
        if attrs is None:
            continue
        inner = attrs.children[0] if attrs.children and attrs.children[0].constructed else attrs
        ref = next((c for c in inner.children if c.tag == 0x80), None)
        if ref is not None and len(ref.value) == 1:
            return ref.value[0]
    return None


# ---- certificate labels and the holder ---------------------------------------------------------------------------
def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def is_authentication_label(label: str) -> bool:
    return "authentif" in _plain(label)


def is_technical_label(label: str) -> bool:
    return "technique" in _plain(label)


class CpxCardType(enum.StrEnum):
    """TRE_R87 card types; UNKNOWN when the certificate does not allow a decision (never guessed)."""

    CPS = "CPS"
    CPE = "CPE"
    CPF = "CPF"
    CPA = "CPA"
    UNKNOWN = ""

    @property
    def label(self) -> str:
        return self.value or "type de carte inconnu"


PROFESSIONAL_PREFIXES = {"0": "ADELI", "8": "RPPS"}
STAFF_PREFIXES = {"1": "FINESS/ADELI interne", "3": "FINESS", "4": "SIREN", "5": "SIRET", "6": "RPPS cabinet"}
_TRAINING_WORDS = ("formation", "etudiant", "interne en")

# TRE_G15 profession codes [TRE] by their plain label (no accents, lower case).
PROFESSION_CODES = {
    "medecin": "10", "pharmacien": "21", "audioprothesiste": "26", "opticien-lunetier": "28",
    "chirurgien-dentiste": "40", "sage-femme": "50", "infirmier": "60", "infirmier psychiatrique": "69",
    "masseur-kinesitherapeute": "70", "pedicure-podologue": "80", "orthophoniste": "91", "orthoptiste": "92",
}


def profession_code(label: str) -> str:
    """TRE_G15 code of a profession label ("" for a role label such as "Secrétaire médicale")."""
    return PROFESSION_CODES.get(_plain(label).strip(), "")


def is_profession_label(text: str) -> bool:
    return bool(profession_code(text))


def infer_card_type(idnat: str, title: str, has_structure: bool) -> CpxCardType:
    """ASSUMPTION (no public certificate field says it): training words in the title -> CPF; an RPPS/ADELI IdNat
    without a structure -> CPS; a structure IdNat (3<FINESS>/..., 1, 4, 5, 6) with a structure (O + OU id) -> CPE.
    Anything else is UNKNOWN: a staff card is never guessed."""
    if any(w in _plain(title) for w in _TRAINING_WORDS):
        return CpxCardType.CPF
    prefix = idnat[:1]
    if prefix in PROFESSIONAL_PREFIXES and not has_structure:
        return CpxCardType.CPS
    if prefix in STAFF_PREFIXES and has_structure and "/" in idnat:
        return CpxCardType.CPE
    return CpxCardType.UNKNOWN
