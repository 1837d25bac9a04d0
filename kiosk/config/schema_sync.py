"""`[sync]`: fleet configuration over TUF (appliance.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kiosk.config.binding import doc
from kiosk.domain.urls import url_problem

ID_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class SyncConfig:
    enabled: bool = doc(False, "Fetch this kiosk's configuration from the fleet repository.")
    url: str = doc("", "Fleet repository base URL (TUF metadata under /metadata, targets under /targets).")
    trusted_root: str = doc("/etc/kiosk/fleet-root.json", "The TUF root installed at provisioning.")
    device_id: str = doc("", "This kiosk's id in the fleet repository.")
    site_id: str = doc("", "This kiosk's site in the fleet repository.")
    interval_hours: float = doc(6.0, "How often the timer syncs, hours.", bounds=(0.1, 24 * 31))
    ca_bundle: str = doc("", "PEM bundle of trust anchors for the fleet server's TLS; empty = the system's.")
    timeout_s: float = doc(20.0, "Connection and between-bytes timeout for each download, seconds.", bounds=(0.1, 600))
    state_dir: str = doc(
        "/var/lib/kiosk/fleet",
        "Verified TUF metadata, sync status, last-good layers (inside the sync unit's StateDirectory).",
    )
    local_file: str = doc("", "Technician overrides, layered last; empty = local.toml beside the config file.")

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if self.enabled:
            schemes = ("https", "http") if root.environment == "demo" else ("https",)
            if problem := url_problem(self.url, schemes=schemes):
                yield ("url",), f"URL https:// du dépôt de flotte attendue : {problem}"
            if not self.device_id:
                yield ("device_id",), "identifiant du poste obligatoire quand la synchronisation est active"
            if not self.site_id:
                yield ("site_id",), "identifiant du site obligatoire quand la synchronisation est active"
        for name in ("device_id", "site_id"):
            value = getattr(self, name)
            if value and not ID_PATTERN.fullmatch(value):
                yield (name,), "lettres, chiffres, '-', '_' ou '.' attendus (64 au plus, sans '.' au début)"
        if self.timeout_s <= 0:
            yield ("timeout_s",), "nombre de secondes positif attendu"
