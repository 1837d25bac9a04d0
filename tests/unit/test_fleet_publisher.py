"""The publisher: a workspace signed with python-tuf's Metadata API, checked the way a kiosk will check it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, Root

from kiosk.appliance.fleet import publisher
from kiosk.appliance.fleet.publisher import PublishError, Workspace
from kiosk.errors import ConfigError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    publisher.init(workspace.root)
    return workspace


def _root(ws: Workspace, version: int) -> Metadata[Root]:
    return Metadata.from_file(str(ws.metadata / f"{version}.root.json"))


def test_init_creates_keys_thresholds_and_a_first_publication(ws: Workspace) -> None:
    root = _root(ws, 1)
    assert root.signed.consistent_snapshot
    assert len(root.signed.roles["root"].keyids) == 3 and root.signed.roles["root"].threshold == 2
    assert len(root.signatures) == 3
    root.verify_delegate("root", root)  # self-signed to its threshold
    for role in ("targets", "snapshot", "timestamp"):
        assert len(root.signed.roles[role].keyids) == 1
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in ws.keys.glob("*.pem"))
    assert len(list(ws.keys.glob("*.pem"))) == 6
    assert (ws.metadata / "timestamp.json").stat().st_mode & 0o777 == 0o644  # servable
    with pytest.raises(PublishError, match="déjà"):
        publisher.init(ws.root)


def test_set_validates_refuses_secrets_and_device_bound_keys(ws: Workspace) -> None:
    publisher.add_site(ws, "lyon")
    path = publisher.set_layer_value(ws, "insi.timeout_s", "25", site="lyon", device="k1")
    assert path == ws.layers / "sites/lyon/devices/k1.toml" and "timeout_s = 25" in path.read_text()
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="insi.timeout_s"):
        publisher.set_layer_value(ws, "insi.timeout_s", "vite", site="lyon", device="k1")
    assert path.read_bytes() == before  # refused: the layer file is as it was
    with pytest.raises(ConfigError, match="secret"):
        publisher.set_layer_value(ws, "dmp.pkcs12_password", "hunter2")
    with pytest.raises(ConfigError, match=r"\[sync\]"):
        publisher.set_layer_value(ws, "sync.url", "https://ailleurs")
    with pytest.raises(ConfigError, match="inconnu"):
        publisher.set_layer_value(ws, "site.name", "X", site="paris")
    with pytest.raises(ConfigError, match="invalide"):
        publisher.add_site(ws, "../etc")


def test_publish_signs_only_what_changed_and_always_a_new_timestamp(ws: Workspace) -> None:
    report = publisher.publish(ws)
    assert report.signed == ["timestamp"] and report.versions["timestamp"] == 2 and report.versions["targets"] == 1
    publisher.set_layer_value(ws, "site.name", "Accueil")
    report = publisher.publish(ws)
    assert report.signed == ["targets", "snapshot", "timestamp"] and report.versions["targets"] == 2
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=16)  # snapshot (30 days) past half its life
    report = publisher.publish(ws, now=later)
    assert report.signed == ["snapshot", "timestamp"]


def test_publish_refuses_invalid_layers_and_missing_keys(ws: Workspace, tmp_path: Path) -> None:
    (ws.layers / "defaults.toml").write_text('[insi]\npkcs12_password = "x"\n[sync]\nenabled = true\n')
    with pytest.raises(ConfigError) as refused:
        publisher.publish(ws)
    assert "secret" in str(refused.value) and "[sync]" in str(refused.value)
    (ws.layers / "defaults.toml").write_text("")
    offline = tmp_path / "usb"
    offline.mkdir()
    for key in ws.keys.glob("timestamp-*.pem"):
        key.rename(offline / key.name)
    with pytest.raises(PublishError, match="timestamp"):
        publisher.publish(ws)
    publisher.publish(Workspace(ws.root, [offline]))  # keys kept elsewhere are found with --keys


def test_rotation_is_signed_by_old_and_new_root_keys(ws: Workspace) -> None:
    old = _root(ws, 1)
    publisher.rotate(ws, "root")
    new = _root(ws, 2)
    assert set(new.signed.roles["root"].keyids).isdisjoint(old.signed.roles["root"].keyids)
    old.signed.verify_delegate("root", new.signed_bytes, new.signatures)  # trusted line from version 1
    new.signed.verify_delegate("root", new.signed_bytes, new.signatures)
    assert len(list((ws.keys / "retired").glob("root-*.pem"))) == 3
    with pytest.raises(ConfigError, match="inconnu"):
        publisher.rotate(ws, "mirror")
