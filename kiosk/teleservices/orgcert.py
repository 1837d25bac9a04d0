"""The establishment's IGC-Santé organisation certificates: open them (PKCS#12 or PEM) and say what is wrong.

Shared by `kiosk provision` (refuses to install a bad certificate) and `kiosk doctor` (reports expiry on
site). INSi checks the authentication certificate's CN (`INSI-AUTO` or `INSI-MANU`, else `DESIR_560`) and
its issuer (teleservices.md); nothing here talks to the network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from kiosk.errors import ConfigError

__all__ = ["AUTH_CNS", "ISSUERS", "OrgCertificate", "issuer_problem", "load_ca_bundle", "open_certificate"]

AUTH_CNS = ("INSI-AUTO", "INSI-MANU")
_ORG_CAS = ("AC IGC-SANTE ELEMENTAIRE ORGANISATIONS", "AC IGC-SANTE STANDARD ORGANISATIONS")
ISSUERS = {"prod": _ORG_CAS, "test": tuple(f"TEST {cn}" for cn in _ORG_CAS)}


@dataclass(frozen=True)
class OrgCertificate:
    """A certificate with its private key, as opened from the files the technician brought."""

    cert: x509.Certificate
    key: object  # a cryptography private key
    chain: tuple[x509.Certificate, ...]

    @property
    def cn(self) -> str:
        return _cn(self.cert.subject)

    @property
    def issuer_cn(self) -> str:
        return _cn(self.cert.issuer)

    def days_left(self, now: dt.datetime | None = None) -> int:
        now = now or dt.datetime.now(dt.UTC)
        return (self.cert.not_valid_after_utc - now).days

    def not_yet_valid(self, now: dt.datetime | None = None) -> bool:
        return self.cert.not_valid_before_utc > (now or dt.datetime.now(dt.UTC))

    def to_pkcs12(self, password: bytes) -> bytes:
        """The form the configuration names (`insi.pkcs12`): one file, encrypted with `password`."""
        return pkcs12.serialize_key_and_certificates(
            self.cn.encode(), self.key, self.cert, list(self.chain) or None,  # type: ignore[arg-type]
            serialization.BestAvailableEncryption(password),
        )


def _cn(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def open_certificate(
    path: str | Path, password: str | None = None, key_path: str | Path | None = None
) -> OrgCertificate:
    """Open a PKCS#12 file, or a PEM certificate with its key (in the same file or `key_path`).

    Raises `ConfigError` in French naming the file: unreadable, wrong password, no key, key not matching.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path} : fichier de certificat illisible ({e.strerror or e})") from e
    secret = password.encode() if password else None
    if b"-----BEGIN" in data:
        return _open_pem(path, data, secret, Path(key_path) if key_path else None)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as e:
        raise ConfigError(f"{path} : fichier PKCS#12 illisible ou mot de passe incorrect") from e
    if cert is None or key is None:
        raise ConfigError(f"{path} : le fichier PKCS#12 doit contenir le certificat et sa clé privée")
    _require_rsa(path, key)
    return OrgCertificate(cert, key, tuple(extra))


def _require_rsa(path: Path, key: object) -> None:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{path} : clé RSA attendue (certificats IGC-Santé), trouvé {type(key).__name__}")


def _open_pem(path: Path, data: bytes, secret: bytes | None, key_path: Path | None) -> OrgCertificate:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise ConfigError(f"{path} : aucun certificat PEM lisible") from e
    key_data = data
    if key_path is not None:
        try:
            key_data = key_path.read_bytes()
        except OSError as e:
            raise ConfigError(f"{key_path} : clé privée illisible ({e.strerror or e})") from e
    try:
        key = serialization.load_pem_private_key(key_data, secret)
    except (ValueError, TypeError) as e:
        where = key_path or path
        raise ConfigError(f"{where} : clé privée PEM absente, illisible ou mot de passe incorrect") from e
    cert = certs[0]
    _require_rsa(path, key)
    if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
        raise ConfigError(f"{path} : la clé privée ne correspond pas au certificat")
    return OrgCertificate(cert, key, tuple(certs[1:]))


def load_ca_bundle(path: str | Path) -> list[x509.Certificate]:
    path = Path(path)
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as e:
        raise ConfigError(f"{path} : bundle d'autorités illisible ({e.strerror or e})") from e
    except ValueError as e:
        raise ConfigError(f"{path} : aucun certificat PEM lisible dans le bundle d'autorités") from e


def issuer_problem(cert: OrgCertificate, environment: str, anchors: list[x509.Certificate] | None = None) -> str | None:
    """Why this issuer is not acceptable for `environment`, or None. In demo any issuer goes.

    With `anchors` (the configured CA bundle) holding the issuer's certificate, the signature is checked too.
    """
    expected = ISSUERS.get(environment)
    if expected and cert.issuer_cn not in expected:
        return f"émis par « {cert.issuer_cn} », attendu : {' ou '.join(expected)}"
    issuers = [ca for ca in anchors or [] if ca.subject == cert.cert.issuer]
    for ca in issuers:
        try:
            cert.cert.verify_directly_issued_by(ca)
            return None
        except (InvalidSignature, ValueError, TypeError):
            continue
    if issuers:
        return f"signature invalide : pas émis par l'autorité « {cert.issuer_cn} » du bundle"
    return None
