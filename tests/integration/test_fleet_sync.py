"""Fleet sync end to end: a repository published by `kiosk fleet`, served over HTTPS on 127.0.0.1 with a test
PKI, fetched by `kiosk sync` (the real CLI in a subprocess), and every attack of issue 9 tried against it.

Each attack starts from a kiosk that synced a good configuration, then the IT team publishes a new one and an
attacker sitting on the server (or the network) changes what is served. The sync must be refused, the reason
shown, and the configuration file left byte for byte (and inode for inode) as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization

from drivers.sim.pki import Authority, KeyKind, key_pem, write_file
from kiosk.appliance.fleet import publisher
from kiosk.appliance.fleet.publisher import Workspace
from kiosk.config import load_config
from tests.support.patience import PATIENCE_S

# --- a test PKI and a static HTTPS server that an attacker can rewrite ------------------------------------------


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """(CA bundle, server certificate, server key) for 127.0.0.1, written as PEM (the project's one test PKI)."""
    ca = Authority.create("Test fleet CA", key_kind=KeyKind.EC)
    key, cert = ca.issue_server(days=1, key_kind=KeyKind.EC)
    return (write_file(directory / "ca.pem", ca.pem()),
            write_file(directory / "server.pem", cert.public_bytes(serialization.Encoding.PEM)),
            write_file(directory / "server.key", key_pem(key), 0o600))


Behaviour = Callable[[BaseHTTPRequestHandler], None]


class RepoServer:
    """Serves a directory over HTTPS; `overrides[url_path]` replaces a file with bytes or a behaviour."""

    def __init__(self, docroot: Path, cert: Path, key: Path) -> None:
        self.docroot = docroot.resolve()
        self.overrides: dict[str, bytes | Behaviour] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                server.requests.append(path)
                override = server.overrides.get(path)
                if callable(override):
                    override(self)
                    return
                if override is None:
                    target = (server.docroot / path.lstrip("/")).resolve()
                    if server.docroot not in target.parents or not target.is_file():
                        self.send_error(404)
                        return
                    override = target.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(override)))
                self.end_headers()
                self.wfile.write(override)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def endless(sent: list[int]) -> Behaviour:
    """A response that never ends (no Content-Length, data until the client hangs up)."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        chunk = b"{" * 65536
        try:
            for _ in range(16_384):  # 1 GiB at most, so a client that never stops still ends the test
                handler.wfile.write(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass

    return behave


# --- the fleet under test ---------------------------------------------------------------------------------------


@dataclass
class Fleet:
    ws: Workspace
    server: RepoServer
    config: Path
    ca: Path
    run: Callable[..., Any]
    captured: dict[str, bytes] = field(default_factory=dict)

    @property
    def repo(self) -> Path:
        return self.ws.root / "repository"

    def set(self, key: str, value: str, site: str | None = None, device: str | None = None) -> None:
        publisher.set_layer_value(self.ws, key, value, site, device)

    def publish(self) -> publisher.PublishReport:
        return publisher.publish(self.ws)

    def sync(self, *args: str) -> tuple[int, dict[str, Any]]:
        done = self.run("sync", "--json", *args, config=self.config)
        assert done.stdout, done.stderr
        return done.returncode, json.loads(done.stdout)

    def current(self) -> Any:
        return load_config(self.config)

    def served(self, url_path: str) -> Path:
        return self.repo / url_path.lstrip("/")

    def latest(self, role: str) -> str:
        """URL path of the newest versioned metadata of `role` (snapshot, targets)."""
        versions = sorted(int(p.name.split(".")[0]) for p in (self.repo / "metadata").glob(f"*.{role}.json"))
        return f"/metadata/{versions[-1]}.{role}.json"

    def target_url(self, target: str) -> str:
        data = (self.ws.layers / target).read_bytes()
        folder, _, name = target.rpartition("/")
        return f"/targets/{folder}/{hashlib.sha256(data).hexdigest()}.{name}".replace("//", "/")


def fingerprint(path: Path) -> tuple[bytes, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns


@pytest.fixture
def fleet(tmp_path: Path, run_kiosk: Any) -> Any:
    ca, cert, key = make_pki(tmp_path)
    ws = Workspace(tmp_path / "ws")
    publisher.init(ws.root)  # 3 root keys, threshold 2
    publisher.add_site(ws, "lyon")
    publisher.set_layer_value(ws, "site.name", "Flotte")
    publisher.set_layer_value(ws, "insi.timeout_s", "11")
    publisher.set_layer_value(ws, "dmp.timeout_s", "11")
    publisher.set_layer_value(ws, "site.name", "Lyon", site="lyon")
    publisher.set_layer_value(ws, "insi.timeout_s", "12", site="lyon")
    publisher.set_layer_value(ws, "insi.timeout_s", "13", site="lyon", device="k1")
    publisher.publish(ws)
    server = RepoServer(ws.root / "repository", cert, key)
    trusted = tmp_path / "etc" / "fleet-root.json"
    trusted.parent.mkdir()
    shutil.copy(ws.metadata / "1.root.json", trusted)  # what provisioning installs
    config = tmp_path / "etc" / "kiosk.toml"
    config.write_text(
        "[sync]\nenabled = true\n"
        f'url = "{server.url}"\ntrusted_root = "{trusted}"\nca_bundle = "{ca}"\n'
        f'device_id = "k1"\nsite_id = "lyon"\nstate_dir = "{tmp_path / "state"}"\ntimeout_s = 5.0\n'
    )
    f = Fleet(ws, server, config, ca, run_kiosk)
    yield f
    server.stop()


@pytest.fixture
def synced(fleet: Fleet) -> Fleet:
    """A kiosk that applied the fleet's configuration once; then the IT team publishes "Lyon B"."""
    rc, out = fleet.sync()
    assert rc == 0 and out["changed"], out
    assert fleet.current().site.name == "Lyon"
    fleet.captured = {p.relative_to(fleet.repo).as_posix(): p.read_bytes() for p in fleet.repo.rglob("*.json")}
    fleet.set("site.name", "Lyon B", site="lyon")
    fleet.publish()
    return fleet


def refused(fleet: Fleet, kind: str, reason: str, before: tuple[bytes, int, int]) -> dict[str, Any]:
    rc, out = fleet.sync()
    assert rc == 3 and out["ok"] is False and out["error"] == kind, out
    assert reason in out["reason"], out
    assert fingerprint(fleet.config) == before, "the running configuration must stay untouched"
    return out


# --- the normal flow --------------------------------------------------------------------------------------------


def test_layers_applied_in_order_and_written_atomically(fleet: Fleet) -> None:
    (fleet.config.parent / "local.toml").write_text("[dmp]\ntimeout_s = 42.0\n")
    fleet.config.chmod(0o640)
    rc, out = fleet.sync()
    assert rc == 0 and out["changed"] is True, out
    config = fleet.current()
    assert config.site.name == "Lyon"  # site beats defaults
    assert config.insi.timeout_s == 13  # device beats site
    assert config.dmp.timeout_s == 42  # local beats the fleet
    assert config.sync.device_id == "k1"  # [sync] is the kiosk's own, kept
    assert [(layer["name"], layer["present"]) for layer in out["layers"]] == [
        ("defaults", True), ("site", True), ("device", True)]
    assert fleet.config.stat().st_mode & 0o777 == 0o640  # atomic replace keeps the file's mode
    before = fingerprint(fleet.config)
    rc, out = fleet.sync()
    assert rc == 0 and out["changed"] is False
    assert fingerprint(fleet.config) == before  # nothing new: not even rewritten
    state = Path(config.sync.state_dir)
    assert not any(p.is_relative_to(state / "metadata") for p in (state / "targets").rglob("*"))
    assert sorted(p.name for p in (state / "targets").iterdir()) == [
        "defaults.toml", "sites%2Flyon%2Fdevices%2Fk1.toml", "sites%2Flyon%2Fsite.toml"]


def test_first_sync_keeps_what_provisioning_wrote_as_the_local_layer(fleet: Fleet) -> None:
    text = fleet.config.read_text()
    fleet.config.write_text('[site]\nname = "Posé au provisionnement"\n[ui]\nlock_after_s = 300\n' + text)
    rc, out = fleet.sync()
    assert rc == 0 and sorted(out["carried_over"]) == ["site.name", "ui.lock_after_s"], out
    config = fleet.current()
    assert config.site.name == "Posé au provisionnement" and config.insi.timeout_s == 13
    assert "lock_after_s = 300" in (fleet.config.parent / "local.toml").read_text()
    rc, out = fleet.sync()
    assert rc == 0 and out["carried_over"] == [] and out["changed"] is False


def test_damaged_local_state_is_recovered_never_trusted(synced: Fleet) -> None:
    """Cached metadata, cached layers and the last-good record damaged on disk: verified again, never used as is."""
    state = Path(synced.current().sync.state_dir)
    (state / "metadata" / "timestamp.json").write_text("{garbage")
    (state / "metadata" / "snapshot.json").write_bytes(b"")
    cached = state / "targets" / "sites%2Flyon%2Fsite.toml"
    cached.write_text('[site]\nname = "Pirate"\n')
    (state / "applied.json").write_text("[1, 2")
    rc, out = synced.sync()
    assert rc == 0 and out["changed"], out
    assert synced.current().site.name == "Lyon B"
    assert "Lyon B" in cached.read_text()  # the damaged cache entry was downloaded again


def test_slow_server_is_cut_at_the_download_deadline(fleet: Fleet) -> None:
    from kiosk.appliance.fleet.client import SyncError, sync
    from kiosk.appliance.fleet.transport import SyncLimits

    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        try:
            for _ in range(600):  # one byte every 50 ms: never idle long enough for the read timeout
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    fleet.server.overrides["/metadata/timestamp.json"] = drip
    before = fingerprint(fleet.config)
    with pytest.raises(SyncError) as refused:  # the drip lasts 30 s: refused by the deadline, not by its end
        sync(fleet.current(), fleet.config, limits=SyncLimits(timeout_s=2, download_deadline_s=1))
    assert refused.value.kind == "network" and "trop lent" in refused.value.reason
    assert fingerprint(fleet.config) == before


def test_concurrent_sync_is_refused(fleet: Fleet) -> None:
    import fcntl

    from kiosk.appliance.fleet.client import SyncError, sync
    from kiosk.appliance.fleet.state import StatePaths

    paths = StatePaths.of(fleet.current())
    paths.create()
    with paths.lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(SyncError) as refused:
            sync(fleet.current(), fleet.config)
    assert refused.value.kind == "busy"


def test_running_service_picks_up_the_new_configuration(synced: Fleet) -> None:
    from kiosk.config.watch import ConfigWatcher

    seen: list[str] = []
    changed = threading.Event()
    watcher = ConfigWatcher(synced.config, synced.current(), debounce_s=0.1,
                            on_change=lambda c: (seen.append(c.site.name), changed.set()))
    watcher.start()
    try:
        rc, out = synced.sync()
        assert rc == 0 and out["changed"], out
        assert changed.wait(PATIENCE_S) and seen == ["Lyon B"]
    finally:
        watcher.stop()


def test_hand_edit_is_carried_into_the_local_layer(synced: Fleet) -> None:
    done = synced.run("config", "set", "ui.lock_after_s", "120", config=synced.config)
    assert done.returncode == 0, done.stderr
    rc, out = synced.sync()
    assert rc == 0 and out["carried_over"] == ["ui.lock_after_s"], out
    config = synced.current()
    assert config.ui.lock_after_s == 120 and config.site.name == "Lyon B"
    assert "lock_after_s = 120" in (synced.config.parent / "local.toml").read_text()
    synced.set("ui.lock_after_s", "5")  # the fleet changes it later: the technician's value still wins
    synced.publish()
    rc, out = synced.sync()
    assert rc == 0 and synced.current().ui.lock_after_s == 120 and out["carried_over"] == []


def test_invalid_update_changes_nothing(synced: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer that passed nobody's validation (hand-made repository) is refused by the kiosk too."""
    before = fingerprint(synced.config)
    (synced.ws.layers / "sites/lyon/site.toml").write_text('[ui]\nlock_after_s = "vite"\n')
    monkeypatch.setattr(
        publisher, "validate_layers", lambda ws: {t: p.read_bytes() for t, p in ws.layer_files().items()}
    )
    synced.publish()
    rc, out = synced.sync()
    assert rc == 2 and out["error"] == "invalid", out
    assert any("ui.lock_after_s" in p for p in out["problems"])
    assert fingerprint(synced.config) == before


def test_offline_keeps_last_good_and_reports_age_and_expiry(synced: Fleet) -> None:
    from kiosk.appliance.fleet import fleet_status

    synced.server.stop()
    before = fingerprint(synced.config)
    rc, out = synced.sync()
    assert rc == 3 and out["error"] == "network" and "injoignable" in out["reason"], out
    assert fingerprint(synced.config) == before and synced.current().site.name == "Lyon"

    done = synced.run("doctor", "--json", "--only", "fleet", config=synced.config)
    finding = json.loads(done.stdout)
    text = json.dumps(finding, ensure_ascii=False)
    assert "dernière tentative en échec" in text and "injoignable" in text, text

    done = synced.run("sync", "--status", "--json", config=synced.config)
    assert done.returncode == 1 and json.loads(done.stdout)["last_error"]["kind"] == "network"
    status = fleet_status(synced.current())
    assert status.level == "warning" and status.age_s is not None and not status.expired
    later = status.expires + dt.timedelta(minutes=1)
    expired = fleet_status(synced.current(), now=later)
    assert expired.expired and any("expirées" in m for m in expired.messages)

    # a technician's local change still applies without the network, on the last verified layers
    (synced.config.parent / "local.toml").write_text("[ui]\nlock_after_s = 30\n")
    rc, out = synced.sync("--offline")
    assert rc == 0 and out["offline"] is True, out
    config = synced.current()
    assert config.ui.lock_after_s == 30 and config.site.name == "Lyon"


def test_publisher_cli_and_key_rotation(synced: Fleet) -> None:
    ws = str(synced.ws.root)
    done = synced.run("fleet", "rotate", "targets", "-w", ws, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["versions"]["root"] == 2
    done = synced.run("fleet", "rotate", "root", "-w", ws, "--json")
    assert done.returncode == 0, done.stderr
    rc, out = synced.sync()
    assert rc == 0 and out["versions"]["root"] == 3 and synced.current().site.name == "Lyon B", out
    # the retired targets key no longer counts, even with the (stolen) online keys re-signing around it
    retired = next((synced.ws.keys / "retired").glob("targets-*.pem"))
    before = fingerprint(synced.config)
    forge_targets(synced, retired, {"sites/lyon/site.toml": b'[site]\nname = "Pirate"\n'})
    out = refused(synced, "security", "signature invalide", before)
    assert "targets" in out["detail"]


def test_setup_errors_are_usage_errors(fleet: Fleet, tmp_path: Path) -> None:
    text = fleet.config.read_text()
    fleet.config.write_text(text.replace("enabled = true", "enabled = false"))
    rc, out = fleet.sync()
    assert rc == 2 and "désactivée" in out["reason"]
    fleet.config.write_text(text.replace(str(fleet.ca), str(tmp_path / "none.pem")).replace(
        "fleet-root.json", "absent.json"))
    rc, out = fleet.sync()
    assert rc == 2 and out["error"] == "setup" and "racine de confiance" in out["reason"]


def test_server_certificate_not_from_the_provisioned_ca_is_refused(fleet: Fleet) -> None:
    fleet.config.write_text(fleet.config.read_text().replace(f'ca_bundle = "{fleet.ca}"', 'ca_bundle = ""'))
    before = fingerprint(fleet.config)
    out = refused(fleet, "network", "certificat TLS", before)
    assert "CERTIFICATE_VERIFY_FAILED" in out["detail"]


# --- the attacks ------------------------------------------------------------------------------------------------


def test_tampered_target_is_refused(synced: Fleet) -> None:
    before = fingerprint(synced.config)
    url = synced.target_url("sites/lyon/site.toml")
    synced.served(url).write_bytes(b'[site]\nname = "Pirate"\n')
    refused(synced, "security", "contenu différent de celui qui a été signé", before)


def test_tampered_metadata_is_refused(synced: Fleet) -> None:
    before = fingerprint(synced.config)
    path = synced.served("/metadata/timestamp.json")
    md = json.loads(path.read_bytes())
    md["signed"]["expires"] = "2099-01-01T00:00:00Z"  # signatures kept, signed part changed
    path.write_text(json.dumps(md))
    out = refused(synced, "security", "signature invalide", before)
    assert "timestamp" in out["detail"]


def test_rollback_to_older_version_is_refused(synced: Fleet) -> None:
    rc, out = synced.sync()
    assert rc == 0 and synced.current().site.name == "Lyon B"
    before = fingerprint(synced.config)
    for rel, data in synced.captured.items():  # the whole older repository, validly signed
        synced.served(rel).write_bytes(data)
    out = refused(synced, "security", "retour en arrière", before)
    assert "timestamp version" in out["detail"]


def test_freeze_with_expired_timestamp_replayed_is_refused(fleet: Fleet) -> None:
    settings = fleet.ws.settings.read_text().replace("timestamp = 2.0", f"timestamp = {4 / 86400}")
    fleet.ws.settings.write_text(settings)
    report = fleet.publish()
    rc, out = fleet.sync()
    assert rc == 0, out
    frozen = fleet.served("/metadata/timestamp.json").read_bytes()
    fleet.ws.settings.write_text(settings.replace(f"timestamp = {4 / 86400}", "timestamp = 2.0"))
    fleet.set("site.name", "Lyon B", site="lyon")
    fleet.publish()  # the real server has news...
    fleet.server.overrides["/metadata/timestamp.json"] = frozen  # ...the attacker keeps replaying the old state
    expires = dt.datetime.fromisoformat(report.expires["timestamp"])
    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5)
    before = fingerprint(fleet.config)
    out = refused(fleet, "security", "expirées", before)
    assert "expired" in out["detail"]
    assert fleet.current().site.name == "Lyon"


def test_mix_and_match_of_snapshot_and_targets_is_refused(synced: Fleet) -> None:
    before = fingerprint(synced.config)
    newest = synced.latest("targets")
    version = int(newest.split("/")[-1].split(".")[0])
    old_targets = synced.captured[f"metadata/{version - 1}.targets.json"]
    synced.served(synced.latest("targets")).write_bytes(old_targets)  # new snapshot, older (valid) targets
    out = refused(synced, "security", "contenu différent", before)
    assert "targets" in out["detail"] or "hash" in out["detail"].lower()


def test_key_not_in_root_is_refused(synced: Fleet) -> None:
    from securesystemslib.signer import CryptoSigner

    rogue = synced.ws.root / "rogue.pem"
    rogue.write_bytes(CryptoSigner.generate_ed25519().private_bytes)
    before = fingerprint(synced.config)
    forge_targets(synced, rogue, {"sites/lyon/site.toml": b'[site]\nname = "Pirate"\n'})
    out = refused(synced, "security", "clé inconnue", before)
    assert "targets was signed by 0/1 keys" in out["detail"]


@pytest.mark.parametrize("what", ["timestamp", "target"])
def test_endless_response_is_cut_and_refused(synced: Fleet, what: str) -> None:
    sent = [0]
    url = "/metadata/timestamp.json" if what == "timestamp" else synced.target_url("sites/lyon/site.toml")
    synced.server.overrides[url] = endless(sent)
    before = fingerprint(synced.config)
    out = refused(synced, "too_large", "plus grande que la limite", before)
    assert "exceeding the maximum allowed length" in out["detail"]
    assert sent[0] < 1024**3  # the client hung up long before the server's own cap


# --- an attacker's toolbox --------------------------------------------------------------------------------------


def forge_targets(fleet: Fleet, targets_key: Path, layers: dict[str, bytes]) -> None:
    """New targets signed with `targets_key`, snapshot and timestamp properly re-signed with the fleet's real
    online keys (as if the server holding them were compromised), files placed where kiosks fetch them."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner
    from tuf.api.metadata import Metadata, MetaFile, TargetFile

    def signer(role: str) -> CryptoSigner:
        pem = next(fleet.ws.keys.glob(f"{role}-*.pem")).read_bytes()
        return CryptoSigner(load_pem_private_key(pem, None))

    meta = fleet.repo / "metadata"
    timestamp = Metadata.from_file(str(meta / "timestamp.json"))
    snapshot = Metadata.from_file(str(meta / f"{timestamp.signed.snapshot_meta.version}.snapshot.json"))
    targets = Metadata.from_file(str(meta / f"{snapshot.signed.meta['targets.json'].version}.targets.json"))
    for target, data in layers.items():
        info = TargetFile.from_data(target, data, ["sha256"])
        targets.signed.targets[target] = info
        folder, _, name = target.rpartition("/")
        (fleet.repo / "targets" / folder / f"{info.hashes['sha256']}.{name}").write_bytes(data)
    targets.signed.version += 1
    targets.sign(CryptoSigner(load_pem_private_key(targets_key.read_bytes(), None)))
    raw = targets.to_bytes()
    (meta / f"{targets.signed.version}.targets.json").write_bytes(raw)
    snapshot.signed.version += 1
    snapshot.signed.meta["targets.json"] = MetaFile(targets.signed.version, len(raw),
                                                    {"sha256": hashlib.sha256(raw).hexdigest()})
    snapshot.sign(signer("snapshot"))
    raw = snapshot.to_bytes()
    (meta / f"{snapshot.signed.version}.snapshot.json").write_bytes(raw)
    timestamp.signed.version += 1
    timestamp.signed.snapshot_meta = MetaFile(snapshot.signed.version, len(raw),
                                              {"sha256": hashlib.sha256(raw).hexdigest()})
    timestamp.sign(signer("timestamp"))
    (meta / "timestamp.json").write_bytes(timestamp.to_bytes())


def test_sync_writes_its_prometheus_textfile_beside_the_services(fleet: Fleet, tmp_path: Path) -> None:
    """`[metrics] textfile`: the sync, a process of its own, writes the fleet's timestamps for node_exporter."""
    from prometheus_client.parser import text_string_to_metric_families

    node = tmp_path / "node"
    fleet.config.write_text(fleet.config.read_text() + f'\n[metrics]\ntextfile = "{node / "kiosk.prom"}"\n')
    rc, out = fleet.sync()
    assert rc == 0, out
    text = (node / "kiosk_fleet.prom").read_text()
    values = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert values["kiosk_fleet_sync_enabled"] == 1
    assert abs(values["kiosk_fleet_last_sync_timestamp_seconds"] - time.time()) < 3600
    assert values["kiosk_fleet_metadata_expiry_timestamp_seconds"] > time.time()
    assert not (node / "kiosk.prom").exists()  # the service's own file is the service's to write
    fleet.server.stop()
    rc, _ = fleet.sync()  # a failed attempt is recorded too; the last success stays
    assert rc == 3
    after = {s.name: s.value for f in text_string_to_metric_families((node / "kiosk_fleet.prom").read_text())
             for s in f.samples}
    assert after["kiosk_fleet_last_attempt_timestamp_seconds"] >= values["kiosk_fleet_last_attempt_timestamp_seconds"]
    assert after["kiosk_fleet_last_sync_timestamp_seconds"] == values["kiosk_fleet_last_sync_timestamp_seconds"]
