"""param-lps: the DMP parameter file (teleservices.md, PDT-INF-547), downloaded, checked, kept, and read.

The public API, stable for the service and the desk:
    sync(config, url=None) -> SyncResult              one refresh now (raises ParamsFetchError / ParamsDataError)
    refresh_if_due(config) -> SyncResult | None       the service loop's call (never raises for a failed refresh)
    seconds_until_due(config) -> float                when to call it next
    current_settings(config, config_path=None)        effective values with source and age
    load_param_lps(config)                            the parsed good copy in use, if any
"""

from kiosk.teleservices.params.document import Entry, ParamLps, parse_document
from kiosk.teleservices.params.errors import ParamsDataError, ParamsError, ParamsFetchError
from kiosk.teleservices.params.settings import EffectiveSettings, Setting, current_settings, load_param_lps
from kiosk.teleservices.params.sync import SyncResult, refresh_if_due, seconds_until_due, sync

__all__ = [
    "EffectiveSettings",
    "Entry",
    "ParamLps",
    "ParamsDataError",
    "ParamsError",
    "ParamsFetchError",
    "Setting",
    "SyncResult",
    "current_settings",
    "load_param_lps",
    "parse_document",
    "refresh_if_due",
    "seconds_until_due",
    "sync",
]
