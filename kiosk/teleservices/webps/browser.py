"""Opening the Web PS page in the desk's browser (`webps.browser`, Chromium in kiosk mode on the device).

The page is served once on loopback behind a token (see `oneshot`): the matricule stays in memory. The
token is not put in the browser's command line either (every local user can read /proc/PID/cmdline): the
browser is given a launcher file, mode 0600 in a private 0700 directory, that sends it on to the token URL;
the file is removed as soon as the page is served or expires.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.domain.ins import InsMatricule, InsOid
from kiosk.errors import KioskError
from kiosk.teleservices.webps.link import WebPsLink, resolve_link
from kiosk.teleservices.webps.oneshot import OneShotPage
from kiosk.teleservices.webps.xhtml import CONTENT_TYPE, render_xhtml

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["BrowserError", "OpenedPage", "open_page"]

log = logging.getLogger(__name__)


class BrowserError(KioskError):
    """The browser command could not be started, failed, or never fetched the page."""


@dataclass
class OpenedPage:
    link: WebPsLink
    page: OneShotPage
    process: subprocess.Popen[bytes]

    @property
    def served(self) -> bool:
        return self.page.served

    def wait(self, timeout: float | None = None) -> bool:
        """Until the browser fetched the page (True), or it expired / the browser failed (False)."""
        deadline = time.monotonic() + (self.page.ttl_s if timeout is None else timeout)
        while time.monotonic() < deadline:
            if self.page.wait(0.2):
                break
            code = self.process.poll()
            if code not in (None, 0):  # 0: Chromium handed the URL to a running instance and left
                break
        served = self.page.served
        if served:
            self.page.close()
        return served

    def describe(self) -> dict[str, Any]:
        return {**self.link.describe(), "served": self.served, "browser_pid": self.process.pid}


def write_launcher(url: str) -> Path:
    """A private page that forwards the browser to `url` (a loopback token URL: no markup in it)."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    directory = Path(tempfile.mkdtemp(prefix="kiosk-webps-", dir=base if base and os.access(base, os.W_OK) else None))
    path = directory / "ouvrir.html"
    html = ('<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
            f'<meta http-equiv="refresh" content="0;url={url}"><title>Web PS</title></head><body></body></html>')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(html)
    return path


def open_page(config: Config, page: str, ins: str | InsMatricule | None = None, oid: str | InsOid | None = None,
              access: str | None = None, params: Any = None, *, browser: list[str] | None = None,
              ttl_s: float = 60.0, wait: bool = True) -> OpenedPage:
    """Validate, serve the page once on 127.0.0.1 and start `browser` (default `webps.browser`) on it.

    With `wait` (the CLI), returns once the page was fetched or `ttl_s` passed (check `.served`); without,
    returns at once (the desk) and the page expires by itself. Raises `LinkError` or `BrowserError`.
    """
    link = resolve_link(config, page, ins, oid, access, params)
    command = list(browser or config.webps.browser)
    one_shot = OneShotPage(render_xhtml(link), ttl_s=ttl_s, content_type=CONTENT_TYPE).start()
    try:
        launcher = write_launcher(one_shot.url)
    except OSError as e:
        one_shot.close()
        raise BrowserError(f"fichier de lancement du navigateur impossible à écrire ({e.strerror})") from e
    one_shot.add_cleanup(lambda: shutil.rmtree(launcher.parent, ignore_errors=True))
    try:
        process = subprocess.Popen([*command, launcher.as_uri()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as e:
        one_shot.close()
        raise BrowserError(f"navigateur introuvable ou non exécutable : {command[0]!r} ({e.strerror})") from e
    log.info("page Web PS %s ouverte dans le navigateur (%s)", link.page, link.describe()["ins"] or "sans INS")
    opened = OpenedPage(link, one_shot, process)
    if wait:
        opened.wait(ttl_s)
    return opened
