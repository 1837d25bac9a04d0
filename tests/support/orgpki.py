"""IGC-Santé-shaped certificates for the provisioning and doctor tests, made with `cryptography`.

A CA named like the test organisation CA, organisation certificates with any CN and validity window (to try
expired, not-yet-valid, wrongly named or wrongly issued ones), written as PKCS#12 or PEM, and a server
certificate for 127.0.0.1 with a tiny HTTPS server that answers HEAD with a chosen Date header.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

TEST_CA = "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"
PROD_CA = "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CH DE TEST"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class Authority:
    name: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str = TEST_CA) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(name, key, cert)

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, cn: str, *, days: int = 365, start_days: int = -1, server: bool = False
              ) -> tuple[ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, x509.Certificate]:
        """Organisation certificates carry RSA keys (IGC-Santé); the test server an EC one (faster)."""
        key = ec.generate_private_key(ec.SECP256R1()) if server else rsa.generate_private_key(65537, 2048)
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=start_days))
            .not_valid_after(now + dt.timedelta(days=days))
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return key, builder.sign(self.key, hashes.SHA256())

    def pkcs12_file(self, path: Path, cn: str, password: str = "secret", **kwargs: int) -> Path:
        key, cert = self.issue(cn, **kwargs)
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            cn.encode(), key, cert, [self.cert], serialization.BestAvailableEncryption(password.encode())))
        return path

    def pem_files(self, cert_path: Path, key_path: Path, cn: str, **kwargs: int) -> tuple[Path, Path]:
        key, cert = self.issue(cn, **kwargs)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path


@contextmanager
def https_server(directory: Path, authority: Authority, date: dt.datetime | None = None) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 (certificate from `authority`) whose Date header is `date` (default: now)."""
    key, cert = authority.issue("localhost", server=True)
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def date_time_string(self, timestamp: float | None = None) -> str:
            return format_datetime(date or dt.datetime.now(dt.UTC), usegmt=True)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/lps"
    finally:
        server.shutdown()
        server.server_close()
