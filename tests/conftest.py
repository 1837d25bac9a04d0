"""Shared fixtures. Integration fixtures for pcscd, serial ptys and HTTPS servers live in tests/support/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis on a loaded CI machine: no per-example deadline (load is not a bug), the same examples on every run
# (derandomized from each test's name, so a failure reproduces), the reproduction blob printed on failure.
# HYPOTHESIS_PROFILE=explore draws new random examples (a developer hunting bugs).
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def run_kiosk(tmp_path: Path):
    """Run the real CLI in a subprocess (the console script's code path), with its own config file."""

    def run(*args: str, config: Path | None = None, input: str | None = None, env: dict[str, str] | None = None):
        full_env = dict(os.environ, KIOSK_CONFIG=str(config or tmp_path / "kiosk.toml"), **(env or {}))
        full_env.pop("JOURNAL_STREAM", None)
        return subprocess.run(
            [sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, env=full_env, input=input,
            cwd=ROOT, timeout=120, check=False,
        )

    return run


@pytest.fixture(scope="session")
def pcscd_daemon(tmp_path_factory: pytest.TempPathFactory):
    """The session's private pcscd with two vpcd readers ("Virtual PCD 00 00" on 35963, "... 00 01" on 35964)."""
    from tests.support.pcscd import Pcscd, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    daemon = Pcscd(tmp_path_factory.mktemp("pcscd"))
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def pcscd(pcscd_daemon):
    """pcscd with the default entries, restored after a test that restarted it differently (or killed it)."""
    from tests.support.pcscd import vpcd_entry

    yield pcscd_daemon
    if (
        pcscd_daemon.process is None
        or pcscd_daemon.process.poll() is not None
        or pcscd_daemon.entries != [vpcd_entry()]
    ):
        pcscd_daemon.restart([vpcd_entry()])
