"""A test PKI shaped like IGC-Santé's (TEST roots and card CAs, holder certificates with the real subject shape),
generated with `cryptography` once per process: the virtual CPx cards carry these certificates."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Holder", "holder_certificate", "test_ca"]

NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2028, 12, 31, tzinfo=dt.UTC)


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


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ca_name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ASIP-SANTE"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IGC-SANTE TEST"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


@functools.lru_cache(maxsize=1)
def test_ca() -> tuple[x509.Certificate, rsa.RSAPrivateKey, x509.Certificate]:
    """(card CA certificate, its key, root certificate): TEST AC IGC-SANTE FORT PERSONNES under its TEST root."""
    root_key, ca_key = _key(), _key()
    root_name = _ca_name("TEST AC RACINE IGC-SANTE FORT")
    ca_name = _ca_name("TEST AC IGC-SANTE FORT PERSONNES")
    root = (
        x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name).public_key(root_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(root_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return ca, ca_key, root


@functools.lru_cache(maxsize=16)
def holder_certificate(holder: Holder) -> bytes:
    """The holder's authentication certificate, DER, issued by the TEST card CA."""
    ca, ca_key, _ = test_ca()
    rdns = [
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
    ]
    if holder.organisation:
        rdns.append(
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, holder.organisation)])
        )
    if holder.gip_cps:
        rdns.append(
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, holder.title)])
        )
    else:
        if holder.organisation_id:
            rdns.append(x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, holder.organisation_id)]))
        rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, holder.title)]))
    if holder.pseudonym:
        rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.PSEUDONYM, holder.pseudonym)]))
    cn = [x509.NameAttribute(NameOID.COMMON_NAME, holder.idnat)]
    if holder.surname:
        cn.append(x509.NameAttribute(NameOID.SURNAME, holder.surname))
    if holder.given_name:
        cn.append(x509.NameAttribute(NameOID.GIVEN_NAME, holder.given_name))
    rdns.append(x509.RelativeDistinguishedName(cn))
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name(rdns)).issuer_name(ca.subject)
        .public_key(_key().public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)
