"""`[his]`: the hospital's patient administration system (GAM), reached over MLLP (HL7 v2.5, IHE PAM/PDQ)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kiosk.config.binding import doc

_OID = re.compile(r"^[0-2](?:\.(?:0|[1-9]\d*))+$")
_HD = re.compile(r"^[^|^~\\&]{0,180}$")  # an HD namespace must not carry an HL7 delimiter


def split_endpoint(endpoint: str) -> tuple[str, int] | None:
    """`host:port` (or `mllp://host:port`, `[v6]:port`) -> (host, port); None when malformed."""
    text = endpoint.strip()
    for scheme in ("mllp://", "mllps://"):
        text = text.removeprefix(scheme)
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


@dataclass(frozen=True)
class HisConfig:
    enabled: bool = doc(False, "Send identities to the hospital's patient administration system (PDQ + PAM over MLLP).")
    endpoint: str = doc("", "The interface engine's MLLP listener, host:port; empty in demo = the embedded simulator.")
    tls: bool = doc(False, "MLLP inside TLS (1.2+), the server checked against `ca_bundle`.")
    ca_bundle: str = doc("", "PEM bundle of trust anchors for the TLS server; empty = the system's.")
    pkcs12: str = doc("", "Client certificate for TLS, PKCS#12 (only when the interface engine asks for one).")
    pkcs12_password_file: str = doc("", "File holding that PKCS#12 password (mode 0600).")
    sending_application: str = doc(
        "KIOSK-ACCUEIL", "MSH-3: this kiosk's application name, as the interface engine knows it."
    )
    sending_facility: str = doc(
        "", "MSH-4: the sending facility (e.g. the establishment's FINESS); empty = site.finess."
    )
    receiving_application: str = doc("", "MSH-5: the patient administration system's application name.")
    receiving_facility: str = doc("", "MSH-6: its facility.")
    assigning_authority_oid: str = doc(
        "",
        "OID of the kiosk's own identifier domain (PID-3 CX.4.2 of the kiosk-assigned identifier). Required when "
        "enabled outside demo.",
    )
    timeout_s: float = doc(
        10.0, "Seconds to wait for an answer (ACK or RSP) before the message counts as unacknowledged."
    )

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if self.timeout_s <= 0:
            yield ("timeout_s",), "délai en secondes strictement positif attendu"
        if self.endpoint and split_endpoint(self.endpoint) is None:
            yield ("endpoint",), "adresse hôte:port attendue (ex. moteur-interfaces.chu.local:6661)"
        if self.assigning_authority_oid and not _OID.match(self.assigning_authority_oid):
            yield ("assigning_authority_oid",), "OID attendu (ex. 1.2.250.1.xxx)"
        for key in ("sending_application", "sending_facility", "receiving_application", "receiving_facility"):
            if not _HD.match(getattr(self, key)):
                yield (key,), "nom sans séparateur HL7 (| ^ ~ \\ &) attendu"
        if self.enabled and root.environment != "demo":
            if not self.endpoint:
                yield ("endpoint",), f"obligatoire quand [his] est activé en environnement {root.environment}"
            if not self.assigning_authority_oid:
                yield (
                    ("assigning_authority_oid",),
                    f"obligatoire quand [his] est activé en environnement {root.environment}",
                )
        if self.pkcs12 and not self.tls:
            yield ("pkcs12",), "un certificat client n'a de sens qu'avec tls = true"
