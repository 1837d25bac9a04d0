"""Shared fixtures. Integration fixtures for pcscd, serial ptys and HTTPS servers live in tests/support/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_kiosk(tmp_path: Path):
    """Run the real CLI in a subprocess (the console script's code path), with its own config file."""

    def run(*args: str, config: Path | None = None, input: str | None = None, env: dict[str, str] | None = None):
        full_env = dict(os.environ, KIOSK_CONFIG=str(config or tmp_path / "kiosk.toml"), **(env or {}))
        full_env.pop("JOURNAL_STREAM", None)
        return subprocess.run(
            [sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, env=full_env, input=input,
            cwd=ROOT, timeout=120,
        )

    return run
