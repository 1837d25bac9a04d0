"""The auto-submitted XHTML page of PDT-INF-547 (contextual access to the Web PS by POST).

XHTML 1.0 Strict as the sheet asks; the sheet's own example is not valid Strict (inputs directly in the
form, an upper-case METHOD attribute), so the inputs sit in a <div> and `method="post"` is written the way
the DTD spells it (browsers send a POST either way; the Chromium test checks it). A <noscript> button
covers a browser with JavaScript off. Every value goes through XML escaping, validated or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from kiosk.domain.ins import InsMatricule, InsOid
from kiosk.teleservices.webps.link import WebPsLink, resolve_link

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["CONTENT_TYPE", "build_page", "render_xhtml"]

CONTENT_TYPE = "application/xhtml+xml; charset=utf-8"
_DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">')


def _attr(value: str) -> str:
    """A double-quoted attribute value, escaped (&, <, >, ")."""
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def render_xhtml(link: WebPsLink) -> str:
    fields = ""
    if link.ins is not None and link.oid is not None:
        fields = (f'        <input type="hidden" name="INS" value={_attr(link.ins.value)} />\n'
                  f'        <input type="hidden" name="typeINS" value={_attr(link.oid.value)} />\n')
    return (
        f"{_DOCTYPE}\n"
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr" lang="fr">\n'
        "  <head>\n"
        f'    <meta http-equiv="Content-Type" content="{CONTENT_TYPE}" />\n'
        '    <meta name="referrer" content="no-referrer" />\n'
        "    <title>Redirection vers le DMP</title>\n"
        "  </head>\n"
        '  <body onload="document.forms[0].submit()">\n'
        f"    <p>Redirection vers le DMP en cours ({escape(link.page)}), veuillez patienter.</p>\n"
        f'    <form action={_attr(link.url)} method="post">\n'
        "      <div>\n"
        f"{fields}"
        '        <noscript><div><input type="submit" value="Continuer vers le DMP" /></div></noscript>\n'
        "      </div>\n"
        "    </form>\n"
        "  </body>\n"
        "</html>\n"
    )


def build_page(config: Config, page: str, ins: str | InsMatricule | None = None, oid: str | InsOid | None = None,
               access: str | None = None, params: Any = None) -> str:
    """The XHTML for `page` (validated first; `LinkError` and no page when anything is wrong).

    `access`: "cpx" or "psc" (default `webps.access`); `params`: an `EffectiveSettings` or None.
    The result holds the matricule in clear: keep it off disks and logs.
    """
    return render_xhtml(resolve_link(config, page, ins, oid, access, params))
