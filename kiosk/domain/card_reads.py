"""From the drivers' card data to the kiosk's domain: `VitaleRead` / `Beneficiary` and the staff card holder.

Accepts either a `ReaderManager` (waits for a card of the right kind, reads it in an exclusive session) or
an already open `CardChannel` (read inside one transaction). The result carries the reader and the card's
insertion counter, so a later use can refuse it if the card was swapped (`ReaderManager.ensure_current`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from drivers.atr import CardFamily, CardKind, classify
from drivers.base import CardChannel
from drivers.cards import cpx as cpx_driver
from drivers.cards import vitale as vitale_driver
from drivers.cards.cpx_layout import CpxCardType
from drivers.errors import CardDataError
from drivers.manager import ReaderManager
from kiosk.domain.ins import InsMatricule, MatriculeError, parse_matricule
from kiosk.domain.patient import Beneficiary, CardNature, VitaleRead

__all__ = ["CpxHolder", "read_cpx", "read_vitale", "verify_pin"]


@dataclass(frozen=True)
class CpxHolder:
    """Who badged in: the holder of a CPS / CPE / CPF, from the card's certificate. The staff identity the desk,
    the journal and the VIHF use is `idnat`, `display_name` (from `prenom`/`nom`, or `pseudonym` on a CPE
    "carte de service" that carries no name), `profession` (+ `profession_code`, TRE_G15) and `card_type`."""

    reader: str
    card_counter: int
    serial: str
    idnat: str
    nom: str  # "" on a "carte de service"
    prenom: str
    profession: str
    card_type: CpxCardType  # CPS / CPE / CPF / CPA, or UNKNOWN (shown "type de carte inconnu", never guessed)
    organisation: str
    organisation_id: str
    not_before: dt.datetime
    not_after: dt.datetime
    test_pki: bool
    family: str = ""
    pseudonym: str = ""
    profession_code: str = ""
    serial_check_ok: bool = True  # Luhn digit of the card number; False is said, the card is still used
    contactless: bool = False
    pin_reference: int | None = None  # None: no PIN on this interface (contactless CPS3)

    @property
    def display_name(self) -> str:
        return cpx_driver.display_name(self.prenom, self.nom, self.pseudonym, self.idnat)

    @property
    def valid_now(self) -> bool:
        return self.not_before <= dt.datetime.now(dt.UTC) <= self.not_after

    def as_dict(self) -> dict[str, object]:
        return {
            "reader": self.reader, "card_counter": self.card_counter, "serial": self.serial,
            "serial_check_ok": self.serial_check_ok, "idnat": self.idnat, "nom": self.nom, "prenom": self.prenom,
            "pseudonym": self.pseudonym, "display_name": self.display_name, "profession": self.profession,
            "profession_code": self.profession_code, "card_type": self.card_type.value,
            "card_type_label": self.card_type.label, "organisation": self.organisation,
            "organisation_id": self.organisation_id, "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(), "test_pki": self.test_pki, "family": self.family,
            "contactless": self.contactless, "pin": self.pin_reference is not None,
        }


def _matricule(value: str, who: str) -> InsMatricule | None:
    if not value:
        return None
    try:
        return parse_matricule(value, strict=False)
    except MatriculeError as e:
        raise CardDataError(f"{who} : NIR illisible ({e.reason})") from None


def to_vitale_read(data: vitale_driver.VitaleCardData, reader: str, counter: int, atr: bytes) -> VitaleRead:
    od = _matricule(data.nir_ouvrant_droit, "ouvrant droit")
    beneficiaries = tuple(
        Beneficiary(
            index=b.index, nom_usuel=b.nom_usuel, prenom=b.prenom, date_naissance=b.date_naissance,
            nom_naissance=b.nom_naissance, rang_naissance=b.rang_naissance, qualite=b.qualite,
            nir_individuel=_matricule(b.nir, f"bénéficiaire {b.index + 1}"), nir_ouvrant_droit=od,
            extra={"pays": b.pays} if b.pays else {}, doubtful=b.doubtful,
        )
        for b in data.beneficiaries
    )
    family = classify(atr).family
    return VitaleRead(
        reader=reader, card_counter=counter, beneficiaries=beneficiaries, nature=CardNature(data.nature),
        serial=data.serial, card_type=family.value if family is not CardFamily.UNKNOWN else data.card_type,
        extra={**data.card, "apdu_count": str(data.apdu_count)}, doubtful=data.doubtful,
    )


def _to_holder(data: cpx_driver.CpxCardData, reader: str, counter: int, atr: bytes) -> CpxHolder:
    return CpxHolder(
        reader=reader, card_counter=counter, serial=data.serial, idnat=data.idnat, nom=data.surname,
        prenom=data.given_name, profession=data.profession, card_type=data.card_type,
        organisation=data.organisation, organisation_id=data.organisation_id, not_before=data.not_before,
        not_after=data.not_after, test_pki=data.test_pki, family=classify(atr).family.value,
        pseudonym=data.pseudonym, profession_code=data.profession_code, serial_check_ok=data.serial_check_ok,
        contactless=data.contactless, pin_reference=data.pin_reference,
    )


def _read(
    source: ReaderManager | CardChannel, reader: str | None, timeout: float | None, kind: CardKind, reader_fn, to_domain
):
    if isinstance(source, CardChannel):
        with source.transaction():
            data = reader_fn(source)
        return to_domain(data, source.reader, source.card_counter, source.atr)
    target = source.wait_for_card(reader, timeout=timeout, kind=None if reader else kind)
    with source.session(target.name) as channel:
        data = reader_fn(channel)
        return to_domain(data, target.name, channel.card_counter, channel.atr)


def read_vitale(
    source: ReaderManager | CardChannel, reader: str | None = None, *, timeout: float | None = None
) -> VitaleRead:
    """Every beneficiary on the Vitale card (in `reader`, or the first reader holding a Vitale card)."""
    return _read(source, reader, timeout, CardKind.VITALE, vitale_driver.read_vitale, to_vitale_read)


def read_cpx(
    source: ReaderManager | CardChannel, reader: str | None = None, *, timeout: float | None = None
) -> CpxHolder:
    """The CPx holder (in `reader`, or the first reader holding a CPx card)."""
    return _read(source, reader, timeout, CardKind.CPX, cpx_driver.read_cpx, _to_holder)


def verify_pin(manager: ReaderManager, holder: CpxHolder, pin: str) -> cpx_driver.PinResult:
    """Check the PIN on the very card `holder` was read from (`CardSwappedError` if it was swapped)."""
    with manager.session(holder.reader, expect_counter=holder.card_counter) as channel:
        return cpx_driver.verify_pin(channel, pin, holder.pin_reference)
