"""Debian's real systemd-journald, private to one test.

The suite's mount namespace is shared by every test, so the daemon gets one more of its own (`unshare --mount`):
there a tmpfs covers /run, and the test's directories are bound over /run/systemd/journal (its sockets) and
/run/log/journal (its files; `Storage=volatile` from a drop-in under /run/systemd/journald.conf.d). Nothing is
created on the machine. The same directories seen from the test let it send to the daemon's native socket and
read the files with `journalctl -D`; `run_inside()` runs a command in the daemon's namespace, where the default
paths (/run/systemd/journal/socket, `journalctl` without options) are the daemon's, as on a kiosk.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.support.patience import PATIENCE_S, wait_until

JOURNALD = Path("/lib/systemd/systemd-journald")

# Runs as the daemon's own PID (exec), so `nsenter --target PID --mount` joins its namespace.
START = r"""
set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal /run/log/journal /run/systemd/journald.conf.d
mount --bind "$1" /run/systemd/journal
mount --bind "$2" /run/log/journal
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n' \
    > /run/systemd/journald.conf.d/kiosk-test.conf
exec "$3"
"""


class CannotStart(RuntimeError):
    """journald exited before creating its socket: the tests that need it skip, saying why."""


def unavailable_reason() -> str | None:
    """Why a private journald cannot run here, or None."""
    if not JOURNALD.exists() or not shutil.which("journalctl"):
        return "systemd-journald is not installed (./run test installs the systemd package when root)"
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        return "a private journald needs root and util-linux's unshare/nsenter (./run test as root)"
    if not Path("/etc/machine-id").is_file() or not Path("/etc/machine-id").read_text().strip():
        return "no /etc/machine-id: journald cannot name its journal directory"
    return None


class Journald:
    def __init__(self) -> None:
        # A short path of its own: a Unix socket's path is limited to 107 bytes, and pytest's tmp_path is long.
        self.root = Path(tempfile.mkdtemp(prefix="kiosk-journald-"))
        self.sockets = self.root / "sockets"
        self.files = self.root / "files"
        self.sockets.mkdir()
        self.files.mkdir()
        self.socket = self.sockets / "socket"  # journald's native socket, as the test sees it
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.root / "journald.log", "ab") as log:
            self.process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", START, "sh",
                 str(self.sockets), str(self.files), str(JOURNALD)],
                stdout=log, stderr=subprocess.STDOUT, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            )
        wait_until(lambda: self.socket.exists() or self.process is None or self.process.poll() is not None,
                   message="journald did not create its socket")
        if not self.socket.exists():
            output = self.log()
            self.stop()
            raise CannotStart(f"systemd-journald did not start here (a container refusing its mounts?): {output}")

    def log(self) -> str:
        return (self.root / "journald.log").read_text(errors="replace")[-2000:]

    def journalctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The real journalctl on the daemon's files (as on a journal copied off a kiosk: `-D`)."""
        return subprocess.run(["journalctl", "--no-pager", "-D", str(self.files), *args],
                              capture_output=True, text=True, timeout=PATIENCE_S, check=False)

    def records(self, *matches: str) -> list[str]:
        done = self.journalctl("-o", "json", *matches)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    def wait_records(self, count: int, *matches: str) -> list[str]:
        def enough() -> list[str]:
            records = self.records(*matches)
            return records if len(records) >= count else []

        return wait_until(enough, message=lambda: f"journald has fewer than {count} records for {matches}")

    def journal_files(self) -> list[Path]:
        return sorted(self.files.rglob("*.journal"))

    def rotate(self) -> None:
        """What `journalctl --rotate` asks of the daemon (SIGUSR2): the active file is archived, a new one opened."""
        before = {p for p in self.journal_files() if "@" in p.name}
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR2)
        wait_until(lambda: {p for p in self.journal_files() if "@" in p.name} - before,
                   message="journald did not archive its file")

    def run_inside(self, args: list[str], env: dict[str, str] | None = None,
                   cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        """A command in the daemon's mount namespace: /run/systemd/journal/socket and journalctl are its own."""
        assert self.process is not None
        return subprocess.run(["nsenter", "--target", str(self.process.pid), "--mount", *args],
                              capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=PATIENCE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
