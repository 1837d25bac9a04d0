"""Contextual access to the Web PS (webps-links.md, PDT-INF-547): the auto-submitted XHTML page, opened in
the desk's browser without touching a disk, or printed as a link.

Stable API for the desk and the service:
    build_page(config, page, ins=None, oid=None, access=None, params=None) -> str      the XHTML
    open_page(config, page, ins=None, oid=None, access=None, params=None, *, browser=None, ttl_s=60, wait=True)
        -> OpenedPage                                                                  one-shot loopback page
    render_print(config, page, ins=None, oid=None, access=None, params=None) -> PrintableLink (.text, .qr_png())
    printable_link(config, link) -> PrintableLink                                     the same, for a resolved link
    resolve_link(...) -> WebPsLink                                                     validation only
`access` is "cpx" or "psc" (default `webps.access`); `params` an `EffectiveSettings` from
`kiosk.teleservices.params.current_settings(config)` (read on each call when None). Errors: `LinkError`, `BrowserError`.
"""

from kiosk.teleservices.webps.browser import BrowserError, OpenedPage, open_page
from kiosk.teleservices.webps.link import LinkError, WebPsLink, resolve_link
from kiosk.teleservices.webps.oneshot import OneShotPage
from kiosk.teleservices.webps.printable import PAGE_TITLES, PrintableLink, printable_link, render_print
from kiosk.teleservices.webps.xhtml import CONTENT_TYPE, build_page, render_xhtml

__all__ = [
    "CONTENT_TYPE",
    "PAGE_TITLES",
    "BrowserError",
    "LinkError",
    "OneShotPage",
    "OpenedPage",
    "PrintableLink",
    "WebPsLink",
    "build_page",
    "open_page",
    "printable_link",
    "render_print",
    "render_xhtml",
    "resolve_link",
]
