"""Mutual TLS for the teleservices: PKCS#12 opened in memory, verified server, bounded HTTP exchanges.

The organisation certificate arrives as PKCS#12 (teleservices.md), opened with `cryptography` by
`kiosk.teleservices.orgcert` (shared with provisioning and the doctor). Python's `ssl` only loads keys from a
path, so the key is handed over through an anonymous memory file (`memfd_create`): it lives in RAM only,
has no name in any filesystem, and is closed as soon as the SSL context has loaded it. Nothing of the key
ever touches persistent storage.

`post()` is the one HTTP exchange used by INSi (through zeep's transport) and the DMP: connection timeout,
a whole-exchange deadline checked between reads, a size cap on the answer, and every failure turned into a
`TeleserviceError` whose French message says what went wrong.
"""

from __future__ import annotations

import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import requests
import urllib3.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter

from kiosk.errors import ConfigError, TeleserviceError
from kiosk.teleservices.orgcert import open_certificate

__all__ = [
    "ClientIdentity",
    "HttpLimits",
    "HttpReply",
    "SessionClient",
    "client_ssl_context",
    "load_identity",
    "load_pkcs12",
    "make_session",
    "post",
    "read_password",
]


@dataclass(frozen=True)
class ClientIdentity:
    """A private key with its certificate and the chain that came with it, in memory only."""

    key: RSAPrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def subject_cn(self) -> str:
        names = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    @property
    def subject_dn(self) -> str:
        return self.cert.subject.rfc4514_string()

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def read_password(password_file: str, inline: str, what: str) -> bytes:
    """The PKCS#12 password: from its file (first line) when configured, else inline, else empty."""
    if password_file:
        try:
            text = Path(password_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"{what} : fichier de mot de passe illisible ({password_file} : {e.__class__.__name__})"
            ) from e
        return (text.splitlines() or [""])[0].encode()
    return inline.encode()


def load_pkcs12(path: str, password: bytes, what: str) -> ClientIdentity:
    """Open the organisation certificate (PKCS#12, or PEM, through `kiosk.teleservices.orgcert`); errors name `what`."""
    try:
        opened = open_certificate(path, password.decode() if password else None)
    except ConfigError as e:
        raise ConfigError(f"{what} : {e}") from e
    return ClientIdentity(opened.key, opened.cert, opened.chain)  # type: ignore[arg-type]  # RSA checked there


def load_identity(path: str, password_file: str, inline_password: str, what: str) -> ClientIdentity:
    return load_pkcs12(path, read_password(password_file, inline_password, what), what)


def client_ssl_context(identity: ClientIdentity | None, ca_bundle: str) -> ssl.SSLContext:
    """A verifying client context (TLS 1.2+), holding the client key in memory when one is given."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_bundle:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"bundle d'autorités (ca_bundle) illisible : {ca_bundle} ({e.__class__.__name__})") from e
    if identity is not None:
        pem = identity.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        pem += identity.cert_pem() + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in identity.chain)
        fd = os.memfd_create("kiosk-tls-identity", os.MFD_CLOEXEC)
        try:
            os.write(fd, pem)
            context.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
    return context


class _ContextAdapter(HTTPAdapter):
    """Gives urllib3 our SSL context (client key included) instead of file paths."""

    def __init__(self, context: ssl.SSLContext, pool_size: int) -> None:
        self._context = context
        super().__init__(pool_connections=1, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def make_session(context: ssl.SSLContext, ca_bundle: str, pool_size: int = 8) -> requests.Session:
    """A requests session on `context`; `pool_size` bounds the concurrent connections (the desk's fan-out)."""
    session = requests.Session()
    session.trust_env = False  # no proxy or netrc from the environment: the endpoints are configured
    session.verify = ca_bundle or True
    session.headers["Accept-Encoding"] = "identity"  # no compressed answers: the size cap must hold on what is parsed
    session.mount("https://", _ContextAdapter(context, pool_size))
    session.mount("http://", _ContextAdapter(context, pool_size))
    return session


class SessionClient:
    """Base of the teleservice clients: one mutual-TLS session, closed by `close()` or on leaving `with`."""

    def __init__(self, identity: ClientIdentity | None, ca_bundle: str, pool_size: int) -> None:
        self.session = make_session(client_ssl_context(identity, ca_bundle), ca_bundle, pool_size)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class HttpLimits:
    connect_timeout_s: float = 5.0  # TCP + TLS handshake
    timeout_s: float = 15.0  # the whole exchange, from sending to the last byte of the answer
    max_bytes: int = 2_000_000  # a SOAP answer for one patient is a few kB; anything huge is hostile


@dataclass(frozen=True)
class HttpReply:
    status_code: int
    content_type: str
    content: bytes
    elapsed_s: float


def post(
    session: requests.Session, url: str, body: bytes, headers: dict[str, str], limits: HttpLimits, service: str
) -> HttpReply:
    """POST `body`, read the answer within the limits. Status codes are returned, not raised (SOAP faults come
    with 500); transport failures raise `TeleserviceError`."""
    start = time.monotonic()
    deadline = start + limits.timeout_s
    try:
        response = session.post(
            url, data=body, headers=headers, stream=True, allow_redirects=False,
            timeout=(limits.connect_timeout_s, limits.timeout_s),
        )
    except requests.exceptions.SSLError as e:
        raise TeleserviceError(f"{service} : échec de la négociation TLS ({_tls_reason(e)})") from e
    except requests.exceptions.ConnectTimeout as e:
        raise TeleserviceError(f"{service} : délai de connexion dépassé ({limits.connect_timeout_s:g} s)") from e
    except requests.exceptions.ReadTimeout as e:
        if time.monotonic() - start < limits.timeout_s * 0.9:  # the TLS handshake stalled (connect timeout applies)
            raise TeleserviceError(f"{service} : négociation TLS sans réponse ({limits.connect_timeout_s:g} s)") from e
        raise TeleserviceError(f"{service} : pas de réponse en {limits.timeout_s:g} s") from e
    except requests.exceptions.ConnectionError as e:
        raise TeleserviceError(f"{service} : service injoignable ({_connection_reason(e)})") from e
    except requests.exceptions.RequestException as e:
        raise TeleserviceError(f"{service} : échec de l'envoi ({e.__class__.__name__})") from e
    with response:
        if response.headers.get("Content-Encoding", "identity").lower() not in ("identity", ""):
            raise TeleserviceError(
                f"{service} : réponse compressée non demandée ({response.headers['Content-Encoding']})"
            )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise TeleserviceError(f"{service} : réponse trop volumineuse ({int(declared)} octets annoncés)")
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                chunk = response.raw.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > limits.max_bytes:
                    raise TeleserviceError(f"{service} : réponse trop volumineuse (plus de {limits.max_bytes} octets)")
                if time.monotonic() > deadline:
                    raise TeleserviceError(f"{service} : réponse incomplète après {limits.timeout_s:g} s")
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError as e:
            raise TeleserviceError(f"{service} : réponse interrompue (délai dépassé)") from e
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as e:
            raise TeleserviceError(f"{service} : réponse interrompue ({_connection_reason(e)})") from e
    return HttpReply(
        response.status_code, response.headers.get("Content-Type", ""), b"".join(chunks), time.monotonic() - start
    )


def _tls_reason(error: Exception) -> str:
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificat du serveur non reconnu par le bundle d'autorités configuré"
    if "hostname" in text.lower() or "doesn't match" in text:
        return "le certificat du serveur ne correspond pas à son nom"
    if "ALERT_UNKNOWN_CA" in text or "ALERT_BAD_CERTIFICATE" in text:
        return "le serveur a refusé le certificat d'organisation (autorité non reconnue)"
    if "CERTIFICATE_REQUIRED" in text:
        return "le serveur exige un certificat d'organisation (aucun n'est configuré ?)"
    if "EOF occurred" in text or "ALERT" in text.upper():
        return "le serveur a coupé la négociation (certificat d'organisation absent ou refusé ?)"
    return "voir le journal en mode -vv"


def _connection_reason(error: Exception) -> str:
    text = str(error)
    if "Connection refused" in text:
        return "connexion refusée"
    if "Name or service not known" in text or "NameResolution" in text:
        return "nom d'hôte inconnu"
    if "reset" in text.lower() or "RemoteDisconnected" in text or "aborted" in text.lower():
        return "connexion coupée par le serveur"
    if "timed out" in text.lower():
        return "délai dépassé"
    return error.__class__.__name__
