"""The systemd units in systemd/: `systemd-analyze verify` and `security --offline` on the real files.

`verify` checks that ExecStart binaries exist: the tests verify copies in which /opt/kiosk/bin/kiosk is this
checkout's real venv (.venv/bin/kiosk) and binaries absent here (cage, foot) are stub scripts; the image build
check (test_image_build.py) verifies the untouched units inside the built root filesystem. sysusers and
tmpfiles entries are applied with `--root` to a scratch tree; the polkit rule runs in node when present.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
UNIT_FILES = sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))
SERVICES = [p for p in UNIT_FILES if p.suffix == ".service"]

pytestmark = pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")


def directives(path: Path) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file (all sections), values in order (repeated keys accumulate)."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.fixture(scope="module")
def verifiable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the units whose ExecStart binaries exist on this machine."""
    out = tmp_path_factory.mktemp("units")
    kiosk = ROOT / ".venv" / "bin" / "kiosk"
    if not kiosk.exists():
        kiosk = Path(sys.executable).with_name("kiosk")
    stubs = out / "stubs"
    stubs.mkdir()
    for unit in UNIT_FILES:
        text = unit.read_text().replace("/opt/kiosk/bin/kiosk", str(kiosk))
        for binary in sorted(
            set(re.findall(r"^Exec\w*=[-@:+!]*(/\S+)", text, re.MULTILINE))
            | set(re.findall(r"(/usr/bin/[\w.-]+)", text))
        ):
            if not Path(binary).exists():
                stub = stubs / Path(binary).name
                stub.write_text("#!/bin/sh\nexit 0\n")
                stub.chmod(0o755)
                text = text.replace(binary, str(stub))
        (out / unit.name).write_text(text)
    return out


@pytest.mark.parametrize("unit", [p.name for p in UNIT_FILES])
def test_systemd_analyze_verify_passes(verifiable: Path, unit: str) -> None:
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], cwd=verifiable, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def exposure(unit: Path) -> float:
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout)
    assert found, done.stdout + done.stderr
    return float(found.group(1))


def test_kiosk_service_exposure_is_at_most_2_5() -> None:
    score = exposure(UNITS / "kiosk.service")
    assert score <= 2.5, f"kiosk.service exposure {score}"


@pytest.mark.parametrize("unit", ["kiosk-params.service", "kiosk-sync.service"])
def test_periodic_jobs_are_hardened_as_well(unit: str) -> None:
    assert exposure(UNITS / unit) <= 2.5


def test_kiosk_service_keeps_pcscd_serial_network_and_state_reachable() -> None:
    d = directives(UNITS / "kiosk.service")
    assert d["Type"] == ["notify"] and d["WatchdogSec"] and d["Restart"] == ["always"]
    assert d["ExecStart"] == ["/opt/kiosk/bin/kiosk run --headless"]
    assert d["User"] == ["kiosk"] and "DynamicUser" not in d  # pcscd's polkit rule names the user
    assert "dialout" in d["SupplementaryGroups"][0].split()
    # serial ports: a closed device policy with the two tty classes, never PrivateDevices (it hides them)
    assert d["DevicePolicy"] == ["closed"]
    assert {"char-ttyUSB rw", "char-ttyACM rw"} <= set(d["DeviceAllow"])
    # USB ticket printers: pyusb's usbfs nodes and usblp's /dev/usb/lp*, both given to group lp by udev
    assert {"char-usb_device rw", "char-usb rw"} <= set(d["DeviceAllow"])
    assert "lp" in d["SupplementaryGroups"][0].split()
    assert "PrivateDevices" not in d
    # network and pcscd's unix socket
    assert "PrivateNetwork" not in d and "IPAddressDeny" not in d
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(d["RestrictAddressFamilies"][0].split())
    assert not any(p.startswith("/run/pcscd") for p in d.get("InaccessiblePaths", []))
    # state and runtime directories, read-only elsewhere
    assert d["StateDirectory"] == ["kiosk"] and d["RuntimeDirectory"] == ["kiosk"]
    assert d["ProtectSystem"] == ["strict"]


def test_every_service_has_a_timer_where_it_is_periodic() -> None:
    assert directives(UNITS / "kiosk-params.service")["ExecStart"] == ["/opt/kiosk/bin/kiosk params sync"]
    assert directives(UNITS / "kiosk-sync.service")["ExecStart"] == ["/opt/kiosk/bin/kiosk sync"]
    for timer in ("kiosk-params.timer", "kiosk-sync.timer"):
        d = directives(UNITS / timer)
        assert d["RandomizedDelaySec"] and d["WantedBy"] == ["timers.target"]


def seconds(span: str) -> float:
    done = subprocess.run(
        ["systemd-analyze", "timespan", span], capture_output=True, text=True, timeout=30, check=False
    )
    found = re.search(r"μs:\s*(\d+)", done.stdout)
    assert found, done.stdout
    return int(found.group(1)) / 1e6


def test_param_lps_refresh_is_at_most_24_hours_apart_even_with_the_random_delay() -> None:
    d = directives(UNITS / "kiosk-params.timer")
    done = subprocess.run(["systemd-analyze", "calendar", "--iterations=4", d["OnCalendar"][0]],
                          capture_output=True, text=True, timeout=30, check=False)
    times = [
        datetime.strptime(m, "%Y-%m-%d %H:%M:%S")
        for m in re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", done.stdout)
    ]
    assert len(times) == 4, done.stdout
    widest = max(b - a for a, b in pairwise(times))
    assert widest + timedelta(seconds=seconds(d["RandomizedDelaySec"][0])) <= timedelta(hours=24)


def test_sysusers_creates_the_static_kiosk_user_in_dialout(tmp_path: Path) -> None:
    if not shutil.which("systemd-sysusers"):
        pytest.skip("systemd-sysusers is not installed")
    (tmp_path / "etc").mkdir()
    done = subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(UNITS / "kiosk-sysusers.conf")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    passwd = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()}
    assert passwd["kiosk"][6] == "/usr/sbin/nologin" and int(passwd["kiosk"][2]) < 1000  # a system user
    dialout = next(line for line in (tmp_path / "etc/group").read_text().splitlines() if line.startswith("dialout:"))
    assert "kiosk" in dialout.split(":")[3].split(",")
    shadow = (tmp_path / "etc/shadow").read_text()
    assert re.search(r"^kiosk:!", shadow, re.MULTILINE)  # no password: nobody logs in as kiosk


def test_tmpfiles_makes_etc_kiosk_setgid_for_the_kiosk_group(tmp_path: Path) -> None:
    if not shutil.which("systemd-tmpfiles") or not shutil.which("systemd-sysusers"):
        pytest.skip("systemd-tmpfiles is not installed")
    import os
    import stat

    if os.geteuid() != 0:
        pytest.skip("needs root to create files owned by kiosk")
    (tmp_path / "etc").mkdir()
    subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(UNITS / "kiosk-sysusers.conf")], check=True,
                   capture_output=True, timeout=60)
    done = subprocess.run(["systemd-tmpfiles", f"--root={tmp_path}", "--create", str(UNITS / "kiosk-tmpfiles.conf")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    st = (tmp_path / "etc/kiosk").stat()
    gid = int(
        next(line for line in (tmp_path / "etc/group").read_text().splitlines() if line.startswith("kiosk:")).split(
            ":"
        )[2]
    )
    assert stat.S_IMODE(st.st_mode) == 0o2770 and st.st_uid == 0 and st.st_gid == gid
    assert stat.S_IMODE((tmp_path / "var/lib/kiosk").stat().st_mode) == 0o750


POLKIT_HARNESS = r"""
const fs = require("fs");
const rules = [];
const polkit = { addRule: (f) => rules.push(f), Result: { YES: "yes", NO: "no", NOT_HANDLED: null } };
eval(fs.readFileSync(process.argv[2], "utf8"));
const out = {};
for (const user of ["kiosk", "someone"]) {
  for (const id of ["org.debian.pcsc-lite.access_pcsc", "org.debian.pcsc-lite.access_card",
  "org.freedesktop.login1.reboot"]) {
    let result = null;
    for (const rule of rules) { result = rule({ id }, { user }); if (result) break; }
    out[user + " " + id] = result;
  }
}
console.log(JSON.stringify(out));
"""


def test_polkit_rule_allows_pcscd_for_the_kiosk_user_only(tmp_path: Path) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("node is not installed: the polkit rule (JavaScript) cannot be evaluated here")
    harness = tmp_path / "harness.js"
    harness.write_text(POLKIT_HARNESS)
    done = subprocess.run([node, str(harness), str(UNITS / "kiosk-pcscd.rules")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["kiosk org.debian.pcsc-lite.access_pcsc"] == "yes"
    assert result["kiosk org.debian.pcsc-lite.access_card"] == "yes"
    assert result["kiosk org.freedesktop.login1.reboot"] is None
    assert result["someone org.debian.pcsc-lite.access_pcsc"] is None
