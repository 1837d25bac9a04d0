"""`[sync]`: fleet configuration over TUF (appliance.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kiosk.config.binding import doc


@dataclass(frozen=True)
class SyncConfig:
    enabled: bool = doc(False, "Fetch this kiosk's configuration from the fleet repository.")
    url: str = doc("", "Fleet repository base URL (TUF metadata under /metadata, targets under /targets).")
    trusted_root: str = doc("/etc/kiosk/fleet-root.json", "The TUF root installed at provisioning.")
    device_id: str = doc("", "This kiosk's id in the fleet repository.")
    site_id: str = doc("", "This kiosk's site in the fleet repository.")
    interval_hours: float = doc(6.0, "How often the timer syncs, hours.")

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if self.enabled:
            if not self.url.startswith("https://") and root.environment != "demo":
                yield ("url",), "URL https:// du dépôt de flotte attendue"
            if not self.device_id:
                yield ("device_id",), "identifiant du poste obligatoire quand la synchronisation est active"
