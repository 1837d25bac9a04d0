"""`kiosk doctor --plugin` behind Debian's NRPE daemon, asked by Debian's check_nrpe: the way Centreon and Nagios
reach a kiosk. The daemon drops to an unprivileged user (nobody here, nagios on a kiosk) and runs the command
line of its configuration; the status line, the performance data and the exit code must come back unchanged."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.sim.pki import Authority
from tests.conftest import ROOT
from tests.support.monitoring import STATUS_LINE, params_checked

NRPE = Path("/usr/sbin/nrpe")
CHECK_NRPE = Path("/usr/lib/nagios/plugins/check_nrpe")
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _unavailable() -> str | None:
    if not (NRPE.exists() and CHECK_NRPE.exists()):
        return "Debian's nagios-nrpe-server and nagios-nrpe-plugin absent"
    if os.geteuid() != 0:
        return "NRPE drops to an unprivileged user: needs root (./run test)"
    if not SYSTEM_PYTHON.exists():
        return "no /usr/bin/python3 for the unprivileged user"
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=False).stdout.strip()
    if version != str(sys.version_info[:2]):  # the venv's compiled packages must fit the system Python
        return f"/usr/bin/python3 is {version}, the venv {sys.version_info[:2]}"
    return None


pytestmark = pytest.mark.skipif(_unavailable() is not None, reason=_unavailable() or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nrpe() -> Iterator[tuple[int, Path]]:
    work = Path(tempfile.mkdtemp(prefix="kiosk-nrpe-"))  # not under pytest's 0700 tree: nobody reads it
    work.chmod(0o755)
    ca = Authority.create()
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    kiosk = f"PYTHONPATH={ROOT}:{site} {SYSTEM_PYTHON} -m kiosk"  # the venv's interpreter lives under /root
    commands = {}
    for name, days in (("ok", 200), ("warning", 20), ("critical", -2), ("unknown", None), ("unreadable", 200)):
        home = work / name
        home.mkdir()
        params_checked(home, 1)
        config = home / "kiosk.toml"
        if days is not None:
            p12 = ca.pkcs12_file(home / "auth.p12", "INSI-AUTO", days=days, start_days=-400)
            p12.chmod(0o644)  # on a kiosk: the kiosk user's, read through the sudo rule of monitoring/README.md
            config.write_text(f'environment = "demo"\nstate_dir = "{home / "state"}"\n'
                              f'[insi]\npkcs12 = "{p12}"\npkcs12_password = "secret"\n')
        for path in home.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        if name == "unreadable":
            config.chmod(0o600)  # root's: what the monitoring user sees without the sudo rule
        commands[name] = f"{kiosk} --config {config} doctor --plugin --only config --only certificates --only params"
    port = free_port()
    cfg = work / "nrpe.cfg"
    cfg.write_text(f"pid_file={work / 'nrpe.pid'}\nserver_port={port}\nserver_address=127.0.0.1\n"
                   "nrpe_user=nobody\nnrpe_group=nogroup\nallowed_hosts=127.0.0.1\ndont_blame_nrpe=0\n"
                   "command_timeout=120\n" + "".join(f"command[check_kiosk_{n}]={c}\n" for n, c in commands.items()))
    daemon = subprocess.Popen(
        [str(NRPE), "-c", str(cfg), "-f", "-n"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                assert daemon.poll() is None and time.monotonic() < deadline, "nrpe did not start"
                time.sleep(0.2)
        yield port, work
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize(
    ("name", "code"), [("ok", 0), ("warning", 1), ("critical", 2), ("unknown", 3), ("unreadable", 3)]
)
def test_check_nrpe_gets_the_plugins_answer_unchanged(nrpe: tuple[int, Path], name: str, code: int) -> None:
    port, _ = nrpe
    done = subprocess.run([str(CHECK_NRPE), "-H", "127.0.0.1", "-p", str(port), "-n", "-t", "120",
                           "-c", f"check_kiosk_{name}"], capture_output=True, text=True, timeout=180, check=False)
    first = done.stdout.splitlines()[0]
    m = STATUS_LINE.match(first)
    assert m and done.returncode == code and m.group(1) == ("UNKNOWN" if code == 3 else name.upper()), done.stdout
    if name == "unreadable":
        assert "illisible" in m.group(2) and "Permission denied" in m.group(2)
    if code != 3:
        perf = dict(item.split("=", 1) for item in m.group(3).split())
        assert set(perf) == {"cert_days_left", "params_age_h"} and perf["params_age_h"].startswith("1;24;72")
        assert len(done.stdout.splitlines()) == 4  # the long output (one line per check) crosses NRPE too
