"""Build the INSi and DMP clients from the configuration (one place for the CLI, the desk and the service).

The endpoints and trust come from the configuration only. In demo, the composition roots (the `insi` and `dmp`
verbs, `kiosk run`, `kiosk demo`) point it at the embedded simulators first:
`kiosk.sim.teleservices.open_teleservices_or_simulators`.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.x509.oid import NameOID

from kiosk.config import Config
from kiosk.errors import ConfigError
from kiosk.teleservices import tlsclient

if TYPE_CHECKING:
    from kiosk.teleservices.dmp import DmpClient
    from kiosk.teleservices.insi import InsiClient

__all__ = ["Teleservices", "installation_instance", "open_teleservices", "private_tmpdir", "structure_id"]

_DEMO_IDAM = "DEMO-KIOSK"
_DEMO_LPS_OID = "1.2.250.1.999.1.1"
_DEMO_STRUCTURE = "1000000000"  # "1" + a FINESS-shaped placeholder, demo only
_DEMO_RESPONSIBLE = ("3750000001/DEMO", "DEMO Responsable")  # demo only: the simulated establishment's staff shape


@dataclass
class Teleservices:
    insi: InsiClient | None
    dmp: DmpClient | None
    simulated: bool = False  # set by the composition root that pointed the configuration at the simulators


def installation_instance(configured: str) -> str:
    """ContexteLPS/Instance: configured, else a uuid derived from /etc/machine-id (stable per device)."""
    if configured:
        return configured
    try:
        machine = Path("/etc/machine-id").read_text(encoding="ascii").strip()
    except OSError:
        machine = ""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, machine)) if machine else str(uuid.uuid4())


def private_tmpdir(prefix: str) -> Path:
    """A 0700 directory on tmpfs when one is available (/dev/shm), for keys that must not reach a disk."""
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def _limits(section: object) -> tlsclient.HttpLimits:
    return tlsclient.HttpLimits(connect_timeout_s=section.connect_timeout_s, timeout_s=section.timeout_s)  # type: ignore[attr-defined]


def _identity(path: str, password_file: str, password: str, what: str) -> tlsclient.ClientIdentity:
    if not path:
        raise ConfigError(f"{what} non configuré")
    return tlsclient.load_identity(path, password_file, password, what)


def structure_id(config: Config, certificate: tlsclient.ClientIdentity | None) -> str:
    """The structure's national id, as INSi's Emetteur and the VIHF's Identifiant_Structure want it.

    The organisation certificate's OU when it carries one (what a production INSi client sends), else
    "1" + the FINESS (the national id's FINESS form); "" when neither is known (the config check says so).
    """
    if certificate is not None:
        units = certificate.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        if units and str(units[0].value).strip():
            return str(units[0].value).strip()
    return f"1{config.site.finess}" if config.site.finess else ""


def _insi(config: Config, endpoint: str, demo: bool) -> InsiClient:
    from kiosk.teleservices.insi import InsiClient, LpsIdentity

    section = config.insi
    identity = _identity(section.pkcs12, section.pkcs12_password_file, section.pkcs12_password, "insi.pkcs12")
    lps = LpsIdentity(
        idam=config.lps.insi_idam or (_DEMO_IDAM if demo else ""),
        name=config.lps.name,
        version=config.lps.version,
        instance=installation_instance(config.lps.instance),
        emitter=structure_id(config, identity) or (_DEMO_STRUCTURE if demo else ""),
    )
    return InsiClient(
        endpoint,
        lps,
        identity=identity,
        ca_bundle=section.ca_bundle,
        limits=_limits(section),
        environment=config.environment,
    )


def _dmp(config: Config, endpoint: str, demo: bool) -> DmpClient:
    from kiosk.teleservices.dmp import AuthnMethod, DmpClient, PatientOid, Requester, VihfProfile

    section = config.dmp
    identity = _identity(section.pkcs12, section.pkcs12_password_file, section.pkcs12_password, "dmp.pkcs12")
    signer = _identity(
        section.signing_pkcs12,
        section.signing_pkcs12_password_file,
        section.signing_pkcs12_password,
        "dmp.signing_pkcs12",
    )
    profile = VihfProfile(
        structure_id=structure_id(config, signer) or (_DEMO_STRUCTURE if demo else ""),
        secteur_activite=section.secteur_activite,
        lps_name=config.lps.name,
        lps_version=config.lps.version,
        lps_id=config.lps.oid or (_DEMO_LPS_OID if demo else ""),
        lps_homologation=config.lps.dmp_homologation or ("DEMO" if demo else ""),
        vihf_version=section.vihf_version,
        staff_role=section.staff_role,
    )
    # Calls made without a CPx card (the CLI) name the person responsible for them (ANS guide, NameID).
    idnat = section.responsible_idnat.strip() or (_DEMO_RESPONSIBLE[0] if demo else "")
    name = section.responsible_name.strip() or (_DEMO_RESPONSIBLE[1] if demo else "")
    responsible = Requester(idnat, name, authn=AuthnMethod.ORGANISATION_TLS) if idnat and name else None
    return DmpClient(
        endpoint, profile, identity=identity, signer=signer, ca_bundle=section.ca_bundle, limits=_limits(section),
        environment=config.environment, responsible=responsible, patient_oid=PatientOid(section.patient_oid),
    )


@contextmanager
def open_teleservices(config: Config, *, insi: bool = True, dmp: bool = True) -> Iterator[Teleservices]:
    """The clients asked for, closed on exit."""
    dmp = dmp and config.dmp.enabled  # an INSi-only kiosk never builds a DMP client
    insi_endpoint = config.insi.resolved_endpoint(config.environment)
    dmp_endpoint = config.dmp.resolved_endpoint(config.environment)
    demo = config.environment == "demo"
    with ExitStack() as stack:
        insi_client = _insi(config, insi_endpoint, demo) if insi else None
        if insi_client is not None:
            stack.callback(insi_client.close)
        dmp_client = _dmp(config, dmp_endpoint, demo) if dmp else None
        if dmp_client is not None:
            stack.callback(dmp_client.close)
        yield Teleservices(insi_client, dmp_client)
