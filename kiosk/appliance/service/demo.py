"""The demo's world: virtual readers and cards, INSi / DMP / param-lps / Web PS simulators on 127.0.0.1,
and a configuration pointing at them. Needs no hardware, no network and no root.

Private keys of the simulators' PKI and the demo's state (audit journal, param-lps copy) live in a private
temporary directory (tmpfs when there is one), removed on exit.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from drivers.sim.backend import SimBackend
from kiosk.appliance.service.runtime import DeskRuntime
from kiosk.appliance.service.wiring import LivePorts
from kiosk.config import Config, parse_config
from kiosk.errors import ConfigError

__all__ = ["DEMO_PIN", "STAFF_READER", "VITALE_READER", "DemoHands", "DemoWorld"]

STAFF_READER = "Lecteur CPx (simulé)"
VITALE_READER = "Lecteur Vitale (simulé)"
DEMO_PIN = "1234"
# Checks about the machine (its configuration file, pcscd, serial ports, systemd) mean nothing to the demo;
# "endpoints" probes TLS without a client certificate, which the mutual-TLS simulators refuse.
DEMO_SKIPPED_CHECKS = frozenset({"config", "pcscd", "readers", "serial", "watchdog", "endpoints"})


def _private_dir() -> Path:
    for base in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if base and os.access(base, os.W_OK):
            return Path(tempfile.mkdtemp(prefix="kiosk-demo-", dir=base))
    return Path(tempfile.mkdtemp(prefix="kiosk-demo-"))


@dataclass
class DemoWorld:
    """`with DemoWorld() as world:` then `world.runtime.controller`, `world.backend.insert(...)`."""

    latency_s: float = 0.0
    metrics: Any = None  # kiosk.appliance.metrics.desk.KioskMetrics: probes the teleservice clients, hears the readers
    browser_flags: tuple[str, ...] = ("--no-first-run", "--disable-sync",
                                      "--disable-background-networking", "--disable-component-update")
    workdir: Path = field(default_factory=_private_dir)
    # (staff, patient) PC/SC reader names: the desk reads through pcscd there instead of the simulated readers
    # (tests on vsmartcard's vpcd); `backend` then stays unused.
    pcsc_readers: tuple[str, str] | None = None
    backend: SimBackend = field(init=False)
    runtime: DeskRuntime = field(init=False)
    config: Config = field(init=False)
    sims: Any = field(init=False)
    webps: Any = field(init=False)
    his: Any = field(init=False)  # kiosk.sim.his_server.HisSimulator: the hospital's patient administration system
    _stack: contextlib.ExitStack = field(init=False, default_factory=contextlib.ExitStack)

    def __enter__(self) -> Self:
        from kiosk.sim.his_server import HisSimulator
        from kiosk.sim.paramlps import ParamLpsServer
        from kiosk.sim.teleservices import start_simulators
        from kiosk.sim.webps import WebPsStandIn

        stack = self._stack
        try:
            stack.callback(shutil.rmtree, self.workdir, ignore_errors=True)
            self.sims = stack.enter_context(start_simulators(self.workdir / "pki", latency_s=self.latency_s))
            params = ParamLpsServer(self.sims.pki).start()
            stack.callback(params.stop)
            self.webps = stack.enter_context(WebPsStandIn(self.sims.pki).start())
            self.his = stack.enter_context(HisSimulator(latency_s=self.latency_s))
            self.config = self._config(params)
            if self.metrics is not None:
                self.metrics.reconfigure(self.config)
            self.backend = SimBackend((STAFF_READER, VITALE_READER))
            self.runtime = DeskRuntime(
                self.config,
                lambda c: LivePorts(c, backends=None if self.pcsc_readers else [self.backend],
                                    skip_checks=DEMO_SKIPPED_CHECKS, metrics=self.metrics),
                anchor_journal=False,
            )
            self.runtime.start()
            stack.callback(self.runtime.stop)
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _browser(self) -> list[str]:
        """Chromium on the stand-in Web PS: trusts the simulators' server key only (SPKI pin), own profile."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = x509.load_pem_x509_certificates(Path(self.sims.pki.server_cert).read_bytes())[0]
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
        return ["chromium", *self.browser_flags, f"--user-data-dir={self.workdir / 'chromium'}",
                f"--ignore-certificate-errors-spki-list={pin}"]

    def _config(self, params: Any) -> Config:
        state = self.workdir / "state"
        state.mkdir(mode=0o700)
        backend, (staff, patient) = ("pcsc", self.pcsc_readers) if self.pcsc_readers else \
            ("sim", (STAFF_READER, VITALE_READER))
        text = f"""
environment = "demo"
state_dir = "{state}"

[site]
name = "Accueil (démonstration)"

[[readers]]
name = "cpx"
role = "staff"
backend = "{backend}"
match = "{staff}"

[[readers]]
name = "vitale"
role = "patient"
backend = "{backend}"
match = "{patient}"

[printer]
kind = "file"
target = "{self.workdir / 'imprimante.bin'}"

[params]
url = "{params.url()}"
ca_bundle = "{params.ca_bundle}"
allowed_domains = ["127.0.0.1", "dmp.fr", "dmp.gouv.fr", "monespacesante.fr"]

[webps]
cpx_base = "{self.webps.cpx_base}"
psc_base = "{self.webps.psc_base}"
browser = {json.dumps(self._browser())}

[his]
enabled = true
endpoint = "{self.his.endpoint}"

{self.sims.config_toml()}
"""
        config, problems = parse_config(text, "<démonstration>")
        if problems:
            raise ConfigError("configuration de démonstration invalide : " + "; ".join(map(str, problems)))
        return config


class DemoHands:
    """F2 / F3 / F4 in the TUI: a staff card in and out (each insertion the next of `DEMO_STAFF_CARDS`: the CPS3
    CPE, the CPE "carte de service", the CPS4), the next Vitale card, take it out."""

    def __init__(self, world: DemoWorld) -> None:
        from drivers.sim.virtual_cards import catalogue as cards

        self.world = world
        self.cards = cards
        self.profiles = list(cards.VITALE_PROFILES)
        self.next = 0
        self.staff_in = False
        self.next_staff = 0

    def toggle_staff(self) -> str:
        if self.staff_in:
            self.world.backend.remove(STAFF_READER)
            self.staff_in = False
            return "carte professionnelle retirée"
        card = self.cards.DEMO_STAFF_CARDS[self.next_staff % len(self.cards.DEMO_STAFF_CARDS)]()
        self.next_staff += 1
        self.world.backend.insert(STAFF_READER, card)
        self.staff_in = True
        return f"{card.label} insérée (code de démonstration : {DEMO_PIN})"

    def next_vitale(self) -> str:
        name = self.profiles[self.next % len(self.profiles)]
        self.next += 1
        self.world.backend.insert(VITALE_READER, self.cards.VITALE_PROFILES[name]())
        return f"carte Vitale « {name} » insérée"

    def remove_vitale(self) -> str:
        self.world.backend.remove(VITALE_READER)
        return "carte Vitale retirée"
