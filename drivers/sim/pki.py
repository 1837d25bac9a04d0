"""The project's one test PKI, shaped like IGC-Santé's, made with `cryptography` (for the virtual cards, the
teleservice simulators, the demo and the tests; nothing here is trusted in production).

- Card CAs and holder certificates (`card_authority`, `holder_certificate`): what the virtual CPx cards carry,
  with the subject shapes public samples show (cards.md) and fixed dates, so a card's bytes do not change.
- Organisation CAs and certificates (`Authority`): any CN, OU and validity window (to try expired, not-yet-valid,
  wrongly named or wrongly issued ones), written as PKCS#12 (with or without a password file) or PEM.
- The teleservice simulators' set (`generate_pki` -> `TestPki`, teleservices.md): a CA named like the test
  organisation CA, the organisation authentication certificate whose CN INSi checks (`INSI-AUTO`; anything else
  gets `DESIR_560`), the VIHF signing certificate, a server certificate for 127.0.0.1/localhost, and a
  certificate from an unrelated CA that the servers must refuse.

It lives in `drivers/` because that is the lowest layer both users reach (the virtual cards in `drivers.sim`,
the simulators in `kiosk.sim`; `drivers` never imports `kiosk`).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "ORG_CA_PROD", "ORG_CA_TEST", "STRUCTURE_ID", "Authority", "ClientMaterial", "Holder", "KeyKind", "TestPki",
    "Usage", "Validity", "card_authority", "generate_pki", "holder_certificate", "igc_name", "key_pem", "new_key",
    "write_file",
]

KEY_BITS = 2048  # IGC-Santé's end-entity keys are RSA 2048
IGC = "ASIP-SANTE"  # the O of IGC-Santé's CA names
ORG_CA_TEST = "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"  # what issues organisation certificates in test
ORG_CA_PROD = "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"  # the same in production (a test never signs with it)
ROGUE_CA = "AC INCONNUE DE TEST"
CARD_ROOT = "TEST AC RACINE IGC-SANTE FORT"
CARD_CA = "TEST AC IGC-SANTE FORT PERSONNES"
ORGANISATION = "CENTRE HOSPITALIER DE DEMONSTRATION"
STRUCTURE_ID = "1750000001"  # "1" + the simulated establishment's FINESS (750000001)

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class KeyKind(enum.Enum):
    RSA = "rsa"  # what IGC-Santé issues
    EC = "ec"  # P-256, for throw-away servers and CAs where only speed matters


class Usage(enum.Enum):
    """What a certificate is for; each usage has its one set of extensions (`_extensions`)."""

    CA = "ca"
    SERVER = "server"
    CLIENT = "client"  # organisation authentication (mutual TLS)
    SIGNING = "signing"  # organisation signature (VIHF)
    CARD = "card"  # a card holder's authentication certificate, extensions as the cards carry them


@dataclass(frozen=True)
class Validity:
    not_before: dt.datetime
    not_after: dt.datetime

    @classmethod
    def from_now(cls, days: float, start_days: float = -1 / 24) -> Validity:
        """Valid from `start_days` (default: an hour ago, for clock skew) until `days` from now."""
        now = dt.datetime.now(dt.UTC)
        return cls(now + dt.timedelta(days=start_days), now + dt.timedelta(days=days))


CARD_VALIDITY = Validity(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2028, 12, 31, tzinfo=dt.UTC))


def new_key(kind: KeyKind = KeyKind.RSA) -> Key:
    if kind is KeyKind.EC:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def igc_name(cn: str, org: str = ORGANISATION, ou: str = "") -> x509.Name:
    """`C=FR, O=<org>[, OU=<ou>], CN=<cn>`: the shape of IGC-Santé's CA and organisation certificate names."""
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _key_usage(signature: bool = False, encipherment: bool = False, sign_certs: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not sign_certs, content_commitment=signature,
                         key_encipherment=encipherment, data_encipherment=False, key_agreement=False,
                         key_cert_sign=sign_certs, crl_sign=sign_certs, encipher_only=False, decipher_only=False)


def _extensions(builder: x509.CertificateBuilder, usage: Usage, public: PublicKey, issuer: Authority | None,
                path_length: int | None, sans: list[x509.GeneralName]) -> x509.CertificateBuilder:
    if usage is Usage.CARD:  # as the card certificates are read back: key usage and client EKU, nothing more
        builder = builder.add_extension(_key_usage(), critical=True)
        return builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    ca = usage is Usage.CA
    builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                                    critical=True)
    if ca:
        builder = builder.add_extension(_key_usage(sign_certs=True), critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    elif usage is Usage.SIGNING:
        builder = builder.add_extension(_key_usage(signature=True), critical=True)
    else:
        builder = builder.add_extension(_key_usage(encipherment=True), critical=True)
        purpose = ExtendedKeyUsageOID.SERVER_AUTH if usage is Usage.SERVER else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    return builder


def _certificate(subject: x509.Name, key: Key, issuer: Authority | None, usage: Usage, validity: Validity, *,
                 path_length: int | None = None, sans: list[x509.GeneralName] | None = None) -> x509.Certificate:
    """`issuer` None: self-signed by `key`."""
    builder = (
        x509.CertificateBuilder().subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity.not_before).not_valid_after(validity.not_after)
    )
    builder = _extensions(builder, usage, key.public_key(), issuer, path_length, sans or [])
    return builder.sign(issuer.key if issuer else key, hashes.SHA256())


def key_pem(key: Key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_file(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write `data` with `mode` from the start (a private key is never readable by others, even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


LOOPBACK: tuple[x509.GeneralName, ...] = (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))


@dataclass(frozen=True)
class Authority:
    """A CA and what it issues."""

    key: Key
    cert: x509.Certificate

    @classmethod
    def create(cls, cn: str = ORG_CA_TEST, *, org: str = IGC, ou: str = "", parent: Authority | None = None,
               path_length: int | None = 0, validity: Validity | None = None,
               key_kind: KeyKind = KeyKind.RSA) -> Authority:
        """A root (or, with `parent`, an intermediate CA) named `C=FR, O=ASIP-SANTE, CN=<cn>`, valid ten years."""
        key = new_key(key_kind)
        cert = _certificate(igc_name(cn, org, ou), key, parent, Usage.CA, validity or Validity.from_now(3650),
                            path_length=path_length)
        return cls(key, cert)

    @property
    def name(self) -> str:
        return str(self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, subject: str | x509.Name, *, usage: Usage = Usage.CLIENT, days: float = 365,
              start_days: float = -1, validity: Validity | None = None, ou: str = "",
              key_kind: KeyKind = KeyKind.RSA, sans: tuple[x509.GeneralName, ...] = ()
              ) -> tuple[Key, x509.Certificate]:
        """A key and its certificate for `subject` (a CN: an organisation's name shape, with `ou` if given),
        valid from `start_days` to `days` from now unless `validity` says otherwise."""
        key = new_key(key_kind)
        subject_name = igc_name(subject, ou=ou) if isinstance(subject, str) else subject
        cert = _certificate(subject_name, key, self, usage, validity or Validity.from_now(days, start_days),
                            sans=list(sans))
        return key, cert

    def issue_server(self, *, days: float = 825, key_kind: KeyKind = KeyKind.RSA,
                     org: str = "SIMULATEUR TELESERVICES") -> tuple[Key, x509.Certificate]:
        """A server certificate for localhost and 127.0.0.1."""
        return self.issue(igc_name("localhost", org), usage=Usage.SERVER, days=days, start_days=-1 / 24,
                          key_kind=key_kind, sans=LOOPBACK)

    def pkcs12(self, key: Key, cert: x509.Certificate, password: str, label: str) -> bytes:
        """The key, its certificate and this CA's, encrypted with `password` (the form the kiosk is given)."""
        return pkcs12.serialize_key_and_certificates(
            label.encode(), key, cert, [self.cert], serialization.BestAvailableEncryption(password.encode()))

    def pkcs12_file(self, path: Path, cn: str, password: str = "secret", *, usage: Usage = Usage.CLIENT,
                    days: float = 365, start_days: float = -1, ou: str = "") -> Path:
        key, cert = self.issue(cn, usage=usage, days=days, start_days=start_days, ou=ou)
        return write_file(path, self.pkcs12(key, cert, password, cn), 0o600)

    def pem_files(self, cert_path: Path, key_path: Path, cn: str, *, usage: Usage = Usage.CLIENT,
                  days: float = 365, start_days: float = -1, ou: str = "") -> tuple[Path, Path]:
        key, cert = self.issue(cn, usage=usage, days=days, start_days=start_days, ou=ou)
        write_file(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return cert_path, write_file(key_path, key_pem(key), 0o600)


# ---- cards ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    """A certificate subject in one of the shapes public samples show (cards.md):
    PS `CN=<IdNat> + SN + GN, title, C`; CPE adds `O`, `OU`; a "carte de service" has `pseudonym` and no SN/GN;
    an old GIP-CPS subject (`gip_cps`) puts the profession in `OU` beside `O` and has no title."""

    idnat: str
    surname: str
    given_name: str
    title: str
    organisation: str = ""  # CPE: structure name (GIP-CPS: e.g. "TEST")
    organisation_id: str = ""  # CPE: structure national id (OU)
    pseudonym: str = ""  # "carte de service": the only name on the card
    gip_cps: bool = False  # old GIP-CPS subject: OU = the profession (title)

    def subject(self) -> x509.Name:
        def rdn(oid: x509.ObjectIdentifier, value: str) -> x509.RelativeDistinguishedName:
            return x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)])

        rdns = [rdn(NameOID.COUNTRY_NAME, "FR")]
        if self.organisation:
            rdns.append(rdn(NameOID.ORGANIZATION_NAME, self.organisation))
        if self.gip_cps:
            rdns.append(rdn(NameOID.ORGANIZATIONAL_UNIT_NAME, self.title))
        else:
            if self.organisation_id:
                rdns.append(rdn(NameOID.ORGANIZATIONAL_UNIT_NAME, self.organisation_id))
            rdns.append(rdn(NameOID.TITLE, self.title))
        if self.pseudonym:
            rdns.append(rdn(NameOID.PSEUDONYM, self.pseudonym))
        cn = [x509.NameAttribute(NameOID.COMMON_NAME, self.idnat)]
        if self.surname:
            cn.append(x509.NameAttribute(NameOID.SURNAME, self.surname))
        if self.given_name:
            cn.append(x509.NameAttribute(NameOID.GIVEN_NAME, self.given_name))
        rdns.append(x509.RelativeDistinguishedName(cn))
        return x509.Name(rdns)


@functools.lru_cache(maxsize=1)
def card_authority() -> Authority:
    """TEST AC IGC-SANTE FORT PERSONNES under its TEST root, once per process: the card holders' issuer."""
    root = Authority.create(CARD_ROOT, ou="IGC-SANTE TEST", path_length=1, validity=CARD_VALIDITY)
    return Authority.create(CARD_CA, ou="IGC-SANTE TEST", parent=root, validity=CARD_VALIDITY)


@functools.lru_cache(maxsize=16)
def holder_certificate(holder: Holder) -> bytes:
    """The holder's authentication certificate, DER, issued by the TEST card CA."""
    _, cert = card_authority().issue(holder.subject(), usage=Usage.CARD, validity=CARD_VALIDITY)
    return cert.public_bytes(serialization.Encoding.DER)


# ---- the teleservice simulators' set ------------------------------------------------------------------------

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


def _client(ca: Authority, directory: Path, stem: str, cn: str, usage: Usage) -> ClientMaterial:
    # IGC-Santé organisation certificates carry the structure's national id in OU
    key, cert = ca.issue(cn, usage=usage, days=825, start_days=-1 / 24, ou=STRUCTURE_ID)
    password = secrets.token_urlsafe(12)
    return ClientMaterial(
        cn=cn,
        pkcs12=write_file(directory / f"{stem}.p12", ca.pkcs12(key, cert, password, stem), 0o600),
        password_file=write_file(directory / f"{stem}.pass", password.encode() + b"\n", 0o600),
        cert_pem=write_file(directory / f"{stem}.crt.pem", cert.public_bytes(serialization.Encoding.PEM)),
    )


def generate_pki(directory: str | os.PathLike[str], *, extra_cns: tuple[str, ...] = ()) -> TestPki:
    """Write a CA, a server certificate and the organisation certificates into `directory`.

    `extra_cns` adds more authentication certificates from the same CA (e.g. "INSI-MANU", "MAUVAIS-CN");
    a certificate named "rogue" (CN INSI-AUTO from an unrelated CA) is always added for refusal tests.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ca = Authority.create(ORG_CA_TEST)
    server_key, server_cert = ca.issue_server()
    server_chain = server_cert.public_bytes(serialization.Encoding.PEM) + ca.pem()
    auth = _client(ca, out, "org-auth", "INSI-AUTO", Usage.CLIENT)
    signing = _client(ca, out, "org-sign", "SIGNATURE ORGANISATION", Usage.SIGNING)
    extra = {cn: _client(ca, out, f"org-{i}", cn, Usage.CLIENT) for i, cn in enumerate(extra_cns)}
    extra["rogue"] = _client(Authority.create(ROGUE_CA), out, "rogue", "INSI-AUTO", Usage.CLIENT)
    return TestPki(out, write_file(out / "ca.pem", ca.pem()), write_file(out / "server.crt.pem", server_chain),
                   write_file(out / "server.key.pem", key_pem(server_key), 0o600), auth, signing, extra)
