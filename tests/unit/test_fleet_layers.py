"""How layers stack (defaults < site < device < local) and how a hand edit is found, both sides alike."""

from __future__ import annotations

import pytest

from kiosk.appliance.fleet.layers import LayerError, changed_values, layer_targets, merge, parse_layer


def test_higher_layers_win_tables_merge_lists_replace() -> None:
    defaults = {"site": {"name": "Flotte"}, "insi": {"timeout_s": 11}, "readers": [{"name": "a"}, {"name": "b"}],
                "webps": {"pages": {"A": True, "B": False}}}
    site = {"site": {"name": "Lyon"}, "readers": [{"name": "c"}], "webps": {"pages": {"B": True}}}
    device = {"insi": {"timeout_s": 13}}
    local = {"insi": {"timeout_s": 20}}
    merged = merge(defaults, site, device, local)
    assert merged == {"site": {"name": "Lyon"}, "insi": {"timeout_s": 20}, "readers": [{"name": "c"}],
                      "webps": {"pages": {"A": True, "B": True}}}
    assert defaults["webps"]["pages"] == {"A": True, "B": False}  # inputs untouched
    merged["readers"][0]["name"] = "x"
    assert site["readers"][0]["name"] == "c"  # no sharing with the inputs


def test_target_paths_follow_site_then_device() -> None:
    assert layer_targets("lyon", "k1") == [
        ("defaults", "defaults.toml"), ("site", "sites/lyon/site.toml"), ("device", "sites/lyon/devices/k1.toml")]


def test_fleet_layers_may_not_carry_the_kiosks_own_sync_section() -> None:
    with pytest.raises(LayerError, match=r"\[sync\]"):
        parse_layer("site", b'[sync]\nurl = "https://ailleurs"\n')
    assert parse_layer("local", b"[sync]\ninterval_hours = 1.0\n") == {"sync": {"interval_hours": 1.0}}
    with pytest.raises(LayerError, match="illisible"):
        parse_layer("defaults", b"[site\n")
    with pytest.raises(LayerError, match="illisible"):
        parse_layer("device", b"\xff\xfe")


def test_hand_edit_found_as_changed_values_and_removals() -> None:
    written = {"site": {"name": "Lyon"}, "insi": {"timeout_s": 13}, "ui": {"texts": {"a": "x"}},
               "sync": {"device_id": "k1"}}
    edited = {"site": {"name": "Manuel"}, "insi": {}, "ui": {"texts": {"a": "x"}, "lock_after_s": 60},
              "sync": {"device_id": "k2"}}
    layer, removed = changed_values(written, edited, skip={"sync"})
    assert layer == {"site": {"name": "Manuel"}, "ui": {"lock_after_s": 60}}
    assert removed == ["insi.timeout_s"]
    assert changed_values(written, written) == ({}, [])
