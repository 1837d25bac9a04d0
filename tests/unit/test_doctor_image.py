"""`kiosk doctor` shows which image the kiosk runs (image/build.sh writes /usr/lib/kiosk/build-info.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.appliance.doctor import DoctorContext, Level, image


@pytest.fixture
def ctx(tmp_path: Path) -> DoctorContext:
    return DoctorContext(tmp_path / "kiosk.toml")


def test_build_id_shown(ctx: DoctorContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "build-info.json"
    info.write_text(json.dumps({"build_id": "202611300600-abcdef0123", "arch": "arm64", "suite": "bookworm",
                                "mode": "headless", "built": "2026-11-30T06:00:00+00:00"}))
    monkeypatch.setattr(image, "BUILD_INFO", info)
    found = image.check_image(ctx)
    assert found.level is Level.OK and "202611300600-abcdef0123" in found.message and "arm64" in found.message
    assert found.details["build_id"] == "202611300600-abcdef0123"


def test_outside_an_image(ctx: DoctorContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image, "BUILD_INFO", tmp_path / "absent.json")
    assert image.check_image(ctx).level is Level.OK


@pytest.mark.parametrize("content", ["{not json", "[]", '{"arch": "arm64"}'])
def test_damaged_build_info_is_a_warning(ctx: DoctorContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         content: str) -> None:
    info = tmp_path / "build-info.json"
    info.write_text(content)
    monkeypatch.setattr(image, "BUILD_INFO", info)
    found = image.check_image(ctx)
    assert found.level is Level.WARN and "illisible" in found.message
