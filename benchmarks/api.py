"""The local API's throughput, latency and flood recovery (issue 14, point 3).

    .venv/bin/python benchmarks/api.py [--seconds 10] [--clients 32 200] [--flood 2000]

The server is a real `kiosk run --headless` (demo readers, no card) in its own process, with the unit's
LimitNOFILE (systemd/kiosk.service) and the default [api] limits (max_clients 32). Each client thread keeps
one connection and sends `{"op": "status"}` in a loop for --seconds; a client turned away ("busy") counts as
refused and retries on a new connection after 50 ms. Then: --flood idle connections are opened and released,
and the time from the release to the first answered request is the recovery time; the same with the server
starved of descriptors (LimitNOFILE 96, max_clients 512: accept() fails with EMFILE and backs off).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
environment = "demo"
state_dir = "{state}"

[[readers]]
name = "vitale"
role = "patient"
backend = "sim"

[[readers]]
name = "cpx"
role = "staff"
backend = "sim"
"""


def unit_nofile() -> int:
    found = re.search(r"^LimitNOFILE=(\d+)", (ROOT / "systemd" / "kiosk.service").read_text(), re.MULTILINE)
    return int(found.group(1)) if found else 1024


def start(workdir: Path, nofile: int, extra: str = "") -> tuple[subprocess.Popen, Path]:
    config = workdir / "kiosk.toml"
    config.write_text(CONFIG.format(state=workdir / "state") + extra)
    api = workdir / "api.sock"
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env["KIOSK_CONFIG"] = str(config)
    proc = subprocess.Popen(["prlimit", f"--nofile={nofile}:{nofile}", "--", sys.executable, "-m", "kiosk", "run",
                             "--headless", "--api-socket", str(api)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line).get("event") == "ready":
            break
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    return proc, api


def load(api: Path, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    refused = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        mine: list[float] = []
        while time.monotonic() < stop:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(30)
                    s.connect(str(api))
                    f = s.makefile("rwb")
                    while time.monotonic() < stop:
                        t = time.perf_counter()
                        f.write(b'{"op": "status"}\n')
                        f.flush()
                        answer = json.loads(f.readline() or b"{}")
                        if answer.get("error") == "busy" or not answer:
                            with lock:
                                refused[0] += 1
                            time.sleep(0.05)
                            break
                        mine.append(time.perf_counter() - t)
            except OSError:
                with lock:
                    refused[0] += 1
                time.sleep(0.05)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    n = len(latencies)
    return {"clients": clients, "requests_s": n / seconds, "p50_ms": 1000 * latencies[n // 2] if n else 0,
            "p99_ms": 1000 * latencies[int(n * 0.99)] if n else 0, "refused": refused[0]}


def recovery(api: Path, flood: int) -> float:
    held = []
    for _ in range(flood):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(str(api))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        held.append(s)
    time.sleep(2.0)  # let the server take what it can
    released = time.perf_counter()
    for s in held:
        s.close()
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(str(api))
                s.sendall(b'{"op": "status"}\n')
                if json.loads(s.makefile().readline() or "{}").get("ok"):
                    return time.perf_counter() - released
        except OSError:
            pass
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[32, 200])
    parser.add_argument("--flood", type=int, default=2000)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.flood * 2 + 1024), hard))
    print(f"{os.cpu_count()} CPU; server: kiosk run --headless, LimitNOFILE {unit_nofile()}, [api] defaults")
    print(f"{'mix':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'refused':>8}")
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-api-") as tmp:
        proc, api = start(Path(tmp), unit_nofile())
        try:
            for clients in args.clients:
                r = load(api, clients, args.seconds)
                print(f"{f'{clients} clients, status':<34} {r['requests_s']:>8.0f} {r['p50_ms']:>8.1f} "
                      f"{r['p99_ms']:>8.1f} {r['refused']:>8}")
            print(f"recovery after {args.flood} idle connections (unit limit): {recovery(api, args.flood):.3f} s")
        finally:
            proc.terminate()
            proc.wait()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-api-") as tmp:
        proc, api = start(Path(tmp), 96, "\n[api]\nmax_clients = 512\nidle_timeout_s = 3600\n")
        try:
            print(f"recovery after {args.flood} idle connections (starved, EMFILE): {recovery(api, args.flood):.3f} s")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
