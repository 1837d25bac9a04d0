"""The INSi SOAP headers, added by a zeep plugin: ContexteLPS, MessageID, ContexteBAM, Action (in that order).

zeep plugins get no per-call arguments, so the client puts the call's data (the coverage read from the
Vitale card, the card-swap check) in a context variable for the duration of one call. The headers are
built fresh for every call: the card-based "assertion" (ContexteBAM/COUVERTURE) goes stale after about
20 minutes, so it is never cached. The card-swap check runs last, after the request is fully built and
right before it is sent.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree
from zeep import Plugin

from kiosk.domain.patient import Beneficiary, VitaleRead

__all__ = [
    "ACTION_PREFIX",
    "CTXBAM",
    "CTXLPS",
    "CURRENT_CALL",
    "WSA",
    "CallData",
    "Coverage",
    "InsiHeaders",
    "LpsIdentity",
    "coverage_from_card",
    "iso_date",
    "xsd_date",
]

CTXLPS = "urn:siram:lps:ctxlps"
CTXBAM = "urn:siram:bam:ctxbam"
WSA = "http://www.w3.org/2005/08/addressing"
ACTION_PREFIX = "urn:ServiceIdentiteCertifiee:1.0.0:"


@dataclass(frozen=True)
class LpsIdentity:
    """Who is calling: the software's authorisation (IDAM), name, version, this installation's instance."""

    idam: str
    name: str
    version: str
    instance: str
    emitter: str  # ContexteLPS/Emetteur and ContexteBAM/Emetteur: the structure's national id ("1" + FINESS)

    @property
    def urn(self) -> str:
        return f"urn:lps:{self.name}:{self.version}"


@dataclass(frozen=True)
class Coverage:
    """ContexteBAM/COUVERTURE, filled from the card just read (empty for a traits search)."""

    grand_regime: str = ""
    organisme: str = ""
    code_centre: str = ""
    assure_num: str = ""
    assure_cle: str = ""
    beneficiaire_num: str = ""
    beneficiaire_cle: str = ""
    date_certification: str = ""
    date_naissance: str = ""
    rang: str = ""
    porteur: str = ""


def iso_date(card_date: str) -> str:
    """A card date (`YYYYMMDD`, lunar zeros possible) written `YYYY-MM-DD` like every date of the service family.

    The official CTXBAM XSD's `DateLunaire` is the pattern `\\d{4}-\\d{2}-\\d{2}`: lunar dates keep their zeros
    (`1965-00-00`). Anything else is returned unchanged, for the schema to refuse.
    """
    digits = card_date.strip()
    if len(digits) == 8 and digits.isdigit():
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return digits


def xsd_date(value: str) -> str:
    """`Nir/DateCertification` is an `xsd:date`: a real calendar date, else nothing is sent."""
    try:
        return dt.date.fromisoformat(iso_date(value)).isoformat()
    except ValueError:
        return ""


def coverage_from_card(read: VitaleRead | None, beneficiary: Beneficiary) -> Coverage:
    extra = read.extra if read else {}
    insured, own = beneficiary.nir_ouvrant_droit, beneficiary.nir_individuel
    return Coverage(
        grand_regime=extra.get("regime", ""),
        organisme=extra.get("caisse", ""),
        code_centre=extra.get("centre", ""),
        assure_num=insured.number if insured else "",
        assure_cle=insured.key if insured else "",
        beneficiaire_num=own.number if own else "",
        beneficiaire_cle=own.key if own else "",
        date_certification=xsd_date(beneficiary.extra.get("date_certification", "")),
        date_naissance=iso_date(beneficiary.date_naissance),
        rang=str(int(beneficiary.rang_naissance)) if beneficiary.rang_naissance.isdigit() else "",  # xsd:integer
        porteur="1" if beneficiary.is_insured else "0",
    )


@dataclass
class CallData:
    """One call's data, read by the plugin. `message_id` is filled in by the plugin."""

    coverage: Coverage | None = None
    before_send: Callable[[], None] | None = None
    message_id: str = field(default="")


CURRENT_CALL: contextvars.ContextVar[CallData | None] = contextvars.ContextVar("insi_call", default=None)


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


class InsiHeaders(Plugin):
    def __init__(self, lps: LpsIdentity) -> None:
        self.lps = lps

    def egress(self, envelope, http_headers, operation, binding_options):  # type: ignore[no-untyped-def]
        call = CURRENT_CALL.get() or CallData()
        call.message_id = f"uuid:{uuid.uuid4()}"
        soap_ns = etree.QName(envelope).namespace
        header = envelope.find(f"{{{soap_ns}}}Header")
        if header is None:
            header = etree.Element(f"{{{soap_ns}}}Header")
            envelope.insert(0, header)
        header.append(self._contexte_lps())
        _sub(header, WSA, "MessageID", call.message_id)
        header.append(self._contexte_bam(call.coverage))
        _sub(header, WSA, "Action", ACTION_PREFIX + operation.name)
        if call.before_send is not None:
            call.before_send()
        return envelope, http_headers

    def _contexte_lps(self) -> etree._Element:
        root = etree.Element(
            f"{{{CTXLPS}}}ContexteLPS", {"Nature": "CTXLPS", "Version": "01_00"}, nsmap={"ctxlps": CTXLPS}
        )
        _sub(root, CTXLPS, "Id", f"uuid:{uuid.uuid4()}")
        _sub(root, CTXLPS, "Temps", _now())
        _sub(root, CTXLPS, "Emetteur", self.lps.emitter)
        lps = _sub(root, CTXLPS, "LPS")
        _sub(lps, CTXLPS, "IDAM", self.lps.idam, R="4")
        _sub(lps, CTXLPS, "Version", self.lps.version)
        _sub(lps, CTXLPS, "Instance", self.lps.instance)
        _sub(lps, CTXLPS, "Nom", self.lps.urn)
        return root

    def _contexte_bam(self, coverage: Coverage | None) -> etree._Element:
        root = etree.Element(f"{{{CTXBAM}}}ContexteBAM", {"Version": "01_02"}, nsmap={"ctxbam": CTXBAM})
        _sub(root, CTXBAM, "Id", f"uuid:{uuid.uuid4()}")
        _sub(root, CTXBAM, "Temps", _now())
        _sub(root, CTXBAM, "Emetteur", self.lps.emitter)
        couverture = _sub(root, CTXBAM, "COUVERTURE")
        if coverage is None:
            return root
        for name, value in (
            ("GrandRegime", coverage.grand_regime),
            ("Organisme", coverage.organisme),
            ("CodeCentre", coverage.code_centre),
        ):
            if value:
                _sub(couverture, CTXBAM, name, value)
        if coverage.assure_num:
            ident = _sub(_sub(couverture, CTXBAM, "ASSURE"), CTXBAM, "Id")
            _sub(ident, CTXBAM, "Num", coverage.assure_num)
            _sub(ident, CTXBAM, "Cle", coverage.assure_cle)
        beneficiaire = _sub(couverture, CTXBAM, "BENEFICIAIRE")
        if coverage.beneficiaire_num:
            nir = _sub(beneficiaire, CTXBAM, "Nir")
            _sub(nir, CTXBAM, "Num", coverage.beneficiaire_num)
            _sub(nir, CTXBAM, "Cle", coverage.beneficiaire_cle)
            if coverage.date_certification:
                _sub(nir, CTXBAM, "DateCertification", coverage.date_certification)
        if coverage.date_naissance:
            _sub(beneficiaire, CTXBAM, "DateNai", coverage.date_naissance)
        if coverage.rang:
            _sub(beneficiaire, CTXBAM, "Rang", coverage.rang)
        _sub(beneficiaire, CTXBAM, "Porteur", coverage.porteur)
        return root
