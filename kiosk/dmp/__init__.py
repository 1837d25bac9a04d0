"""DMP web services for software: the TD0.2 existence test with a signed VIHF (teleservices.md)."""

from kiosk.dmp.client import DmpClient, PatientOid
from kiosk.dmp.td02 import DmpFaultError, DmpState, DmpStatus
from kiosk.dmp.vihf import AuthnMethod, Requester, VihfProfile

__all__ = [
    "AuthnMethod",
    "DmpClient",
    "DmpFaultError",
    "DmpState",
    "DmpStatus",
    "PatientOid",
    "Requester",
    "VihfProfile",
]
