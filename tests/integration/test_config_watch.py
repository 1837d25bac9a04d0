"""The running service's view of the file: a valid change is picked up, an invalid one refused."""

from __future__ import annotations

import threading
from pathlib import Path

from kiosk.config import load_config
from kiosk.config.edit import set_value
from kiosk.config.watch import ConfigWatcher
from tests.support.patience import PATIENCE_S


def test_reload_valid_and_refuse_invalid(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[site]\nname = "A"\n')
    changes: list[str] = []
    errors: list[str] = []
    changed, failed = threading.Event(), threading.Event()
    watcher = ConfigWatcher(
        cfg, load_config(cfg),
        on_change=lambda c: (changes.append(c.site.name), changed.set()),
        on_error=lambda e: (errors.append(str(e)), failed.set()),
        debounce_s=0.1,
    )
    watcher.start()
    try:
        set_value("site.name", "B", cfg)  # atomic rename: a new inode
        assert changed.wait(PATIENCE_S) and changes == ["B"]
        cfg.write_text('[site]\nname = 42\n')  # an editor saving a broken file in place
        assert failed.wait(PATIENCE_S)
        assert "site.name" in errors[0] and watcher.current.site.name == "B"
        changed.clear()
        cfg.write_text('[site]\nname = "C"\n')
        assert changed.wait(PATIENCE_S) and changes == ["B", "C"]
    finally:
        watcher.stop()


def test_reading_the_file_is_not_a_change(tmp_path: Path) -> None:
    """watchdog (>= 5) reports opens and read-only closes: reacting to them re-read the file every debounce
    period forever after the first change (and flooded the journal with the same refusal)."""
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[site]\nname = 42\n')
    failed = threading.Event()
    errors: list[str] = []
    watcher = ConfigWatcher(cfg, load_config(tmp_path / "absent.toml"), on_change=lambda c: None,
                            on_error=lambda e: (errors.append(str(e)), failed.set()), debounce_s=0.05)
    watcher.start()
    try:
        cfg.write_text('[site]\nname = 43\n')
        assert failed.wait(PATIENCE_S)
        for _ in range(3):  # our own reads (and anyone's) must not bring another refusal
            cfg.read_text()
        settled = threading.Event()
        settled.wait(1.0)  # twenty debounce periods: a loop would have refused again by now
        assert len(errors) == 1, errors
    finally:
        watcher.stop()
