"""The two ways a param-lps refresh fails: the transport (server down, TLS, HTTP status, size, redirects) or
the data (not XML, hostile XML, no known entry, a URL outside the allow-list). Both keep the last good copy.

Both are `TeleserviceError`s (exit code 3); messages never quote the downloaded bytes beyond a short key name.
"""

from __future__ import annotations

from kiosk.errors import TeleserviceError

__all__ = ["ParamsDataError", "ParamsError", "ParamsFetchError"]


class ParamsError(TeleserviceError):
    """Root of the param-lps errors."""


class ParamsFetchError(ParamsError):
    """The download failed: unreachable, TLS refused, HTTP error, too large, truncated, bad redirect."""


class ParamsDataError(ParamsError):
    """The download arrived but is unusable: not XML, DTD or entities, no known entry, refused URL."""
