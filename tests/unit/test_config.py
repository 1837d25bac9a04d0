"""Configuration: defaults, every error with key path and line, show, set (atomic, validated), reference."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from kiosk.config import load_config, parse_config
from kiosk.config.edit import set_value
from kiosk.config.reference import reference_markdown
from kiosk.errors import ConfigError
from tests.support.config_samples import BROKEN

ROOT = Path(__file__).resolve().parents[2]


def test_empty_file_is_a_valid_demo() -> None:
    config, problems = parse_config("")
    assert problems == [] and config.environment == "demo" and config.webps.pages["DossierPatient"] is True


def test_every_error_has_key_line_and_expectation() -> None:
    _, problems = parse_config(BROKEN)
    by_key = {p.key: p for p in problems}
    assert by_key["site.finess"].line == 5 and "FINESS" in by_key["site.finess"].message
    assert by_key["insi.timeout_s"].line == 8 and "nombre" in by_key["insi.timeout_s"].message
    assert by_key["readers[1].role"].line == 16 and "'patient'" in by_key["readers[1].role"].message
    assert by_key["readers[1].port"].line == 14  # absent: the line of its table
    assert "lps.insi_idam" in by_key and by_key["lps.insi_idam"].line is None  # absent section
    assert "insi.pkcs12" in by_key


def test_toml_syntax_error_has_its_line() -> None:
    _, problems = parse_config('environment = "demo"\n[site\nname = 1\n')
    assert len(problems) == 1 and problems[0].line == 2


def test_unknown_key_is_reported_with_the_known_ones() -> None:
    _, problems = parse_config("[insi]\nendpiont = 'https://x'\n")
    assert problems[0].key == "insi.endpiont" and "endpoint" in problems[0].message and problems[0].line == 2


def test_set_keeps_other_values_and_validates(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('environment = "demo"\n[site]\nname = "CH A"\n[[readers]]\nname = "vitale"\nrole = "patient"\n')
    os.chmod(cfg, 0o640)
    set_value("insi.timeout_s", "30", cfg)
    set_value("site.finess", "010780054", cfg)  # text key: digits stay text
    set_value("readers.0.match", "Gemalto*", cfg)
    set_value("readers.1.name", "cps", cfg)  # appends a reader
    data = tomllib.loads(cfg.read_text())
    assert data["insi"]["timeout_s"] == 30 and data["site"] == {"name": "CH A", "finess": "010780054"}
    assert data["readers"][0] == {"name": "vitale", "role": "patient", "match": "Gemalto*"}
    assert data["readers"][1] == {"name": "cps"}
    assert cfg.stat().st_mode & 0o777 == 0o640
    before = cfg.read_bytes()
    for key, value in [
        ("insi.timeout_s", "-1"),
        ("environment", "staging"),
        ("readers.0.role", "chef"),
        ("insi.nope", "1"),
    ]:
        with pytest.raises(ConfigError):
            set_value(key, value, cfg)
        assert cfg.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["kiosk.toml"]  # no temp file left behind


def test_load_config_reports_every_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(BROKEN)
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert len(e.value.problems) >= 5 and "site.finess (ligne 5)" in str(e.value)


def test_readme_has_the_current_reference() -> None:
    assert reference_markdown() in (ROOT / "README.md").read_text(), "run `kiosk config reference` into README.md"
