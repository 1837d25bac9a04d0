"""What the kiosk tells and asks the hospital's patient administration system, in its own words.

No HL7 here: `his.messages` turns these into HL7 v2.5 and `his.replies` reads the answers back
into them. Every `__repr__` is masked, so a stray log line or traceback never carries a patient's name,
birth date or INS.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.desk.outcomes import IdDocument, InsStatus
from kiosk.domain.ins import InsMatricule, InsOid
from kiosk.domain.privacy import mask_date, mask_name

__all__ = [
    "AckCode",
    "AdtEvent",
    "Candidate",
    "Collection",
    "HisIdentity",
    "PatientId",
    "PdqQuery",
    "Reliability",
    "document_code",
    "ins_authority",
]


class AckCode(str, enum.Enum):
    """MSA-1. The enhanced-mode commit codes (CA/CE/CR) are read as their application counterparts."""

    AA = "AA"  # accepted
    AE = "AE"  # application error: the message was understood and refused for its content
    AR = "AR"  # rejected: the receiver could not take it (structure, version, processing id...)

    @classmethod
    def read(cls, text: str) -> AckCode | None:
        value = {"CA": "AA", "CE": "AE", "CR": "AR"}.get(text.strip().upper(), text.strip().upper())
        return cls(value) if value in cls._value2member_map_ else None


class AdtEvent(str, enum.Enum):
    """IHE PAM [ITI-30] patient identity feed, kiosk as a Patient Identity Source."""

    A28 = "A28"  # add person information: the receptionist chose "nouveau patient"
    A31 = "A31"  # update person information: the receptionist picked a PDQ candidate (its IPP travels)


class Reliability(str, enum.Enum):
    """PID-32, identity reliability code, for the four RNIV statuses.

    Values of Interop'Santé's PAM FR (2.11, after the INS) as republished by FR Core
    (`fr-core-cs-identity-status`: PROV, VALI, RECUP, QUAL); older PAM FR versions said VALI for a qualified
    identity, which is why the status never travels without its meaning being fixed here.
    """

    PROV = "PROV"
    VALI = "VALI"
    RECUP = "RECUP"
    QUAL = "QUAL"

    @classmethod
    def of(cls, status: InsStatus) -> Reliability:
        return {
            InsStatus.PROVISOIRE: cls.PROV,
            InsStatus.VALIDEE: cls.VALI,
            InsStatus.RECUPEREE: cls.RECUP,
            InsStatus.QUALIFIEE: cls.QUAL,
        }[status]


class Collection(str, enum.Enum):
    """How the identity was obtained (FR Core `fr-core-cs-method-collection`)."""

    CARTE_VITALE = "CV"  # card read, then INSi with the card
    INSI_TRAITS = "INSI"  # INSi by identity traits, no card
    SAISIE = "SM"  # typed by staff


# ID document kinds (desk enum) -> FR Core `fr-core-cs-mode-validation-identity` codes.
_DOCUMENT_CODES = {
    IdDocument.CNI: "CN",
    IdDocument.PASSEPORT: "PA",
    IdDocument.TITRE_SEJOUR: "CS",
    IdDocument.LIVRET_FAMILLE: "LEP",
    IdDocument.EXTRAIT_NAISSANCE: "AN",
}


def document_code(document: IdDocument) -> str:
    return _DOCUMENT_CODES[document]


# INS OID -> PID-3 CX.4 namespace as PAM FR samples spell it (ANS Gazelle test tool, Interop'Santé).
_INS_NAMESPACES = {
    InsOid.NIR: "ASIP-SANTE-INS-NIR",
    InsOid.NIA: "ASIP-SANTE-INS-NIA",
    InsOid.TEST: "ASIP-SANTE-INS-NIR",  # the test and demo OIDs tell the difference, as in Gazelle's samples
    InsOid.DEMO: "ASIP-SANTE-INS-NIR",
}
INS_TYPE_CODE = "INS"  # CX.5 per PAM FR (ANS's logical model says NH; FR Core FHIR says INS-NIR: see README)


def ins_authority(oid: str) -> PatientId:
    """The assigning authority of an INS (its OID says NIR, NIA, test or demo, never its first digit)."""
    parsed = InsOid.parse(oid)
    return PatientId("", _INS_NAMESPACES[parsed], parsed.value, INS_TYPE_CODE)


@dataclass(frozen=True)
class PatientId:
    """A CX: identifier, assigning authority (namespace & OID & ISO), identifier type code."""

    value: str
    namespace: str = ""
    oid: str = ""
    type_code: str = "PI"

    def with_value(self, value: str) -> PatientId:
        return PatientId(value, self.namespace, self.oid, self.type_code)

    def __repr__(self) -> str:
        return f"PatientId({self.namespace or self.oid}/{self.type_code}, {len(self.value)} car.)"


@dataclass(frozen=True)
class PdqQuery:
    """A PDQ [ITI-21] query: by INS for a qualified identity, by traits otherwise."""

    ins: InsMatricule | None = None
    ins_oid: str = ""
    birth_name: str = ""
    first_name: str = ""
    birth_date: str = ""  # YYYYMMDD (card form) or YYYY-MM-DD (INSi form)
    sex: str = ""

    @property
    def by_ins(self) -> bool:
        return self.ins is not None

    def __repr__(self) -> str:
        if self.ins is not None:
            return f"PdqQuery(ins={self.ins.masked})"
        return f"PdqQuery(nom={mask_name(self.birth_name)!r}, naissance={mask_date(self.birth_date)!r})"


@dataclass(frozen=True)
class Candidate:
    """One patient the hospital system knows, as PDQ returned it."""

    ipp: PatientId
    birth_name: str
    first_names: tuple[str, ...]
    birth_date: str  # as sent (HL7 DTM, YYYYMMDD or shorter)
    sex: str = ""
    used_name: str = ""
    birthplace: str = ""  # INSEE code
    reliability: str = ""  # PID-32 as sent
    ins: InsMatricule | None = None  # when the hospital holds one for this patient

    @property
    def first_name(self) -> str:
        return self.first_names[0] if self.first_names else ""

    def __repr__(self) -> str:
        return (f"Candidate(ipp={self.ipp!r}, nom={mask_name(self.birth_name)!r}, "
                f"naissance={mask_date(self.birth_date)!r})")

    __str__ = __repr__


@dataclass(frozen=True)
class HisIdentity:
    """The identity the receptionist confirmed, as the kiosk sends it (ADT^A28 / A31)."""

    local_id: PatientId  # the kiosk-assigned identifier in the kiosk's own domain
    status: InsStatus
    birth_name: str
    first_names: tuple[str, ...]  # the birth first names, first one first
    birth_date: str  # YYYYMMDD (lunar dates keep their zeros) or YYYY-MM-DD
    sex: str  # M / F / U
    used_name: str = ""
    used_first_name: str = ""
    birthplace: str = ""  # INSEE code (5 characters)
    ipp: PatientId | None = None  # the hospital's identifier, when the receptionist picked a PDQ candidate
    ins: InsMatricule | None = None  # travels only when the status is qualifiée
    ins_oid: str = ""
    document: IdDocument | None = None
    collection: Collection = Collection.CARTE_VITALE

    @property
    def event(self) -> AdtEvent:
        return AdtEvent.A31 if self.ipp is not None else AdtEvent.A28

    @property
    def sends_ins(self) -> bool:
        """INS référentiel and FR Core: the INS travels only with a qualified identity."""
        return self.status is InsStatus.QUALIFIEE and self.ins is not None and bool(self.ins_oid)

    def __repr__(self) -> str:
        return (f"HisIdentity({self.event.value}, statut={self.status.value}, nom={mask_name(self.birth_name)!r}, "
                f"naissance={mask_date(self.birth_date)!r})")

    __str__ = __repr__
