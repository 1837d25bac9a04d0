"""DMP web services for software: the TD0.2 existence test with a signed VIHF (teleservices.md)."""

from kiosk.teleservices.dmp.client import DmpClient, PatientOid
from kiosk.teleservices.dmp.td02 import DmpFaultError, DmpState, DmpStatus
from kiosk.teleservices.dmp.vihf import AuthnMethod, Requester, VihfProfile

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
