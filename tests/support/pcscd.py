"""A private pcscd for the tests, with the reader.conf entries each test needs.

`./run test` (as root) gives the test run its own mount and network namespaces with /run/pcscd on a tmpfs
(KIOSK_TEST_PRIVATE_PCSCD=1), so this daemon never meets the machine's. One daemon runs at a time; a test
needing other entries (a serial reader on a pty...) calls `restart()` and the fixture restores the default
entries afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.patience import PATIENCE_S

VPCD_LIB = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
TWIN_LIB = "/usr/lib/pcsc/drivers/serial/libccidtwin.so"
SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_BASE_PORT = 35963  # vpcd's default; each entry serves two readers: port and port + 1


def vpcd_entry(port: int = VPCD_BASE_PORT, name: str = "Virtual PCD") -> str:
    return f'FRIENDLYNAME "{name}"\nDEVICENAME /dev/null:0x{port:04X}\nLIBPATH {VPCD_LIB}\nCHANNELID 0x{port:04X}\n'


def twin_entry(device: str, name: str = "GemPC Twin serial", model: str = "GemPCTwin") -> str:
    return f'FRIENDLYNAME "{name}"\nDEVICENAME {device}:{model}\nLIBPATH {TWIN_LIB}\n'


def unavailable_reason() -> str | None:
    """Why a private pcscd cannot run here, or None."""
    if not shutil.which("pcscd"):
        return "pcscd is not installed (./run test installs it when root)"
    if not Path(VPCD_LIB).exists():
        return "vsmartcard-vpcd is not installed (./run test installs it when root)"
    if os.environ.get("KIOSK_TEST_PRIVATE_PCSCD") != "1":
        return "needs the private namespaces of ./run test (run as root)"
    return None


@dataclass
class Pcscd:
    workdir: Path
    entries: list[str] = field(default_factory=lambda: [vpcd_entry()])
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "pcscd.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, entries: list[str] | None = None, debug: bool = False) -> None:
        if entries is not None:
            self.entries = entries
        conf = self.workdir / "reader.conf.d"
        shutil.rmtree(conf, ignore_errors=True)
        conf.mkdir(parents=True)
        for i, entry in enumerate(self.entries):
            (conf / f"{i:02d}-reader").write_text(entry)
        args = ["pcscd", "--foreground", "--config", str(conf)] + (["--debug", "--apdu"] if debug else [])
        with open(self.log_path, "ab") as log:  # the daemon keeps its own copy of the descriptor
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + PATIENCE_S
        while not SOCKET.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pcscd did not start:\n{self.log()[-2000:]}")
            time.sleep(0.05)
        time.sleep(0.3)  # serial drivers open their device after the socket exists

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(PATIENCE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        # pcscd removes its socket before exiting; one still there was left by a crash (kill()): stale, so that
        # start() waits for the new daemon's socket, not this one
        SOCKET.unlink(missing_ok=True)

    def restart(self, entries: list[str] | None = None, debug: bool = False) -> None:
        self.stop()
        self.start(entries, debug)

    def kill(self) -> None:
        """Crash it (SIGKILL), as when pcscd dies under the service; the socket file stays behind."""
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None
