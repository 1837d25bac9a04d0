"""Reading a Vitale 2 card: every beneficiary, the insured's NIR, the card's nature.

Transport-agnostic (any `CardChannel`); only the four APDUs of the public sequence are sent (plus the T=0
GET RESPONSE / resend the card asks for). Where each field lives is in `vitale_layout` — the public facts and
the project's assumptions are kept there, apart from the parsing. Every malformed answer is a
`CardDataError` with a message that names the step and never a patient value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from drivers.apdu import CountingChannel, Response, exchange
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
    doubtful: tuple[str, ...] = ()  # fields read from an assumed tag that did not parse: left empty, flagged

    def __repr__(self) -> str:  # no patient value in logs or tracebacks
        return (
            f"VitaleBeneficiaryData(index={self.index}, qualite={self.qualite!r}, nir={'oui' if self.nir else 'non'})"
        )


@dataclass(frozen=True)
class VitaleCardData:
    beneficiaries: tuple[VitaleBeneficiaryData, ...]
    nir_ouvrant_droit: str
    nature: str  # real / test / demo / unknown
    serial: str = ""
    card_type: str = ""
    card: dict[str, str] = field(default_factory=dict, compare=False)  # every card-level field read
    apdu_count: int = 0
    doubtful: tuple[str, ...] = ()  # card-level: "carte.<field>", "carte" (template 66), "beneficiaires"

    def __repr__(self) -> str:
        return (
            f"VitaleCardData(beneficiaries={len(self.beneficiaries)}, nature={self.nature!r}, apdus={self.apdu_count})"
        )


def _read_sfi(channel: CardChannel, what: str) -> bytes:
    """READ BINARY by SFI 2, then by offset while the card returns full 256-byte chunks."""
    resp = exchange(channel, L.READ_SFI2)
    if resp.sw in (0x6A82, 0x6981, 0x6986):
        raise CardDataError(f"pas une carte Vitale lisible : {what} impossible ({resp.describe()})")
    data = bytearray(_file_data(resp, what))
    while len(data) % 256 == 0 and data and len(data) < MAX_FILE:
        off = len(data)
        more = exchange(channel, bytes((0x00, 0xB0, off >> 8, off & 0xFF, 0x00)))
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
    counting = CountingChannel(channel)
    resp = exchange(counting, L.SELECT_MF)
    if not resp.ok:
        raise CardDataError(f"pas une carte Vitale lisible : sélection du MF refusée ({resp.describe()})")
    identity = _read_sfi(counting, "lecture des identités (MF, SFI 2)")
    resp = exchange(counting, L.SELECT_VITALE)
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


def _assumed_text(template: tlv.Tlv, tag: int, what: str, valid: Callable[[str], bool]) -> tuple[str, bool]:
    """(value, doubtful) of a field read from an ASSUMED tag: one that does not parse is left empty and flagged."""
    try:
        value = _text(_child(template, tag), what)
    except CardDataError:
        return "", True
    if value and not valid(value):
        return "", True
    return value, False


def _person(i: int, ident: tlv.Tlv, rights: tlv.Tlv | None) -> VitaleBeneficiaryData:
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
    doubtful: list[str] = []
    nom_naissance, bad = _assumed_text(ident, L.NOM_NAISSANCE, who, lambda v: bool(_NAME.match(v)))
    doubtful += ["nom_naissance"] if bad else []
    rang, bad = _assumed_text(ident, L.RANG, who, lambda v: bool(_DIGITS.match(v)))
    doubtful += ["rang_naissance"] if bad else []
    qualite, bad = _assumed_text(
        ident, L.QUALITE, who, lambda v: bool(_DIGITS.match(v)) and v.zfill(2) in L.QUALITE_CODES
    )
    doubtful += ["qualite"] if bad else []
    nir = _text(_child(rights, L.NIR), f"{who}, NIR") if rights is not None else ""
    if nir and not _NIR.match(nir):
        raise CardDataError(f"{who} : NIR mal formé (15 caractères attendus)")
    pays = _text(_child(rights, L.PAYS), f"{who}, pays") if rights is not None else ""
    return VitaleBeneficiaryData(
        index=i, nom_usuel=nom, prenom=prenom, date_naissance=date, nom_naissance=nom_naissance,
        rang_naissance=rang, qualite=qualite.zfill(2) if qualite else "", nir=nir, pays=pays,
        doubtful=tuple(doubtful),
    )


def _card_fields(rights: bytes, doubtful: list[str]) -> dict[str, str]:
    """The `66` template's fields (ASSUMED tags but 80): a field that does not parse is flagged, never fatal."""
    card: dict[str, str] = {}
    try:
        cards = [o for o in tlv.parse(rights) if o.tag == L.CARD]
        if len(cards) > 1 or (cards and not cards[0].constructed):
            raise CardDataError("modèle carte (66) répété ou non construit")
        children = cards[0].children if cards else []
    except CardDataError:
        doubtful.append("carte")
        return card
    for obj in children:
        name = L.CARD_FIELDS.get(obj.tag)
        if not name:
            continue
        try:
            card[name] = _text(obj, f"carte, champ {name}")
        except CardDataError:
            doubtful.append(f"carte.{name}")
    od = card.get("nir_ouvrant_droit", "")
    if od and not _NIR.match(od):
        del card["nir_ouvrant_droit"]
        doubtful.append("carte.nir_ouvrant_droit")
    return card


def parse_vitale(identity: bytes, rights: bytes) -> VitaleCardData:
    """Pure parser of the two files' contents (tested directly and fuzzed). Public facts that do not parse refuse
    the card; a field from an ASSUMED tag (rank, quality, birth name, the `66` template) is left empty and flagged
    in `doubtful`, and the rest of the card is read."""
    idents = _templates(identity, L.PERSON, "fichier des identités")
    persons = _templates(rights, L.PERSON, "fichier des droits")
    if not idents:
        raise CardDataError("aucun bénéficiaire sur la carte (fichier des identités vide)")
    doubtful: list[str] = []
    if len(idents) != len(persons):  # read those both files describe (i-th with i-th), flag the rest
        doubtful.append("beneficiaires")
    card = _card_fields(rights, doubtful)
    beneficiaries = [_person(i, a, b) for i, (a, b) in enumerate(zip(idents, persons))]
    if not beneficiaries:
        raise CardDataError("aucun bénéficiaire décrit par les deux fichiers de la carte")
    insured = next((b for b in beneficiaries if b.qualite == "00"), None)
    od = card.get("nir_ouvrant_droit") or (insured.nir if insured else "")
    if not od:  # no insured known: a NIR read for a person of unknown quality can only be shown as the insured's
        od = next((b.nir for b in beneficiaries if not b.qualite and b.nir), "")
    # A person's "own" NIR is kept only when the quality says whose it is: a non-insured person whose NIR is the
    # insured's has none of their own, and a person of unknown quality never gets one (see vitale_layout).
    beneficiaries = [
        b if b.qualite == "00" or (b.qualite and b.nir != od) else replace(b, nir="")
        for b in beneficiaries
    ]
    return VitaleCardData(
        beneficiaries=tuple(beneficiaries), nir_ouvrant_droit=od, nature=L.nature_of(card),
        serial=card.get("serial", ""), card_type=card.get("card_type", ""), card=card, doubtful=tuple(doubtful),
    )
