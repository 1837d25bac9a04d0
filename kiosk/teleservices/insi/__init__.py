"""INSi: get a patient's INS from a Vitale card beneficiary or from identity traits (teleservices.md)."""

from kiosk.domain.states import InsiCode, InsStatus
from kiosk.teleservices.insi.client import InsiClient
from kiosk.teleservices.insi.headers import LpsIdentity
from kiosk.teleservices.insi.model import (
    InsiIdentity,
    InsiResult,
    InsNumber,
    InvalidTraitsError,
    ReferenceTraits,
    Traits,
)
from kiosk.teleservices.insi.response import InsiFaultError

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
