"""DMP web services for software: the TD0.2 existence test with a signed VIHF (teleservices.md)."""

from kiosk.dmp.client import DmpClient
from kiosk.dmp.td02 import DmpFaultError, DmpState, DmpStatus
from kiosk.dmp.vihf import VihfProfile

__all__ = ["DmpClient", "DmpFaultError", "DmpState", "DmpStatus", "VihfProfile"]
