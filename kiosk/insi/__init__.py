"""INSi: get a patient's INS from a Vitale card beneficiary or from identity traits (teleservices.md)."""

from kiosk.insi.client import InsiClient
from kiosk.insi.headers import LpsIdentity
from kiosk.insi.model import (
    InsiIdentity,
    InsiResult,
    InsNumber,
    InvalidTraitsError,
    ReferenceTraits,
    Traits,
)
from kiosk.insi.response import InsiFaultError
from kiosk.states import InsiCode, InsStatus

__all__ = [
    "InsNumber",
    "InsStatus",
    "InsiClient",
    "InsiCode",
    "InsiFaultError",
    "InsiIdentity",
    "InsiResult",
    "InvalidTraitsError",
    "LpsIdentity",
    "ReferenceTraits",
    "Traits",
]
