"""Opening a Web PS page from the desk, for real: headless Chromium posts the form to the stand-in Web PS."""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed"),
]

HEADLESS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync")


def test_open_the_dmp_page_of_the_selected_beneficiary(tmp_path) -> None:
    with DemoWorld(browser_flags=HEADLESS) as world:
        pidfile = tmp_path / "chromium.pid"
        ports = world.runtime.controller.ports
        command = ports.config.webps.browser
        wrapped = ["sh", "-c", f'echo $$ > "{pidfile}"; exec "$@"', "chromium", *command]
        import dataclasses

        ports.config = dataclasses.replace(ports.config, webps=dataclasses.replace(ports.config.webps, browser=wrapped))
        c = world.runtime.controller
        try:
            world.backend.insert(STAFF_READER, cards.demo_cpe())
            c.wait_idle(30)
            c.submit_pin(DEMO_PIN)
            world.backend.insert(VITALE_READER, cards.demo_vitale_child())
            c.wait_idle(30)
            c.open_page(1, "DossierPatient")
            assert world.webps.wait_for(1, 60), "Chromium never posted the form"
            got = world.webps.received[0]
            assert got.method == "POST" and got.path.endswith("/AccesDirect/DossierPatient")
            assert got.fields["INS"] == ["109076322083489"] and got.fields["typeINS"] == ["1.2.250.1.213.1.4.8"]
        finally:
            try:
                os.killpg(int(pidfile.read_text()), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
