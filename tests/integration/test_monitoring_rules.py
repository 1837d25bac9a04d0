"""The shipped Prometheus alert rules, checked and unit-tested with Debian's promtool (package `prometheus`)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

RULES = ROOT / "monitoring" / "kiosk-alerts.yml"
pytestmark = pytest.mark.skipif(
    not shutil.which("promtool"), reason="promtool absent (Debian package prometheus; ./run test installs it as root)"
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)


def test_alert_rules_are_valid() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 12 rules found" in done.stdout


def test_alert_rules_unit_tests_pass() -> None:
    tests = sorted((ROOT / "monitoring" / "tests").glob("*.yml"))
    assert tests
    done = promtool("test", "rules", *map(str, tests))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED" not in done.stdout


def test_a_broken_rule_file_is_refused(tmp_path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(RULES.read_text().replace("kiosk_params_last_success_timestamp_seconds > 36 * 3600",
                                                "kiosk_params_last_success_timestamp_seconds >> 36"))
    assert promtool("check", "rules", str(broken)).returncode != 0  # the check really parses the expressions
