"""INSi: get a patient's INS from a Vitale card beneficiary or from identity traits (teleservices.md)."""

from kiosk.insi.client import InsiClient
from kiosk.insi.headers import LpsIdentity
from kiosk.insi.model import (
    CodeCR,
    IdentityStatus,
    InsiIdentity,
    InsiResult,
    InsNumber,
    InvalidTraitsError,
    ReferenceTraits,
    Traits,
)
from kiosk.insi.response import InsiFaultError

__all__ = [
    "CodeCR",
    "IdentityStatus",
    "InsNumber",
    "InsiClient",
    "InsiFaultError",
    "InsiIdentity",
    "InsiResult",
    "InvalidTraitsError",
    "LpsIdentity",
    "ReferenceTraits",
    "Traits",
]
