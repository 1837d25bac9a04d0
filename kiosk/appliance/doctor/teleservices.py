"""INSi and the DMP reached as the kiosk reaches them: mutual TLS with the organisation certificate presented.

Both services ask for the client certificate during the TLS handshake; a probe without it fails on a kiosk
that works. This check opens each configured teleservice with its own certificate (`insi.pkcs12`,
`dmp.pkcs12`) and, when the server refuses that certificate, says which one (file, CN, issuer). A DMP that is
not in use (`dmp.enabled = false`) is not probed, and an INSi-only kiosk needs no DMP certificate.
"""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography.x509.oid import NameOID

from kiosk.appliance.doctor.network import read_head, server_date
from kiosk.appliance.doctor.registry import NET_TIMEOUT_S, DoctorContext, Finding, check, fail, ok
from kiosk.config import Config
from kiosk.config.schema_teleservices import DmpConfig, InsiConfig
from kiosk.errors import ConfigError
from kiosk.teleservices import tlsclient

# TLS alerts a server sends when it does not accept the client certificate (OpenSSL reason names).
_REFUSED = ("BAD_CERTIFICATE", "UNKNOWN_CA", "CERTIFICATE_REQUIRED", "CERTIFICATE_UNKNOWN", "ACCESS_DENIED",
            "UNSUPPORTED_CERTIFICATE", "CERTIFICATE_REVOKED", "CERTIFICATE_EXPIRED", "HANDSHAKE_FAILURE")


def _teleservices(config: Config) -> list[tuple[str, str, InsiConfig | DmpConfig, str]]:
    """(label, URL, section, key prefix) of each teleservice configured with a real endpoint."""
    out: list[tuple[str, str, InsiConfig | DmpConfig, str]] = []
    for label, section, key, used in (
        ("INSi", config.insi, "insi", True),
        ("DMP", config.dmp, "dmp", config.dmp.enabled),
    ):
        url = section.resolved_endpoint(config.environment)
        if used and url:
            out.append((label, url, section, key))
    return out


def _who(identity: tlsclient.ClientIdentity) -> str:
    issuer = identity.cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN {identity.subject_cn or '?'}, émis par {str(issuer[0].value) if issuer else '?'}"


def mtls_probe(
    url: str, context: ssl.SSLContext, timeout: float = NET_TIMEOUT_S
) -> tuple[str | None, bool, datetime | None]:
    """Handshake presenting our certificate, then a HEAD. Returns (problem, our certificate refused, server date)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"URL https:// attendue ({url})", False, None
    head = bytearray()
    handshake_done = False
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            handshake_done = True
            # With TLS 1.3 the server judges our certificate after the handshake: its refusal comes on first read,
            # as an alert or, when the alert is lost, as the connection closing before any answer.
            read_head(tls, url, head)
    except ssl.SSLCertVerificationError as e:
        return f"certificat du serveur refusé ({e.verify_message})", False, None
    except ssl.SSLError as e:
        reason = (e.reason or "").upper()
        if any(r in reason for r in _REFUSED):
            return f"le serveur a refusé notre certificat ({e.reason})", True, None
        if handshake_done and not head:
            return "connexion fermée par le serveur juste après la négociation (certificat refusé)", True, None
        return f"échec de la négociation TLS ({e.reason or e})", False, None
    except (ConnectionResetError, BrokenPipeError):
        if handshake_done and not head:
            return "connexion coupée par le serveur juste après la négociation (certificat refusé)", True, None
        return "connexion coupée par le serveur pendant la négociation", False, None
    except socket.gaierror:
        return f"nom d'hôte inconnu ({parts.hostname})", False, None
    except TimeoutError:
        return "délai dépassé", False, None
    except OSError as e:
        return f"injoignable ({e.strerror or e})", False, None
    if not head:
        return "connexion fermée par le serveur sans réponse (certificat refusé)", True, None
    return None, False, server_date(bytes(head))


@check("teleservices", "INSi et DMP en TLS mutuel (certificat d'organisation)", order=51)
def check_teleservices(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    services = _teleservices(ctx.config)
    if not services:
        return ok("démonstration : téléservices simulés, rien à joindre")
    failures, reached, refused = [], [], []
    dates = ctx.cache.setdefault("server_dates", [])
    for label, url, section, key in services:
        where = f"{label} ({urlsplit(url).netloc})"
        try:
            identity = tlsclient.load_identity(section.pkcs12, section.pkcs12_password_file, section.pkcs12_password,
                                               f"{key}.pkcs12")
            context = tlsclient.client_ssl_context(identity, section.ca_bundle)
        except ConfigError as e:
            failures.append(f"{where} : {e}")
            continue
        problem, ours_refused, server_date = mtls_probe(url, context)
        if problem and ours_refused:
            refused.append(f"{key}.pkcs12")
            failures.append(f"{where} : {problem} — {key}.pkcs12 ({_who(identity)})")
        elif problem:
            failures.append(f"{where} : {problem}")
        else:
            reached.append(label)
            if server_date is not None:
                dates.append((label, server_date, datetime.now(UTC)))
    details = {"reached": reached, "failed": failures, "refused_certificates": refused}
    if refused:
        return fail(
            " ; ".join(failures),
            "vérifier que le certificat d'organisation est celui délivré pour ce service "
            "(IGC-Santé, CN INSI-AUTO / INSI-MANU pour INSi), non expiré, et le bon environnement (test / production)",
            **details,
        )
    if failures:
        return fail(" ; ".join(failures), "vérifier le réseau, le proxy, le DNS et le pare-feu de l'établissement "
                    "(sortie HTTPS vers ces serveurs), puis les certificats configurés", **details)
    return ok(f"TLS mutuel réussi avec le certificat d'organisation : {', '.join(reached)}", **details)
