"""A private cupsd for the tests: Debian's daemon, its whole tree (configuration, spool, logs) on a tmpfs, a
`cups-pdf` queue writing PDFs into that tmpfs, and the client tools (lpadmin, cupsdisable...) to change it.

Needs the private mount and network namespaces of `./run test` (as root): the tmpfs and the bind mount of
cups-pdf's fixed-path configuration (/etc/cups/cups-pdf.conf) stay inside them, and the loopback port is ours.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_CONF = Path("/etc/cups/cups-pdf.conf")
TOOLS = ("cupsd", "lpadmin", "cupsdisable", "cupsreject", "pdftotext", "pdftoppm", "zbarimg")


def unavailable_reason() -> str | None:
    missing = [t for t in TOOLS if not shutil.which(t)] + [
        str(p) for p in (CUPS_PDF_PPD, CUPS_PDF_CONF) if not p.exists()
    ]
    if missing:
        return f"not installed: {', '.join(missing)} (./run test installs them when root)"
    if os.environ.get("KIOSK_TEST_PRIVATE_PCSCD") != "1":
        return "needs the private namespaces of ./run test (run as root)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cupsd:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kiosk-cupsd-")))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.root / "cups.sock"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def out(self) -> Path:
        """Where the cups-pdf queue writes its PDFs."""
        return self.root / "out"

    @property
    def cupsd_conf(self) -> Path:
        return self.root / "etc" / "cupsd.conf"

    def url(self, queue: str) -> str:
        return f"ipp://127.0.0.1:{self.port}/printers/{queue}"

    def log(self) -> str:
        path = self.root / "log" / "error_log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        os.chmod(self.root, 0o755)  # filters run as lp and open the spooled file by its path
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "tmpfs", str(self.root)], check=True)
        for name, mode in (("etc", 0o755), ("etc/ppd", 0o755), ("spool", 0o710), ("spool/tmp", 0o1770),
                           ("cache", 0o770), ("state", 0o755), ("log", 0o755), ("out", 0o1777)):
            (self.root / name).mkdir()
            os.chmod(self.root / name, mode)
            shutil.chown(self.root / name, "root", "lp")
        r = self.root
        self.cupsd_conf.write_text(f"""LogLevel debug
Listen 127.0.0.1:{self.port}
Listen {self.socket}
Browsing No
WebInterface No
PreserveJobFiles No
PreserveJobHistory Yes
ErrorPolicy retry-job
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
""")
        (r / "etc" / "cups-files.conf").write_text(f"""ServerRoot {r}/etc
RequestRoot {r}/spool
TempDir {r}/spool/tmp
CacheDir {r}/cache
StateDir {r}/state
ErrorLog {r}/log/error_log
AccessLog {r}/log/access_log
PageLog {r}/log/page_log
User lp
Group lp
SystemGroup root
Sandboxing Relaxed
""")
        (r / "cups-pdf.conf").write_text(f"Out {r}/out\nAnonDirName {r}/out\nSpool {r}/cups-pdf-spool\nGrp lp\n"
                                         f"Log {r}/log\nAnonUMask 0077\nUserUMask 0077\n")
        subprocess.run(["mount", "--bind", str(r / "cups-pdf.conf"), str(CUPS_PDF_CONF)], check=True)
        with open(r / "log" / "cupsd.stderr", "ab") as stderr:
            self.process = subprocess.Popen(
                ["cupsd", "-f", "-c", str(self.cupsd_conf), "-s", str(r / "etc" / "cups-files.conf")],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"cupsd did not start:\n{self.log()[-3000:]}") from None
                time.sleep(0.1)

    def admin(self, *args: str) -> None:
        """A CUPS client tool against this daemon (its domain socket: root is trusted there)."""
        tool, *rest = args
        done = subprocess.run(
            [tool, "-h", str(self.socket), *rest], check=False, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")

    def add_pdf_queue(self, name: str, *options: str) -> None:
        self.admin("lpadmin", "-p", name, "-E", "-v", "cups-pdf:/", "-P", str(CUPS_PDF_PPD), *options)

    def add_queue(self, name: str, device_uri: str) -> None:
        self.admin("lpadmin", "-p", name, "-E", "-v", device_uri, "-m", "raw")

    def pdfs(self) -> list[Path]:
        return sorted(self.out.glob("*.pdf"), key=lambda p: p.stat().st_mtime)

    def wait_pdfs(self, count: int, timeout_s: float = 120) -> list[Path]:
        deadline = time.monotonic() + timeout_s
        while len(self.pdfs()) < count:
            if time.monotonic() > deadline:
                logs = "".join(p.read_text(errors="replace")[-1500:] for p in (self.root / "log").glob("cups-pdf*"))
                raise AssertionError(f"{count} PDF(s) expected in {self.out}, got {len(self.pdfs())}\n{logs}")
            time.sleep(0.1)
        return self.pdfs()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        subprocess.run(["umount", str(CUPS_PDF_CONF)], check=False, capture_output=True)
        subprocess.run(["umount", "--lazy", str(self.root)], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
