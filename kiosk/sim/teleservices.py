"""Start the INSi and DMP simulators together, with a fresh PKI: for `kiosk demo`, `kiosk sim teleservices`
and the tests.

    handle = start_simulators(workdir)
    ... handle.insi_url, handle.dmp_url, handle.ca_bundle, handle.auth_pkcs12, handle.signing_pkcs12 ...
    handle.stop()

`workdir` receives the PKI (private keys, mode 0600): give it a tmpfs directory (the demo uses
$XDG_RUNTIME_DIR or /dev/shm) and remove it afterwards.

`open_teleservices_or_simulators` is the composition roots' way to the clients: in demo, each teleservice asked for
that has no endpoint is served by these simulators.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from drivers.sim.pki import TestPki, generate_pki
from kiosk.sim.dmp_server import DmpSimulator
from kiosk.sim.insi_server import InsiSimulator
from kiosk.sim.soapserver import SoapServer

if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.teleservices.clients import Teleservices

__all__ = ["TeleserviceSimulators", "open_teleservices_or_simulators", "simulators_where_unset", "start_simulators"]

DMP_BASE_PATH = "/si-dmp-server/v2/services"


@dataclass
class TeleserviceSimulators:
    pki: TestPki
    insi: SoapServer
    dmp: SoapServer
    insi_app: InsiSimulator
    dmp_app: DmpSimulator

    @property
    def insi_url(self) -> str:
        return f"{self.insi.url}/lps"

    @property
    def dmp_url(self) -> str:
        return f"{self.dmp.url}{DMP_BASE_PATH}"

    @property
    def ca_bundle(self) -> Path:
        return self.pki.ca_bundle

    @property
    def auth_pkcs12(self) -> Path:
        return self.pki.auth.pkcs12

    @property
    def auth_password_file(self) -> Path:
        return self.pki.auth.password_file

    @property
    def signing_pkcs12(self) -> Path:
        return self.pki.signing.pkcs12

    @property
    def signing_password_file(self) -> Path:
        return self.pki.signing.password_file

    def set_latency(self, seconds: float) -> None:
        self.insi.latency_s = self.dmp.latency_s = seconds

    def config_toml(self) -> str:
        """The [insi] and [dmp] sections that point a kiosk at these simulators."""
        common = (
            f'pkcs12 = "{self.auth_pkcs12}"\npkcs12_password_file = "{self.auth_password_file}"\n'
            f'ca_bundle = "{self.ca_bundle}"\n'
        )
        return (
            f'[insi]\nendpoint = "{self.insi_url}"\n{common}\n'
            f'[dmp]\nendpoint = "{self.dmp_url}"\n{common}'
            f'signing_pkcs12 = "{self.signing_pkcs12}"\nsigning_pkcs12_password_file = "{self.signing_password_file}"\n'
        )

    def stop(self) -> None:
        self.insi.stop()
        self.dmp.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulators(
    workdir: str | os.PathLike[str],
    *,
    latency_s: float = 0.0,
    slow_s: float = 3.0,
    insi_port: int = 0,
    dmp_port: int = 0,
    extra_cns: tuple[str, ...] = (),
    dmp_shape: str = "production",
) -> TeleserviceSimulators:
    """Generate a PKI in `workdir`, start both servers on 127.0.0.1 (port 0 = any free port)."""
    pki = generate_pki(Path(workdir), extra_cns=extra_cns)
    insi_app = InsiSimulator(slow_s=slow_s)
    dmp_app = DmpSimulator(str(pki.ca_bundle), base_path=DMP_BASE_PATH, slow_s=slow_s, shape=dmp_shape)
    insi = SoapServer("insi", pki, insi_app, latency_s=latency_s, port=insi_port).start()
    try:
        dmp = SoapServer("dmp", pki, dmp_app, latency_s=latency_s, port=dmp_port).start()
    except OSError:
        insi.stop()
        raise
    return TeleserviceSimulators(pki, insi, dmp, insi_app, dmp_app)


@contextmanager
def simulators_where_unset(config: Config, *, insi: bool = True, dmp: bool = True) -> Iterator[tuple[Config, bool]]:
    """In demo, `config` pointed at the simulators (endpoint, client certificates, CA) for each teleservice asked
    for that has no endpoint, and whether any was started: they run on 127.0.0.1 with a PKI in a private tmpfs
    directory, both gone on exit. Other environments, or every endpoint set: `config` as is."""
    from kiosk.teleservices.clients import private_tmpdir

    wanted_insi = insi and not config.insi.resolved_endpoint(config.environment)
    wanted_dmp = dmp and config.dmp.enabled and not config.dmp.resolved_endpoint(config.environment)
    if config.environment != "demo" or not (wanted_insi or wanted_dmp):
        yield config, False
        return
    with ExitStack() as stack:
        workdir = private_tmpdir("kiosk-sim-")
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        sims = stack.enter_context(start_simulators(workdir))
        auth: dict[str, Any] = {"pkcs12": str(sims.auth_pkcs12), "pkcs12_password_file": str(sims.auth_password_file),
                "ca_bundle": str(sims.ca_bundle)}
        if wanted_insi:
            config = replace(config, insi=replace(config.insi, endpoint=sims.insi_url, **auth))
        if wanted_dmp:
            config = replace(config, dmp=replace(
                config.dmp, endpoint=sims.dmp_url, signing_pkcs12=str(sims.signing_pkcs12),
                signing_pkcs12_password_file=str(sims.signing_password_file), **auth,
            ))
        yield config, True


@contextmanager
def open_teleservices_or_simulators(config: Config, *, insi: bool = True, dmp: bool = True) -> Iterator[Teleservices]:
    """`teleservices.clients.open_teleservices` on `config`, in demo on the simulators where no endpoint is set."""
    from kiosk.teleservices.clients import open_teleservices

    with simulators_where_unset(config, insi=insi, dmp=dmp) as (effective, simulated), \
            open_teleservices(effective, insi=insi, dmp=dmp) as services:
        yield replace(services, simulated=simulated)
