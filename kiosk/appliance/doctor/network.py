"""The network: every teleservice in use reachable over verified TLS, and the clock against their Date headers."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.appliance.doctor.registry import NET_TIMEOUT_S, DoctorContext, Finding, check, fail, ok, warn
from kiosk.config import Config

SKEW_WARN_S = 60.0
SKEW_FAIL_S = 300.0  # VIHF assertions and TLS start failing past a few minutes


def _endpoints(config: Config) -> list[tuple[str, str, str]]:
    """(label, URL, ca_bundle) of every remote service in use that needs no client certificate.

    INSi and the DMP ask for the organisation certificate: `kiosk.appliance.doctor.teleservices` probes them with it.
    """
    out = []
    if config.environment != "demo":
        out.append(("param-lps", config.params.url, config.params.ca_bundle))
    if config.sync.enabled and config.sync.url:
        out.append(("flotte", config.sync.url, config.sync.ca_bundle))
    return out


def tls_probe(url: str, ca_bundle: str, timeout: float = NET_TIMEOUT_S) -> tuple[str | None, datetime | None]:
    """TLS handshake with `url`'s server (verified), then a HEAD for its Date header.

    Returns (problem in French or None, the server's clock or None). No client certificate is presented:
    this tests the network path and the server's certificate, not our authorisation.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"URL https:// attendue ({url})", None
    context = ssl.create_default_context(cafile=ca_bundle or None)
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            head = read_head(tls, url)
    except ssl.SSLCertVerificationError as e:
        return f"certificat du serveur refusé ({e.verify_message})", None
    except ssl.SSLError as e:
        return f"échec de la négociation TLS ({e.reason or e})", None
    except socket.gaierror:
        return f"nom d'hôte inconnu ({parts.hostname})", None
    except TimeoutError:
        return "délai dépassé", None
    except OSError as e:
        return f"injoignable ({e.strerror or e})", None
    return None, server_date(head)


def read_head(tls: ssl.SSLSocket, url: str, head: bytearray | None = None) -> bytes:
    """HEAD `url` on an open TLS connection; the answer's status line and headers (b"" if closed at once).
    `head` keeps what arrived when the read fails half-way (a caller tells a cut answer from none)."""
    parts = urlsplit(url)
    head = bytearray() if head is None else head
    tls.sendall(f"HEAD {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
                .encode("ascii", "replace"))
    while b"\r\n\r\n" not in head and len(head) < 65536:
        chunk = tls.recv(4096)
        if not chunk:
            break
        head += chunk
    return bytes(head)


def server_date(head: bytes) -> datetime | None:
    """The server's clock from an answer's Date header, or None."""
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("date:"):
            try:
                return parsedate_to_datetime(line[5:].strip())
            except (TypeError, ValueError):
                return None
    return None


@check("endpoints", "Téléservices joignables (TLS)", order=50)
def check_endpoints(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    endpoints = _endpoints(ctx.config)
    if not endpoints:
        return ok("démonstration : téléservices simulés, rien à joindre")
    failures, reached, dates = [], [], []
    for label, url, ca_bundle in endpoints:
        problem, server_date = tls_probe(url, ca_bundle)
        if problem:
            failures.append(f"{label} ({urlsplit(url).netloc}) : {problem}")
        else:
            reached.append(label)
            if server_date is not None:
                dates.append((label, server_date, datetime.now(UTC)))
    ctx.cache["server_dates"] = dates
    details = {"reached": reached, "failed": failures}
    if failures:
        return fail(" ; ".join(failures), "vérifier le réseau, le proxy, le DNS et le pare-feu de l'établissement "
                    "(sortie HTTPS vers ces serveurs)", **details)
    return ok(f"négociation TLS réussie : {', '.join(reached)}", **details)


@check("clock", "Horloge", order=55)
def check_clock(ctx: DoctorContext) -> Finding:
    dates = ctx.cache.get("server_dates") or []
    synced = Path("/run/systemd/timesync/synchronized").exists()
    if dates:
        label, server, local = max(dates, key=lambda d: abs((d[2] - d[1]).total_seconds()))
        skew = (local - server).total_seconds()
        details = {"skew_s": round(skew, 1), "reference": label, "ntp_synchronized": synced}
        if abs(skew) > SKEW_FAIL_S:
            return fail(f"horloge décalée de {skew:+.0f} s par rapport à {label}",
                        "activer la synchronisation NTP : `timedatectl set-ntp true` (serveur NTP de l'établissement)",
                        **details)
        if abs(skew) > SKEW_WARN_S:
            return warn(f"horloge décalée de {skew:+.0f} s par rapport à {label}", "vérifier la synchronisation NTP",
                        **details)
        return ok(f"horloge à l'heure ({skew:+.0f} s par rapport à {label})", **details)
    if synced:
        return ok("horloge synchronisée par NTP (systemd-timesyncd)", ntp_synchronized=True)
    return warn("horloge non vérifiée : aucun serveur de référence ni synchronisation NTP constatée",
                "activer la synchronisation NTP : `timedatectl set-ntp true`", ntp_synchronized=False)
