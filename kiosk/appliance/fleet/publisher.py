"""The IT team's side: a workspace of TOML layers and keys, published as a static TUF repository.

Built on python-tuf's Metadata API. A workspace holds:
  fleet.toml                       expiry periods (days) per role
  keys/<role>-<keyid>.pem          Ed25519 private keys (0600, encrypted with a passphrase if given);
                                   root keys belong offline (`--keys DIR`)
  layers/defaults.toml             the fleet's defaults
  layers/sites/<site>/site.toml    one per site
  layers/sites/<site>/devices/<device>.toml
  repository/metadata/             N.root.json, N.targets.json, N.snapshot.json, timestamp.json
  repository/targets/              the layers under consistent-snapshot names (<sha256>.<name>)
`repository/` is what a web server or object store serves; files are written before the timestamp that
points at them, so a kiosk never sees a half-published state (upload timestamp.json last too).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_type_hints

from kiosk.appliance.fleet.layers import DEVICE_BOUND, LayerError, flatten, merge, parse_layer
from kiosk.atomicfile import atomic_write
from kiosk.config.schema_sync import ID_PATTERN
from kiosk.errors import ConfigError

__all__ = ["Expiry", "PublishReport", "Workspace", "add_site", "init", "publish", "rotate", "set_layer_value"]

TOP_ROLES = ("root", "targets", "snapshot", "timestamp")
_KEY_FILE = re.compile(r"^(root|targets|snapshot|timestamp)-[0-9a-f]{12}\.pem$")


class PublishError(ConfigError):
    """The workspace cannot be published as asked (no workspace, keys missing): a usage error, exit 2."""


@dataclass(frozen=True)
class Expiry:
    """Days each role's metadata stays valid. Timestamp is short: it bounds how long a freeze can go unseen."""

    root: float = 365.0
    targets: float = 90.0
    snapshot: float = 30.0
    timestamp: float = 2.0

    def of(self, role: str) -> timedelta:
        return timedelta(days=getattr(self, role))


@dataclass
class Workspace:
    root: Path
    extra_key_dirs: list[Path] = field(default_factory=list)
    passphrase: bytes | None = None  # private keys written encrypted with it, and read with it

    @property
    def settings(self) -> Path:
        return self.root / "fleet.toml"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def metadata(self) -> Path:
        return self.root / "repository" / "metadata"

    @property
    def targets(self) -> Path:
        return self.root / "repository" / "targets"

    def expiry(self) -> Expiry:
        try:
            data = tomllib.loads(self.settings.read_text(encoding="utf-8")).get("expiry", {})
            return Expiry(**{k: float(v) for k, v in data.items()})
        except FileNotFoundError:
            raise PublishError(f"{self.root} n'est pas un espace de flotte (lancez `kiosk fleet init`)") from None
        except (tomllib.TOMLDecodeError, TypeError, ValueError) as e:
            raise ConfigError(f"{self.settings} : section [expiry] invalide ({e})") from e

    def layer_files(self) -> dict[str, Path]:
        """Target path -> layer file, for every layer in the workspace."""
        found = {"defaults.toml": self.layers / "defaults.toml"}
        for path in sorted(self.layers.glob("sites/*/site.toml")) + sorted(self.layers.glob("sites/*/devices/*.toml")):
            found[path.relative_to(self.layers).as_posix()] = path
        return {target: path for target, path in found.items() if path.is_file()}


@dataclass
class PublishReport:
    versions: dict[str, int]
    expires: dict[str, str]
    signed: list[str]
    targets: list[str]
    warnings: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    atomic_write(path, data, mode)


# --- keys -------------------------------------------------------------------------------------------------------

def _new_key(ws: Workspace, role: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from securesystemslib.signer import CryptoSigner

    key = Ed25519PrivateKey.generate()
    signer = CryptoSigner(key)
    encryption = (serialization.BestAvailableEncryption(ws.passphrase) if ws.passphrase
                  else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    _write(ws.keys / f"{role}-{signer.public_key.keyid[:12]}.pem", pem, 0o600)
    return signer


def _signers(ws: Workspace) -> dict[str, Any]:
    """keyid -> signer for every private key found in the workspace's and the extra key folders."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner

    out: dict[str, Any] = {}
    for folder in [ws.keys, *ws.extra_key_dirs]:
        for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
            if not _KEY_FILE.match(path.name):
                continue
            pem = path.read_bytes()
            encrypted = b"ENCRYPTED" in pem.split(b"\n", 1)[0]
            if encrypted and not ws.passphrase:
                raise PublishError(f"clé {path} chiffrée : donnez sa phrase de passe (--passphrase-file)")
            try:
                signer = CryptoSigner(load_pem_private_key(pem, ws.passphrase if encrypted else None))
            except (ValueError, TypeError) as e:
                raise PublishError(f"clé {path} illisible ou phrase de passe fausse ({e})") from e
            out[signer.public_key.keyid] = signer
    return out


def _sign(md: Any, role: str, roots: Iterable[Any], signers: dict[str, Any]) -> None:
    """Sign `md` with every available key `role` has in each of `roots`; refuse below any root's threshold."""
    md.signatures.clear()
    done: set[str] = set()
    for root in roots:
        spec = root.roles[role]
        available = [k for k in spec.keyids if k in signers]
        if len(available) < spec.threshold:
            raise PublishError(
                f"rôle {role} : {len(available)} clé(s) disponible(s) pour un seuil de {spec.threshold} "
                "(les clés hors ligne s'ajoutent avec --keys DOSSIER)")
        for keyid in available:
            if keyid not in done:
                md.sign(signers[keyid], append=True)
                done.add(keyid)


# --- reading the published state ----------------------------------------------------------------------------------

def _load(path: Path) -> Any:
    from tuf.api.metadata import Metadata

    return Metadata.from_file(str(path))


def _latest_root(ws: Workspace) -> Any:
    versions = sorted(int(p.name.split(".")[0]) for p in ws.metadata.glob("*.root.json") if p.name[0].isdigit())
    if not versions:
        raise PublishError(f"{ws.root} n'est pas un espace de flotte (lancez `kiosk fleet init`)")
    return _load(ws.metadata / f"{versions[-1]}.root.json")


def _current(ws: Workspace) -> tuple[Any, Any, Any]:
    """(timestamp, snapshot, targets) as last published, or None for each not yet published."""
    ts_path = ws.metadata / "timestamp.json"
    if not ts_path.exists():
        return None, None, None
    timestamp = _load(ts_path)
    snapshot = _load(ws.metadata / f"{timestamp.signed.snapshot_meta.version}.snapshot.json")
    targets = _load(ws.metadata / f"{snapshot.signed.meta['targets.json'].version}.targets.json")
    return timestamp, snapshot, targets


def _stale(md: Any, period: timedelta, now: datetime) -> bool:
    """Re-sign once half the period has gone, so that a kiosk never holds metadata about to expire."""
    return md is None or md.signed.expires - now < period / 2


# --- validating layers ------------------------------------------------------------------------------------------

def _secret_keys(data: dict[str, Any]) -> list[str]:
    """Dotted keys of `data` that the schema marks secret (passwords): never in a repository every kiosk reads."""
    from kiosk.config.schema import Config

    found = []
    for path, _ in flatten(data):
        tp: Any = Config
        for part in path:
            if not (isinstance(tp, type) and is_dataclass(tp)):
                break
            meta = {f.name: f for f in fields(tp)}.get(part)
            if meta is None:
                break
            if meta.metadata.get("secret"):
                found.append(".".join(path))
                break
            tp = get_type_hints(tp)[part]
            tp = getattr(tp, "__args__", (tp,))[0] if getattr(tp, "__origin__", None) is list else tp
    return found


def validate_layers(ws: Workspace) -> dict[str, bytes]:
    """Every layer readable, none device-bound or secret, and what each kiosk would get valid. Target -> bytes."""
    from kiosk.config import parse_config

    files = ws.layer_files()
    data: dict[str, bytes] = {}
    parsed: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for target, path in files.items():
        raw = path.read_bytes()
        name = "defaults" if target == "defaults.toml" else ("site" if target.endswith("/site.toml") else "device")
        try:
            layer = parsed[target] = parse_layer(name, raw)
        except LayerError as e:
            problems.append(f"{path}: {e}")
            try:
                layer = parse_layer("local", raw)  # refused for its [sync]: still say what else is wrong
            except LayerError:
                continue
        problems += [f"{path}: {key} : secret interdit dans le dépôt de flotte (lisible par tous les postes), "
                     "à mettre dans la couche locale du poste ou dans un fichier"
                     for key in _secret_keys(layer)]
        data[target] = raw
    combos: list[tuple[str, list[str]]] = []
    sites = sorted({t.split("/")[1] for t in files if t.startswith("sites/")})
    for site in sites:
        site_t = f"sites/{site}/site.toml"
        combos.append((site_t, ["defaults.toml", site_t]))
        combos += [(t, ["defaults.toml", site_t, t]) for t in files if t.startswith(f"sites/{site}/devices/")]
    if not sites:
        combos.append(("defaults.toml", ["defaults.toml"]))
    for label, stack in combos:
        if any(t in files and t not in parsed for t in stack):
            continue
        import tomli_w

        text = tomli_w.dumps(merge(*(parsed.get(t, {}) for t in stack)))
        _, found = parse_config(text, label)
        problems += [f"{label} (empilé sur {' + '.join(stack[:-1]) or 'rien'}): {p}" for p in found]
    if problems:
        raise ConfigError("publication refusée, rien n'a été publié :\n" + "\n".join(f"  {p}" for p in problems),
                          problems)
    return data


# --- commands ---------------------------------------------------------------------------------------------------

def init(root: Path, *, root_keys: int = 3, root_threshold: int = 2, expiry: Expiry | None = None,
         passphrase: bytes | None = None) -> PublishReport:
    """A new workspace: keys for every role, root version 1, empty defaults, first publication."""
    import tomli_w
    from tuf.api.metadata import Metadata, Root

    ws = Workspace(Path(root), passphrase=passphrase)
    if ws.settings.exists() or ws.metadata.exists():
        raise PublishError(f"{ws.root} contient déjà un espace de flotte")
    if not 1 <= root_threshold <= root_keys:
        raise ConfigError(f"seuil racine {root_threshold} impossible avec {root_keys} clé(s)")
    expiry = expiry or Expiry()
    _write(ws.settings, (
        "# Durées de validité des métadonnées, en jours.\n"
        "# `kiosk fleet publish` re-signe chaque rôle à mi-période :\n"
        "# publiez au moins une fois par jour (timer ou cron) pour que l'horodatage ne périme pas.\n"
        + tomli_w.dumps({"expiry": {r: getattr(expiry, r) for r in TOP_ROLES}})).encode("utf-8"))
    now = _now()
    md = Metadata(Root(expires=now + expiry.of("root"), consistent_snapshot=True))
    for role in TOP_ROLES:
        for _ in range(root_keys if role == "root" else 1):
            md.signed.add_key(_new_key(ws, role).public_key, role)
    md.signed.roles["root"].threshold = root_threshold
    _sign(md, "root", [md.signed], _signers(ws))
    _write(ws.metadata / "1.root.json", md.to_bytes())
    defaults = ws.layers / "defaults.toml"
    if not defaults.exists():
        _write(defaults, b"# Defaults for every kiosk of the fleet (same keys as kiosk.toml, without [sync]).\n")
    return publish(ws)


def add_site(ws: Workspace, site_id: str) -> Path:
    _check_id(site_id, "site")
    _latest_root(ws)
    path = ws.layers / "sites" / site_id / "site.toml"
    if path.exists():
        raise ConfigError(f"le site {site_id} existe déjà ({path})")
    _write(path, f"# Site {site_id}: overrides the fleet defaults for its kiosks.\n".encode())
    (path.parent / "devices").mkdir(exist_ok=True)
    return path


def _check_id(value: str, what: str) -> None:
    if not ID_PATTERN.fullmatch(value):
        raise ConfigError(f"identifiant de {what} {value!r} invalide : lettres, chiffres, '-', '_' ou '.' (64 au plus)")


def layer_path(ws: Workspace, site: str | None = None, device: str | None = None) -> Path:
    if device and not site:
        raise ConfigError("un poste appartient à un site : --site SITE --device POSTE")
    if site:
        _check_id(site, "site")
        if not (ws.layers / "sites" / site / "site.toml").exists():
            raise ConfigError(f"site {site} inconnu : `kiosk fleet add-site {site}` d'abord")
    if device:
        _check_id(device, "poste")
        return ws.layers / "sites" / str(site) / "devices" / f"{device}.toml"
    return ws.layers / "sites" / site / "site.toml" if site else ws.layers / "defaults.toml"


def set_layer_value(ws: Workspace, key: str, raw: str, site: str | None = None, device: str | None = None) -> Path:
    """Change one key in one layer, typed like `kiosk config set`; refused if what kiosks get would be invalid."""
    import tomli_w

    from kiosk.config.edit import apply_value, split_key

    _latest_root(ws)
    path = layer_path(ws, site, device)
    parts = split_key(key)
    if parts[0] in DEVICE_BOUND:
        raise ConfigError(f"{key} : la section [{parts[0]}] est propre à chaque poste, pas à la flotte")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} est illisible ({e}) : corrigez-le avant de le modifier") from e
    apply_value(doc, parts, raw)
    if _secret_keys(doc):
        raise ConfigError(f"{key} : secret interdit dans le dépôt de flotte (lisible par tous les postes)")
    before = path.read_bytes() if path.exists() else None
    _write(path, tomli_w.dumps(doc).encode("utf-8"))
    try:
        validate_layers(ws)
    except ConfigError:
        if before is None:
            path.unlink()
        else:
            _write(path, before)
        raise
    return path


def publish(ws: Workspace, *, force: Iterable[str] = (), now: datetime | None = None) -> PublishReport:
    """Sign what changed (and what is past half its validity), always a new timestamp; timestamp written last."""
    from tuf.api.metadata import Metadata, MetaFile, Snapshot, TargetFile, Targets, Timestamp

    now = now or _now()
    expiry = ws.expiry()
    layers = validate_layers(ws)
    root = _latest_root(ws).signed
    signers = _signers(ws)
    timestamp, snapshot, targets = _current(ws)
    forced = set(force)
    signed: list[str] = []
    warnings: list[str] = []
    if root.expires - now < expiry.of("root") / 4:
        warnings.append(f"la racine expire le {root.expires:%d/%m/%Y} : `kiosk fleet rotate root` la renouvelle")

    wanted = {target: TargetFile.from_data(target, data, ["sha256"]) for target, data in layers.items()}
    if targets is None or targets.signed.targets != wanted or "targets" in forced \
            or _stale(targets, expiry.of("targets"), now):
        version = targets.signed.version + 1 if targets else 1
        targets = Metadata(Targets(version=version, expires=now + expiry.of("targets"), targets=wanted))
        for target, data in layers.items():
            folder, _, name = target.rpartition("/")
            _write(ws.targets / folder / f"{wanted[target].hashes['sha256']}.{name}", data)
        _sign(targets, "targets", [root], signers)
        _write(ws.metadata / f"{version}.targets.json", targets.to_bytes())
        signed.append("targets")
    targets_bytes = (ws.metadata / f"{targets.signed.version}.targets.json").read_bytes()

    if snapshot is None or "targets" in signed or "snapshot" in forced or _stale(snapshot, expiry.of("snapshot"), now):
        version = snapshot.signed.version + 1 if snapshot else 1
        snapshot = Metadata(Snapshot(version=version, expires=now + expiry.of("snapshot")))
        snapshot.signed.meta["targets.json"] = _metafile(MetaFile, targets.signed.version, targets_bytes)
        _sign(snapshot, "snapshot", [root], signers)
        _write(ws.metadata / f"{version}.snapshot.json", snapshot.to_bytes())
        signed.append("snapshot")
    snapshot_bytes = (ws.metadata / f"{snapshot.signed.version}.snapshot.json").read_bytes()

    version = timestamp.signed.version + 1 if timestamp else 1
    timestamp = Metadata(Timestamp(version=version, expires=now + expiry.of("timestamp"),
                                   snapshot_meta=_metafile(MetaFile, snapshot.signed.version, snapshot_bytes)))
    _sign(timestamp, "timestamp", [root], signers)
    _write(ws.metadata / "timestamp.json", timestamp.to_bytes())
    signed.append("timestamp")

    mds = {"root": root, "targets": targets.signed, "snapshot": snapshot.signed, "timestamp": timestamp.signed}
    return PublishReport(
        versions={r: md.version for r, md in mds.items()},
        expires={r: md.expires.isoformat() for r, md in mds.items()},
        signed=signed, targets=sorted(layers), warnings=warnings,
    )


def _metafile(cls: Any, version: int, data: bytes) -> Any:
    """Version, length and hash: a kiosk then refuses any other file (mix-and-match) and bounds the download."""
    return cls(version=version, length=len(data), hashes={"sha256": hashlib.sha256(data).hexdigest()})


def rotate(ws: Workspace, role: str, *, now: datetime | None = None) -> tuple[PublishReport, list[str]]:
    """Replace every key of `role` with new ones in a new root version, signed by the old and the new root keys.

    Renews root's expiry too. The old private keys move to keys/retired/ (destroy them once kiosks followed).
    Returns the publication and the retired key ids.
    """
    if role not in TOP_ROLES:
        raise ConfigError(f"rôle {role!r} inconnu (rôles : {', '.join(TOP_ROLES)})")
    now = now or _now()
    expiry = ws.expiry()
    current = _latest_root(ws)
    old_root = _load_copy(current).signed
    signers = _signers(ws)
    md = current
    spec = md.signed.roles[role]
    retired = list(spec.keyids)
    count = len(retired)
    _sign(_load_copy(current), "root", [old_root], signers)  # refuse before changing anything
    for keyid in retired:
        md.signed.revoke_key(keyid, role)
    for _ in range(count):
        signer = _new_key(ws, role)
        signers[signer.public_key.keyid] = signer
        md.signed.add_key(signer.public_key, role)
    md.signed.version += 1
    md.signed.expires = now + expiry.of("root")
    _sign(md, "root", [old_root, md.signed], signers)
    _write(ws.metadata / f"{md.signed.version}.root.json", md.to_bytes())
    for path in list(ws.keys.glob(f"{role}-*.pem")):
        if any(path.name == f"{role}-{k[:12]}.pem" for k in retired):
            (ws.keys / "retired").mkdir(exist_ok=True, mode=0o700)
            path.rename(ws.keys / "retired" / path.name)
    return publish(ws, force={role} - {"root", "timestamp"}, now=now), retired


def _load_copy(md: Any) -> Any:
    from tuf.api.metadata import Metadata

    return Metadata.from_bytes(md.to_bytes())
