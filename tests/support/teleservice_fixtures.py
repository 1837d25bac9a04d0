"""Fixtures for the teleservice tests: the simulators (with their certificates from the project's one test PKI,
`drivers.sim.pki`) and clients made for them.

Import the fixtures into a test module (`from tests.support import teleservice_fixtures`, or the names).
One pair of simulators per module (generating RSA keys costs a fraction of a second); `reset` puts the
latency back between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kiosk.sim.teleservices import TeleserviceSimulators, start_simulators
from kiosk.teleservices import tlsclient
from kiosk.teleservices.dmp import AuthnMethod, DmpClient, PatientOid, Requester, VihfProfile
from kiosk.teleservices.insi import InsiClient, LpsIdentity

LPS = LpsIdentity(
    idam="IDAM-TEST-01",
    name="KIOSK-TEST",
    version="9.9",
    instance="0b7c2f4e-1111-4222-8333-944455556666",
    emitter="1750000001",
)
PROFILE = VihfProfile(
    structure_id="1750000001", secteur_activite="SA07^1.2.250.1.71.4.2.4",
    lps_name="KIOSK-TEST", lps_version="9.9", lps_id="1.2.250.1.999.1.1", lps_homologation="HOMOLOG-1",
)
# Who asks when no card opened a desk: the person responsible ([dmp] responsible_idnat / responsible_name).
RESPONSIBLE = Requester("3750000001/0042", "MARTIN Claire", authn=AuthnMethod.ORGANISATION_TLS)
# A secretary at the desk (CPE, no health profession) and a doctor (CPS, profession 10 + savoir-faire).
SECRETARY = Requester("3750000001/0007", "DURAND Sophie")
DOCTOR = Requester("810000000001", "LEGRAND Paul", profession="10", savoir_faire="SM26")


@pytest.fixture(scope="module")
def simulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeleserviceSimulators]:
    sims = start_simulators(tmp_path_factory.mktemp("sims"), slow_s=0.5, extra_cns=("INSI-MANU", "MAUVAIS-CN"))
    yield sims
    sims.stop()


@pytest.fixture
def sims(simulators: TeleserviceSimulators) -> Iterator[TeleserviceSimulators]:
    """The module's simulators with latency reset to 0 after the test."""
    yield simulators
    simulators.set_latency(0.0)


def identity(material: Any) -> tlsclient.ClientIdentity:
    return tlsclient.load_identity(str(material.pkcs12), str(material.password_file), "", "test")


@pytest.fixture
def make_insi(sims: TeleserviceSimulators) -> Iterator[Callable[..., InsiClient]]:
    made: list[InsiClient] = []

    def make(*, cert: Any = None, timeout_s: float = 5.0, ca_bundle: str | None = None, environment: str = "demo",
             lps: LpsIdentity = LPS, endpoint: str | None = None) -> InsiClient:
        client = InsiClient(
            endpoint or sims.insi_url, lps, identity=identity(cert or sims.pki.auth),
            ca_bundle=str(sims.ca_bundle) if ca_bundle is None else ca_bundle,
            limits=tlsclient.HttpLimits(connect_timeout_s=2.0, timeout_s=timeout_s), environment=environment,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def make_dmp(sims: TeleserviceSimulators) -> Iterator[Callable[..., DmpClient]]:
    made: list[DmpClient] = []

    def make(*, signer: Any = None, timeout_s: float = 5.0, environment: str = "demo", endpoint: str | None = None,
             profile: VihfProfile = PROFILE, patient_oid: PatientOid = PatientOid.AS_RECEIVED) -> DmpClient:
        client = DmpClient(
            endpoint or sims.dmp_url,
            profile,
            identity=identity(sims.pki.auth),
            signer=identity(signer or sims.pki.signing),
            ca_bundle=str(sims.ca_bundle),
            limits=tlsclient.HttpLimits(connect_timeout_s=2.0, timeout_s=timeout_s),
            environment=environment,
            responsible=RESPONSIBLE,
            patient_oid=patient_oid,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
