"""Reading a Vitale 2 card: every beneficiary, the insured's NIR, the card's nature.

Transport-agnostic (any `CardChannel`); only the four APDUs of the public sequence are sent (plus the T=0
GET RESPONSE / resend the card asks for). Where each field lives is in `vitale_layout` — the public facts and
the project's assumptions are kept there, apart from the parsing. Every malformed answer is a
`CardDataError` with a message that names the step and never a patient value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from drivers.apdu import Response, exchange
from drivers.base import CardChannel
from drivers.cards import tlv
from drivers.cards import vitale_layout as L
from drivers.errors import CardDataError

__all__ = ["VitaleBeneficiaryData", "VitaleCardData", "parse_vitale", "read_vitale"]

MAX_FILE = 4096  # bytes; a Vitale data file is far smaller: stop a card that never says "end of file"
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '\-.])*$")
_DATE = re.compile(r"^\d{8}(?:\d{4})?$")  # YYYYMMDD (lunar: any digits), or the 12-character API form
_NIR = re.compile(r"^[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{8}$")
_DIGITS = re.compile(r"^\d{1,2}$")


@dataclass(frozen=True)
class VitaleBeneficiaryData:
    index: int
    nom_usuel: str
    prenom: str
    date_naissance: str  # as on the card
    nom_naissance: str = ""
    rang_naissance: str = ""
    qualite: str = ""
    nir: str = ""  # the person's own NIR (15 characters), when the card carries it
    pays: str = ""

    def __repr__(self) -> str:  # no patient value in logs or tracebacks
        return f"VitaleBeneficiaryData(index={self.index}, qualite={self.qualite!r}, nir={'oui' if self.nir else 'non'})"


@dataclass(frozen=True)
class VitaleCardData:
    beneficiaries: tuple[VitaleBeneficiaryData, ...]
    nir_ouvrant_droit: str
    nature: str  # real / test / demo / unknown
    serial: str = ""
    card_type: str = ""
    card: dict[str, str] = field(default_factory=dict, compare=False)  # every card-level field read
    apdu_count: int = 0

    def __repr__(self) -> str:
        return f"VitaleCardData(beneficiaries={len(self.beneficiaries)}, nature={self.nature!r}, apdus={self.apdu_count})"


class _Counting:
    """Counts the APDUs really sent (for the benchmark and the 'only the APDUs needed' check)."""

    def __init__(self, channel: CardChannel) -> None:
        self.channel = channel
        self.count = 0

    def transmit(self, apdu: bytes) -> bytes:
        self.count += 1
        return self.channel.transmit(apdu)


def _read_sfi(channel: _Counting, what: str) -> bytes:
    """READ BINARY by SFI 2, then by offset while the card returns full 256-byte chunks."""
    resp = exchange(channel, L.READ_SFI2)  # type: ignore[arg-type]
    if resp.sw in (0x6A82, 0x6981, 0x6986):
        raise CardDataError(f"pas une carte Vitale lisible : {what} impossible ({resp.describe()})")
    data = bytearray(_file_data(resp, what))
    while len(data) % 256 == 0 and data and len(data) < MAX_FILE:
        off = len(data)
        more = exchange(channel, bytes((0x00, 0xB0, off >> 8, off & 0xFF, 0x00)))  # type: ignore[arg-type]
        if more.sw in (0x6282, 0x6B00) or (more.ok and not more.data):
            break
        data += _file_data(more, what)
    return bytes(data)


def _file_data(resp: Response, what: str) -> bytes:
    if resp.sw == 0x6282:  # end of file reached: the data is complete
        return resp.data
    return resp.expect_ok(what)


def read_vitale(channel: CardChannel) -> VitaleCardData:
    """Read the card in `channel` (the caller holds the transaction). `CardDataError` if it is not a
    readable Vitale card; `ReaderError` / `CardSwappedError` from the transport pass through."""
    counting = _Counting(channel)
    resp = exchange(counting, L.SELECT_MF)  # type: ignore[arg-type]
    if not resp.ok:
        raise CardDataError(f"pas une carte Vitale lisible : sélection du MF refusée ({resp.describe()})")
    identity = _read_sfi(counting, "lecture des identités (MF, SFI 2)")
    resp = exchange(counting, L.SELECT_VITALE)  # type: ignore[arg-type]
    if not resp.ok:
        raise CardDataError(f"pas une carte Vitale 2 : application VITALE absente ({resp.describe()})")
    rights = _read_sfi(counting, "lecture des NIR (application VITALE, SFI 2)")
    data = parse_vitale(identity, rights)
    return replace(data, apdu_count=counting.count)


def _text(obj: tlv.Tlv | None, what: str) -> str:
    if obj is None:
        return ""
    if obj.constructed:
        raise CardDataError(f"{what} : objet construit là où un texte est attendu")
    raw = obj.value.rstrip(b"\x00\xff ")
    for encoding in L.TEXT_ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
            raise CardDataError(f"{what} : caractères de contrôle dans le texte")
        return text.strip()
    raise CardDataError(f"{what} : texte illisible")  # pragma: no cover - latin-1 decodes every byte


def _child(template: tlv.Tlv, tag: int) -> tlv.Tlv | None:
    found = [c for c in template.children if c.tag == tag]
    if len(found) > 1:
        raise CardDataError(f"objet {tag:X} répété dans un modèle {template.tag:X}")
    return found[0] if found else None


def _templates(data: bytes, tag: int, what: str) -> list[tlv.Tlv]:
    objects = tlv.parse(data)
    templates = [o for o in objects if o.tag == tag]
    for t in templates:
        if not t.constructed:
            raise CardDataError(f"{what} : le modèle {tag:X} n'est pas construit")
    return templates


def _person(i: int, ident: tlv.Tlv, rights: tlv.Tlv) -> VitaleBeneficiaryData:
    who = f"bénéficiaire {i + 1}"
    nom = _text(_child(ident, L.NOM), f"{who}, nom")
    prenom = _text(_child(ident, L.PRENOM), f"{who}, prénom")
    date = _text(_child(ident, L.DATE_NAISSANCE), f"{who}, date de naissance")
    if not nom or not _NAME.match(nom):
        raise CardDataError(f"{who} : nom absent ou invalide")
    if not prenom or not _NAME.match(prenom):
        raise CardDataError(f"{who} : prénom absent ou invalide")
    if not _DATE.match(date):
        raise CardDataError(f"{who} : date de naissance absente ou mal formée (8 chiffres attendus)")
    nom_naissance = _text(_child(ident, L.NOM_NAISSANCE), f"{who}, nom de naissance")
    if nom_naissance and not _NAME.match(nom_naissance):
        raise CardDataError(f"{who} : nom de naissance invalide")
    rang = _text(_child(ident, L.RANG), f"{who}, rang de naissance")
    qualite = _text(_child(ident, L.QUALITE), f"{who}, qualité")
    for value, label in ((rang, "rang de naissance"), (qualite, "qualité")):
        if value and not _DIGITS.match(value):
            raise CardDataError(f"{who} : {label} non numérique")
    nir = _text(_child(rights, L.NIR), f"{who}, NIR")
    if nir and not _NIR.match(nir):
        raise CardDataError(f"{who} : NIR mal formé (15 caractères attendus)")
    pays = _text(_child(rights, L.PAYS), f"{who}, pays")
    return VitaleBeneficiaryData(
        index=i, nom_usuel=nom, prenom=prenom, date_naissance=date, nom_naissance=nom_naissance,
        rang_naissance=rang, qualite=qualite.zfill(2) if qualite else "", nir=nir, pays=pays,
    )


def parse_vitale(identity: bytes, rights: bytes) -> VitaleCardData:
    """Pure parser of the two files' contents (tested directly and fuzzed)."""
    idents = _templates(identity, L.PERSON, "fichier des identités")
    persons = _templates(rights, L.PERSON, "fichier des droits")
    if not idents:
        raise CardDataError("aucun bénéficiaire sur la carte (fichier des identités vide)")
    if len(idents) != len(persons):
        raise CardDataError(
            f"nombre de bénéficiaires incohérent entre les fichiers ({len(idents)} identités, {len(persons)} NIR)"
        )
    card: dict[str, str] = {}
    cards = _templates(rights, L.CARD, "fichier des droits")
    if len(cards) > 1:
        raise CardDataError("plusieurs modèles carte (66) dans le fichier des droits")
    if cards:
        for obj in cards[0].children:
            name = L.CARD_FIELDS.get(obj.tag)
            if name:
                card[name] = _text(obj, f"carte, champ {name}")
    beneficiaries = [_person(i, a, b) for i, (a, b) in enumerate(zip(idents, persons))]
    insured = next((b for b in beneficiaries if b.qualite == "00"), None)
    od = card.get("nir_ouvrant_droit") or (insured.nir if insured else "")
    if od and not _NIR.match(od):
        raise CardDataError("NIR de l'ouvrant droit mal formé (15 caractères attendus)")
    # A non-insured person whose "own" NIR is the insured's has none of their own (see vitale_layout).
    beneficiaries = [
        b if b.qualite == "00" or b.nir != od else replace(b, nir="")
        for b in beneficiaries
    ]
    return VitaleCardData(
        beneficiaries=tuple(beneficiaries), nir_ouvrant_droit=od, nature=L.nature_of(card),
        serial=card.get("serial", ""), card_type=card.get("card_type", ""), card=card,
    )
