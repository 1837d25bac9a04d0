"""A private host for Debian's real `systemd-creds`: its host key and /etc/kiosk without touching the machine's.

`systemd-creds encrypt` creates the host key /var/lib/systemd/credential.secret on first use, and the kiosk seals
into /etc/kiosk/audit-key.cred. Each command here runs in a mount namespace of its own (`unshare --mount`) where
a directory of the test is bound over /var/lib/systemd (on disk: `--with-key=auto` refuses a host key on a
temporary file system; `tmpfs=True` shows that) and an overlay over /etc keeps /etc/kiosk in another one. The
same directories serve every command of the test, so the host key and the credential persist between them, as
across a kiosk's reboots.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

START = r"""
set -e
if [ "$1" = tmpfs ]; then mount -t tmpfs -o mode=0755 tmpfs /var/lib/systemd
else mount --bind "$1" /var/lib/systemd; fi
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$2,workdir=$3" /etc
shift 3
exec "$@"
"""


def unavailable_reason() -> str | None:
    if not shutil.which("systemd-creds"):
        return "systemd-creds is not installed (./run test installs the systemd package when root)"
    if os.geteuid() != 0 or not shutil.which("unshare") or not Path("/var/lib/systemd").is_dir():
        return "a private host key needs root, util-linux's unshare and /var/lib/systemd (./run test as root)"
    return _namespace_problem()


@functools.cache
def _namespace_problem() -> str | None:
    """The private host tried once: a container may refuse the bind or the overlay mount."""
    with tempfile.TemporaryDirectory() as probe:
        done = PrivateHost(Path(probe)).run(["true"])
    return None if done.returncode == 0 else f"no private host key here (mount refused: {done.stderr.strip()[:200]})"


class PrivateHost:
    def __init__(self, directory: Path, tmpfs: bool = False) -> None:
        self.var_lib_systemd = directory / "var-lib-systemd"
        self.etc_upper = directory / "etc-upper"
        self.etc_work = directory / "etc-work"
        for d in (self.var_lib_systemd, self.etc_upper, self.etc_work):
            d.mkdir(parents=True, exist_ok=True)
        self.tmpfs = tmpfs

    @property
    def host_key(self) -> Path:
        return self.var_lib_systemd / "credential.secret"

    @property
    def etc_kiosk(self) -> Path:
        """/etc/kiosk as the private host sees it (the overlay's upper layer)."""
        return self.etc_upper / "kiosk"

    def run(self, args: list[str], env: dict[str, str] | None = None, input: str | None = None,
            cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        where = "tmpfs" if self.tmpfs else str(self.var_lib_systemd)
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", START, "sh", where, str(self.etc_upper),
             str(self.etc_work), *args],
            capture_output=True, text=True, env=env, input=input, cwd=cwd, timeout=120, check=False,
        )
