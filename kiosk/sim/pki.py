"""A throw-away IGC-Santé-shaped PKI for the teleservice simulators, the demo and the tests.

Shapes follow teleservices.md: a CA named like the test IGC-Santé organisation CA, organisation
authentication certificates whose CN is what INSi checks (`INSI-AUTO`, or anything else to see the
`DESIR_560` refusal), an organisation signing certificate for the DMP's VIHF assertion, and a server
certificate for 127.0.0.1/localhost. Client material is written as PKCS#12 with a password file, the form
the kiosk is configured with in production. A second, unrelated CA lets tests present a certificate the
servers must refuse.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["STRUCTURE_ID", "ClientMaterial", "TestPki", "generate_pki"]

CA_NAME = "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"
ROGUE_CA_NAME = "AC INCONNUE DE TEST"
STRUCTURE_ID = "1750000001"  # "1" + the simulated establishment's FINESS (750000001)
_KEY_BITS = 2048


@dataclass(frozen=True)
class ClientMaterial:
    """One organisation certificate as the kiosk receives it: a PKCS#12 file plus its password file."""

    cn: str
    pkcs12: Path
    password_file: Path
    cert_pem: Path

    @property
    def password(self) -> str:
        return self.password_file.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class TestPki:
    """Paths of everything `generate_pki` wrote. `ca_bundle` is what clients trust (the server's chain)."""

    directory: Path
    ca_bundle: Path
    server_cert: Path
    server_key: Path
    auth: ClientMaterial  # CN INSI-AUTO, mutual TLS for INSi and the DMP
    signing: ClientMaterial  # the VIHF signing certificate
    extra: dict[str, ClientMaterial] = field(default_factory=dict)  # other CNs and the rogue CA's certificate


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def _name(cn: str, org: str = "CENTRE HOSPITALIER DE DEMONSTRATION", ou: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _validity(builder: x509.CertificateBuilder, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return builder.not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=days))


def _ca(cn: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _key()
    name = _name(cn, org="ASIP-SANTE")
    builder = _validity(x509.CertificateBuilder(), 3650).subject_name(name).issuer_name(name)
    builder = builder.public_key(key.public_key()).serial_number(x509.random_serial_number())
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    builder = builder.add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
    )
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return key, builder.sign(key, hashes.SHA256())


def _leaf(
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    usage: str,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _key()
    builder = _validity(x509.CertificateBuilder(), 825).subject_name(subject).issuer_name(ca_cert.subject)
    builder = builder.public_key(key.public_key()).serial_number(x509.random_serial_number())
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    signing = usage == "signing"
    builder = builder.add_extension(
        x509.KeyUsage(True, signing, not signing, False, False, False, False, False, False), critical=True
    )
    eku = {"server": [ExtendedKeyUsageOID.SERVER_AUTH], "client": [ExtendedKeyUsageOID.CLIENT_AUTH]}.get(usage)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
    )
    return key, builder.sign(ca_key, hashes.SHA256())


def _write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _client(
    directory: Path, stem: str, cn: str, usage: str, ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate
) -> ClientMaterial:
    ou = STRUCTURE_ID  # IGC-Santé organisation certificates carry the structure's national id in OU
    key, cert = _leaf(ca_key, ca_cert, _name(cn, ou=ou), usage)
    password = secrets.token_urlsafe(12)
    blob = pkcs12.serialize_key_and_certificates(
        stem.encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode())
    )
    return ClientMaterial(
        cn=cn,
        pkcs12=_write(directory / f"{stem}.p12", blob, 0o600),
        password_file=_write(directory / f"{stem}.pass", password.encode() + b"\n", 0o600),
        cert_pem=_write(directory / f"{stem}.crt.pem", _pem(cert)),
    )


def generate_pki(directory: str | os.PathLike[str], *, extra_cns: tuple[str, ...] = ()) -> TestPki:
    """Write a CA, a server certificate and the organisation certificates into `directory`.

    `extra_cns` adds more authentication certificates from the same CA (e.g. "INSI-MANU", "MAUVAIS-CN");
    a certificate named "rogue" (CN INSI-AUTO from an unrelated CA) is always added for refusal tests.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca(CA_NAME)
    ca_bundle = _write(out / "ca.pem", _pem(ca_cert))
    server_key, server_cert = _leaf(
        ca_key, ca_cert, _name("localhost", org="SIMULATEUR TELESERVICES"), "server",
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    server_cert_path = _write(out / "server.crt.pem", _pem(server_cert) + _pem(ca_cert))
    server_key_path = _write(
        out / "server.key.pem",
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        0o600,
    )
    auth = _client(out, "org-auth", "INSI-AUTO", "client", ca_key, ca_cert)
    signing = _client(out, "org-sign", "SIGNATURE ORGANISATION", "signing", ca_key, ca_cert)
    extra = {cn: _client(out, f"org-{i}", cn, "client", ca_key, ca_cert) for i, cn in enumerate(extra_cns)}
    rogue_key, rogue_cert = _ca(ROGUE_CA_NAME)
    extra["rogue"] = _client(out, "rogue", "INSI-AUTO", "client", rogue_key, rogue_cert)
    return TestPki(out, ca_bundle, server_cert_path, server_key_path, auth, signing, extra)
