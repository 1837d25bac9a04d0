"""What the kiosk remembers between syncs, and `fleet_status` for `kiosk doctor` and the diagnostics screen.

Everything lives under `[sync] state_dir` (default /var/lib/kiosk/fleet, inside the sync unit's StateDirectory=kiosk):
  metadata/     TUF metadata verified by ngclient (its trusted state; root history included)
  targets/      verified layer files, as ngclient's cache (re-verified against metadata before each use)
  applied.json  the last-good layers and the merged text written, for `--offline` and hand-edit detection
  status.json   last attempt, last success, last error, metadata expiry (0644: the service, running as the
                kiosk user, reads it for `kiosk doctor` and the diagnostics screen; the rest is 0600/0700)
Downloaded files only ever land in targets/ under names derived from their target path, so nothing served
can overwrite metadata/ or the records.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.atomicfile import atomic_write

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = [
    "FleetStatus",
    "StatePaths",
    "expiry_of",
    "fleet_status",
    "format_age",
    "metadata_expiry",
    "metadata_records",
    "read_record",
    "record_attempt",
    "write_record",
]

_ROLES = ("root", "timestamp", "snapshot", "targets")


@dataclass(frozen=True)
class StatePaths:
    root: Path

    @classmethod
    def of(cls, config: Config) -> StatePaths:
        return cls(Path(config.sync.state_dir))

    @property
    def metadata(self) -> Path:
        return self.root / "metadata"

    @property
    def targets(self) -> Path:
        return self.root / "targets"

    @property
    def applied(self) -> Path:
        return self.root / "applied.json"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def lock(self) -> Path:
        return self.root / "sync.lock"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o711)  # status.json reachable by name only
        for directory in (self.metadata, self.targets):
            directory.mkdir(exist_ok=True, mode=0o700)


def read_record(path: Path) -> dict[str, Any] | None:
    """A JSON record, or None when absent or damaged (a damaged record must never stop the kiosk)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_record(path: Path, data: dict[str, Any], mode: int = 0o600) -> None:
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1, default=str).encode("utf-8"), mode)


def metadata_records(metadata_dir: Path) -> dict[str, dict[str, Any] | None]:
    """Each top-level role's trusted metadata (already verified by ngclient when it was stored), None when
    absent or damaged; read once for both `expiry_of` and the versions."""
    return {role: read_record(metadata_dir / f"{role}.json") for role in _ROLES}


def metadata_expiry(metadata_dir: Path) -> dict[str, datetime]:
    """Expiry of each top-level role's trusted metadata."""
    return expiry_of(metadata_records(metadata_dir))


def expiry_of(records: dict[str, dict[str, Any] | None]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for role, record in records.items():
        try:
            out[role] = datetime.fromisoformat(record["signed"]["expires"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            continue
    return out


@dataclass(frozen=True)
class FleetStatus:
    """The sync's health as a technician needs it: how old the configuration is and whether trust has lapsed."""

    enabled: bool
    level: str  # "ok", "warning" or "disabled"
    messages: list[str] = field(default_factory=list)
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    age_s: float | None = None
    expires: datetime | None = None
    expired: bool = False
    last_error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_success", "last_attempt", "expires"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def format_age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} jours"


def fleet_status(config: Config, now: datetime | None = None) -> FleetStatus:
    """Sync age, metadata expiry and last error, read from the state directory (no network, no tuf import)."""
    if not config.sync.enabled:
        return FleetStatus(False, "disabled", ["synchronisation de flotte désactivée ([sync] enabled = false)"])
    now = now or datetime.now(UTC)
    paths = StatePaths.of(config)
    try:
        status = json.loads(paths.status.read_text(encoding="utf-8")) if paths.status.exists() else {}
    except (OSError, ValueError) as e:  # the service runs as the kiosk user: the state directory must let it in
        return FleetStatus(True, "warning", [f"état de synchronisation {paths.status} illisible ({e})"])
    if not isinstance(status, dict):
        return FleetStatus(True, "warning", [f"état de synchronisation {paths.status} endommagé"])
    last_success, last_attempt = _when(status.get("last_success")), _when(status.get("last_attempt"))
    error = status.get("last_error") if isinstance(status.get("last_error"), dict) else None
    expiries = _recorded_expiry(status) or metadata_expiry(paths.metadata)
    expires = min(expiries.values()) if expiries else None
    messages: list[str] = []
    age = (now - last_success).total_seconds() if last_success else None
    if last_success is None:
        messages.append("aucune synchronisation réussie : la configuration locale est en vigueur")
    elif age is not None and age > 2 * config.sync.interval_hours * 3600:
        messages.append(f"dernière synchronisation réussie il y a {format_age(age)} "
                        f"(attendue toutes les {config.sync.interval_hours:g} h)")
    expired = expires is not None and expires <= now
    if expired:
        late = min(expiries, key=lambda r: expiries[r])
        messages.append(f"métadonnées de flotte expirées depuis le {expires:%d/%m/%Y %H:%M} UTC ({late}) : "
                        "la dernière configuration valide reste en vigueur, vérifiez le serveur de flotte")
    elif expires is not None and expires - now < timedelta(hours=config.sync.interval_hours * 2):
        messages.append(f"métadonnées de flotte expirant le {expires:%d/%m/%Y %H:%M} UTC")
    if error and (last_success is None or (_when(error.get("at")) or now) > last_success):
        messages.append(f"dernière tentative en échec : {error.get('reason', '?')}")
    level = "warning" if messages else "ok"
    return FleetStatus(True, level, messages, last_success, last_attempt, age, expires, expired, error)


def _recorded_expiry(status: dict[str, Any]) -> dict[str, datetime]:
    recorded = status.get("expires")
    if not isinstance(recorded, dict):
        return {}
    out = {role: _when(value) for role, value in recorded.items()}
    return {role: when for role, when in out.items() if when is not None}


def record_attempt(paths: StatePaths, now: datetime, error: dict[str, Any] | None) -> None:
    """Update status.json after a sync; the error (kind, reason, detail) is kept until a later success."""
    status = read_record(paths.status) or {}
    status["last_attempt"] = now.isoformat()
    status["expires"] = {role: when.isoformat() for role, when in metadata_expiry(paths.metadata).items()}
    if error is None:
        status["last_success"] = now.isoformat()
        status.pop("last_error", None)
    else:
        status["last_error"] = {**error, "at": now.isoformat()}
    write_record(paths.status, status, 0o644)
