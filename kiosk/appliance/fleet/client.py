"""`kiosk sync`: fetch this kiosk's layers through TUF, stack them, validate, replace the configuration file.

Order of a sync, each step a gate (a refusal at any step writes nothing but status.json):
 1. ngclient refreshes root -> timestamp -> snapshot -> targets from the provisioned root (`[sync] trusted_root`):
    signatures, thresholds, versions (rollback), expiry (freeze), lengths and hashes (mix-and-match, tampering).
 2. Each layer target (defaults, site, device) is looked up in the signed targets, bounded in size, downloaded
    or taken from the verified cache, and checked against its signed length and hashes.
 3. The layers are stacked with the device-bound [sync] section and the technician's local layer on top, the
    result validated like any configuration file, then written atomically; the running service's
    `ConfigWatcher` picks it up from the directory watch.
A hand edit of the merged file (`kiosk config set`) is noticed by comparing with what the last sync wrote,
and carried over into the local layer so that the sync does not undo it; at the first sync, what provisioning
wrote is carried over the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.appliance.fleet.layers import (
    DEVICE_BOUND,
    LayerError,
    changed_values,
    flatten,
    layer_targets,
    merge,
    parse_layer,
)
from kiosk.appliance.fleet.state import (
    StatePaths,
    expiry_of,
    metadata_records,
    read_record,
    record_attempt,
    write_record,
)
from kiosk.appliance.fleet.transport import SyncLimits
from kiosk.atomicfile import atomic_write
from kiosk.errors import KioskError

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["SyncError", "SyncReport", "local_file", "sync"]


class SyncError(KioskError):
    """A sync that changed nothing. `kind`: network, security, too_large, invalid, setup or busy."""

    def __init__(self, kind: str, reason: str, detail: str = "", problems: list[str] | None = None) -> None:
        super().__init__(reason + (f" ({detail})" if detail else ""))
        self.kind, self.reason, self.detail = kind, reason, detail
        self.problems = problems or []

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "detail": self.detail, "problems": self.problems}


@dataclass
class LayerInfo:
    name: str
    target: str
    present: bool
    sha256: str = ""
    length: int = 0


@dataclass
class SyncReport:
    path: str
    changed: bool
    offline: bool
    layers: list[LayerInfo]
    local_file: str
    local_present: bool
    carried_over: list[str] = field(default_factory=list)  # hand-edited keys moved into the local layer
    removals_ignored: list[str] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    expires: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def local_file(config: Config, config_path: Path) -> Path:
    """The technician's layer: `[sync] local_file`, else local.toml beside the configuration file."""
    if config.sync.local_file:
        return Path(config.sync.local_file)
    return Path(config_path).resolve().parent / "local.toml"


def sync(
    config: Config, config_path: Path, *, offline: bool = False, limits: SyncLimits | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """One sync (or, `offline`, a re-merge of the last-good layers with the local layer). Raises `SyncError`."""
    if not config.sync.enabled:
        raise SyncError("setup", "synchronisation de flotte désactivée ([sync] enabled = false)")
    if not offline and not config.sync.url:
        raise SyncError("setup", "adresse du dépôt de flotte absente ([sync] url)")
    limits = limits or SyncLimits(timeout_s=config.sync.timeout_s)
    paths = StatePaths.of(config)
    try:
        paths.create()
    except OSError as e:
        raise SyncError("setup", f"répertoire d'état {paths.root} inutilisable", str(e)) from e
    with _exclusive(paths):
        try:
            layers = _last_good(paths) if offline else _fetch(config, paths, limits)
            try:
                report = _apply(config, Path(config_path), paths, layers, offline)
            except OSError as e:  # disk full, read-only /etc...: atomic writes left the old files whole
                raise SyncError("setup", "écriture de la configuration impossible", str(e)) from e
        except SyncError as e:
            if not offline:
                record_attempt(paths, now or datetime.now(UTC), e.to_dict())
            raise
        if not offline:
            record_attempt(paths, now or datetime.now(UTC), None)
    return report


@contextlib.contextmanager
def _exclusive(paths: StatePaths) -> Iterator[None]:
    """ngclient supports one instance per cache directory: the timer and a technician must not overlap."""
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncError("busy", "une autre synchronisation est en cours") from None
        yield
    finally:
        os.close(fd)


Layers = list[tuple[LayerInfo, bytes | None]]


def _fetch(config: Config, paths: StatePaths, limits: SyncLimits) -> Layers:
    from tuf.api import exceptions
    from tuf.ngclient import Updater

    from kiosk import __version__
    from kiosk.appliance.fleet.transport import BoundedFetcher

    s = config.sync
    try:
        root = Path(s.trusted_root).read_bytes()
    except OSError as e:
        raise SyncError("setup", f"racine de confiance {s.trusted_root} illisible (installée au provisionnement)",
                        e.strerror or str(e)) from e
    if len(root) > limits.root_max_bytes:
        raise SyncError("setup", f"racine de confiance {s.trusted_root} trop grande")
    base = s.url.rstrip("/")
    agent = f"kiosk/{__version__}"
    out: Layers = []
    try:
        updater = Updater(
            str(paths.metadata), f"{base}/metadata/", str(paths.targets), f"{base}/targets/",
            fetcher=BoundedFetcher(limits, s.ca_bundle, agent), config=limits.updater_config(agent), bootstrap=root,
        )
        updater.refresh()
        for name, target in layer_targets(s.site_id, s.device_id):
            info = updater.get_targetinfo(target)
            if info is None:
                out.append((LayerInfo(name, target, False), None))
                continue
            if info.length > limits.layer_max_bytes:
                raise SyncError("too_large", f"couche {name} annoncée à {info.length} octets, "
                                f"limite {limits.layer_max_bytes} : refusée")
            local = updater.find_cached_target(info) or updater.download_target(info)
            data = Path(local).read_bytes()
            info.verify_length_and_hashes(data)  # the cache is re-checked at the moment of use
            out.append((LayerInfo(name, target, True, hashlib.sha256(data).hexdigest(), len(data)), data))
    except SyncError:
        raise
    except exceptions.DownloadError as e:
        raise _download_refusal(e) from e
    except exceptions.RepositoryError as e:
        raise _security_refusal(e) from e
    except (OSError, ValueError) as e:
        raise SyncError("setup", "état local de la synchronisation inutilisable", str(e)) from e
    return out


def _download_refusal(e: Exception) -> SyncError:
    from tuf.api import exceptions

    detail = f"{e}" + (f" <- {e.__cause__}" if e.__cause__ else "")
    if isinstance(e, exceptions.DownloadLengthMismatchError):
        return SyncError("too_large", "réponse du serveur de flotte plus grande que la limite : refusée", detail)
    if isinstance(e, exceptions.SlowRetrievalError):
        return SyncError("network", "serveur de flotte trop lent (délai dépassé)", detail)
    if isinstance(e, exceptions.DownloadHTTPError):
        return SyncError("network", f"le serveur de flotte a répondu HTTP {e.status_code}", detail)
    if "CERTIFICATE" in detail.upper() or "SSL" in detail.upper():
        return SyncError("network", "certificat TLS du serveur de flotte refusé", detail)
    return SyncError("network", "serveur de flotte injoignable", detail)


def _security_refusal(e: Exception) -> SyncError:
    from tuf.api import exceptions

    reasons = [
        (exceptions.ExpiredMetadataError,
         "métadonnées de flotte expirées (dépôt figé ou rejoué) : mise à jour refusée"),
        (exceptions.BadVersionNumberError,
         ("versions de métadonnées incohérentes (retour en arrière ou mélange de versions) : "
          "mise à jour refusée")),
        (exceptions.UnsignedMetadataError,
         "signature invalide ou clé inconnue de la racine de confiance : mise à jour refusée"),
        (exceptions.LengthOrHashMismatchError,
         "contenu différent de celui qui a été signé (taille ou empreinte) : mise à jour refusée"),
    ]
    for cls, reason in reasons:
        if isinstance(e, cls):
            return SyncError("security", reason, str(e))
    return SyncError("security", "métadonnées de flotte invalides : mise à jour refusée",
                     f"{type(e).__name__}: {e}")


def _last_good(paths: StatePaths) -> Layers:
    applied = read_record(paths.applied)
    if not applied or not isinstance(applied.get("layers"), list):
        raise SyncError("setup", "aucune configuration de flotte vérifiée n'est encore connue : "
                        "synchronisez en ligne d'abord")
    out: Layers = []
    for item in applied["layers"]:
        text = item.get("text")
        info = LayerInfo(item["name"], item["target"], text is not None, item.get("sha256", ""), item.get("length", 0))
        out.append((info, text.encode("utf-8") if text is not None else None))
    return out


_HEADER_START = "# Écrit par `kiosk sync`"
_HEADER = (
    _HEADER_START + " : défauts de la flotte < site < poste < {local}.\n"
    "# Une modification faite ici est reportée dans {local} à la synchronisation suivante.\n\n"
)


def _apply(config: Config, config_path: Path, paths: StatePaths, layers: Layers, offline: bool) -> SyncReport:
    import tomli_w

    from kiosk.config import parse_config

    try:
        fleet = [parse_layer(info.name, data) for info, data in layers if data is not None]
    except LayerError as e:
        raise SyncError("invalid", "configuration reçue invalide, rien n'a été changé", str(e)) from e
    try:
        current_text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current_text = ""
    except (OSError, UnicodeDecodeError) as e:
        raise SyncError("setup", f"{config_path} illisible", str(e)) from e
    try:
        current = tomllib.loads(current_text)
    except tomllib.TOMLDecodeError as e:
        raise SyncError("setup", f"{config_path} illisible : corrigez-le avant de synchroniser", str(e)) from e

    local_path = local_file(config, config_path)
    try:
        local = parse_layer("local", local_path.read_bytes()) if local_path.exists() else {}
    except (OSError, LayerError) as e:
        raise SyncError("invalid", f"couche locale {local_path} illisible, rien n'a été changé", str(e)) from e

    applied = read_record(paths.applied) or {}
    carried: dict[str, Any] = {}
    removed: list[str] = []
    if isinstance(applied.get("merged"), dict):
        if applied.get("written_sha256") != _sha256(current_text):
            carried, removed = changed_values(applied["merged"], current, skip=DEVICE_BOUND)
    elif not current_text.startswith(_HEADER_START):
        # First sync: the file is provisioning's (certificates, FINESS, environment...): it becomes the local
        # layer rather than being lost. (A file we wrote, with its record gone, carries nothing: the fleet wins.)
        carried = {k: v for k, v in current.items() if k not in DEVICE_BOUND}
    new_local = merge(local, carried)
    device_bound = {k: v for k, v in current.items() if k in DEVICE_BOUND}
    merged = merge(*fleet, device_bound, new_local)
    text = _HEADER.format(local=local_path) + tomli_w.dumps(merged)
    _, problems = parse_config(text, str(config_path))
    if problems:
        raise SyncError("invalid", "la configuration obtenue (flotte + couche locale) est invalide, "
                        "rien n'a été changé", problems=[str(p) for p in problems])

    if _read_or_empty(config_path) != current_text:  # a `kiosk config set` meanwhile: do not overwrite it
        raise SyncError("busy", f"{config_path} a changé pendant la synchronisation : relancez `kiosk sync`")
    if carried:
        atomic_write(local_path, tomli_w.dumps(new_local).encode("utf-8"), 0o600)
    changed = text != current_text
    if changed:
        atomic_write(config_path, text.encode("utf-8"))
    write_record(paths.applied, {
        "written_sha256": _sha256(text),
        "merged": merged,
        "layers": [{**asdict(info), "text": data.decode("utf-8") if data is not None else None}
                   for info, data in layers],
    })
    records = metadata_records(paths.metadata)
    expiries = expiry_of(records)
    return SyncReport(
        path=str(config_path), changed=changed, offline=offline, layers=[info for info, _ in layers],
        local_file=str(local_path), local_present=bool(new_local),
        carried_over=[".".join(k) for k, _ in flatten(carried)], removals_ignored=removed,
        versions=_versions(records), expires={role: when.isoformat() for role, when in expiries.items()},
    )


def _versions(records: dict[str, dict[str, Any] | None]) -> dict[str, int]:
    out: dict[str, int] = {}
    for role, record in records.items():
        with contextlib.suppress(TypeError, KeyError):
            out[role] = int(record["signed"]["version"])  # type: ignore[index]
    return out


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
