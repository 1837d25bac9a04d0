"""The desk's timings and footprint, against the targets of issue 6.

    .venv/bin/python benchmarks/desk.py [--latency 0.2] [--repeat 5] [--idle-seconds 60]

1. Card insertion -> every beneficiary's INSi and DMP answers on the desk, against the lower bound
   (card read + the slowest chain: one INSi call, then one DMP call when a beneficiary has a usable INS),
   on the embedded simulators at a fixed latency. Target: within 10 % of the bound.
2. `kiosk run --headless` start -> READY=1 on a real notify socket. Target: under 1 s.
3. Resident memory (VmRSS) of the headless service and of the TUI (in tmux), idle after start. Target: < 60 MB headless.
4. Idle CPU time and thread wake-ups (context switches, all threads) over --idle-seconds. Target: none periodic
   for the headless service; at most 1/s for the TUI (issue 15: it was 17.9/s, Textual's 0.1 s input poll and
   the header clock; ui/driver.py blocks on input instead, and the desk shows no seconds clock).
5. Card insertion -> the hospital system's PDQ candidates in the detail panel (issue 17), against the lower
   bound: card read + INSi + PDQ when the PDQ needs the INS (identity qualified as soon as INSi answers), card
   read + the slower of INSi and PDQ when the PDQ goes by the card's traits (in parallel). Target: within 10 %.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld

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


def table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print(f"\n{title}")
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


def latency(latency_s: float, repeat: int) -> None:
    rows = []
    with DemoWorld(latency_s=latency_s) as world:
        c = world.runtime.controller
        world.backend.insert(STAFF_READER, cards.demo_cpe())
        c.wait_idle(30)
        c.submit_pin(DEMO_PIN)
        c.wait_idle(30)
        marks: dict[str, float] = {}
        done = threading.Event()

        def watch(view, event) -> None:  # type: ignore[no-untyped-def]
            now = time.perf_counter()
            if event.kind == "vitale_read":
                marks["read"] = now
            if view.rows and all(r.settled for r in view.rows) and event.kind in ("insi_result", "dmp_result",
                                                                                    "insi_failed", "dmp_failed"):
                marks["done"] = now
                done.set()

        c.add_listener(watch)
        clients = c.ports.teleservices()  # warm: the desk has built its clients once, as in service
        for label, make in (
            ("famille (4, 1 DMP)", cards.demo_vitale_family),
            ("enfant (2, 1 DMP)", cards.demo_vitale_child),
            ("seul (1, 1 DMP)", cards.demo_vitale_single),
            ("accents (2, 1 DMP)", cards.demo_vitale_accents),
        ):
            measured, bounds = [], []
            for _ in range(repeat + 1):  # the first round warms the TLS connections up
                done.clear()
                marks.clear()
                t0 = time.perf_counter()
                world.backend.insert(VITALE_READER, make())
                assert done.wait(30), "no result"
                c.wait_idle(30)
                read_s = marks["read"] - t0
                total = marks["done"] - t0
                rows_now = c.view().rows
                person = rows_now[0].beneficiary
                read_obj = c.vitale()
                t1 = time.perf_counter()
                clients.insi.search_vitale(person, read_obj)
                insi_s = time.perf_counter() - t1
                dmp_s = 0.0
                usable = [r.insi.ins for r in rows_now if r.insi and r.insi.found and r.insi.key_ok]
                if usable:
                    t2 = time.perf_counter()
                    clients.dmp.exists(usable[0], "1.2.250.1.213.1.4.8")
                    dmp_s = time.perf_counter() - t2
                world.backend.remove(VITALE_READER)
                c.wait_idle(30)
                measured.append(total)
                bounds.append(read_s + insi_s + dmp_s)
            m, b = statistics.median(measured[1:]), statistics.median(bounds[1:])
            rows.append((label, f"{m * 1000:.0f} ms", f"{b * 1000:.0f} ms", f"{(m / b - 1) * 100:+.1f} %",
                         "ok" if m <= b * 1.10 else "OVER"))
    table(f"1. Insertion -> all answers (simulators at {latency_s * 1000:.0f} ms per call, median of {repeat})",
          ("carte", "mesuré", "borne", "écart", "< +10 %"), rows)


def pdq_latency(latency_s: float, repeat: int) -> None:
    from kiosk.desk import IdDocument
    from kiosk.teleservices.his import PdqQuery

    rows = []
    with DemoWorld(latency_s=latency_s) as world:
        c = world.runtime.controller
        world.backend.insert(STAFF_READER, cards.demo_cpe())
        c.wait_idle(30)
        c.submit_pin(DEMO_PIN)
        c.wait_idle(30)
        marks: dict[str, float] = {}
        seen: dict[str, int] = {"candidates": 0, "rows": 0}
        insi_zero, traits_done, ins_done = threading.Event(), threading.Event(), threading.Event()

        def watch(view, event) -> None:  # type: ignore[no-untyped-def]
            now = time.perf_counter()
            if event.kind == "vitale_read":
                marks["read"], seen["rows"] = now, event.data.get("beneficiaries", 0)
            elif event.kind == "insi_result" and event.data.get("index") == 0:
                insi_zero.set()
            elif event.kind == "his_candidates":
                seen["candidates"] += 1
                if seen["candidates"] == seen["rows"]:
                    marks["traits"] = now
                    traits_done.set()
                if "qualified" in marks and event.data.get("index") == 0 and now > marks["qualified"]:
                    marks["ins"] = now
                    ins_done.set()
            elif event.kind == "qualified":
                marks["qualified"] = now

        c.add_listener(watch)
        clients = c.ports.teleservices()
        his = c.ports.his_client()
        for label, make, by_ins in (("seul, par traits (1)", cards.demo_vitale_single, False),
                                    ("famille, par traits (4)", cards.demo_vitale_family, False),
                                    ("famille, par INS (qualifiée)", cards.demo_vitale_family, True)):
            measured, bounds = [], []
            for _ in range(repeat + 1):  # the first round warms the connections up
                for e in (insi_zero, traits_done, ins_done):
                    e.clear()
                marks.clear()
                seen["candidates"] = 0
                t0 = time.perf_counter()
                world.backend.insert(VITALE_READER, make())
                if by_ins:
                    assert insi_zero.wait(30), "no INSi answer"
                    c.qualify(0, IdDocument.CNI)
                    assert ins_done.wait(30), "no PDQ by INS"
                else:
                    assert traits_done.wait(30), "no PDQ candidates"
                c.wait_idle(30)
                read_s = marks["read"] - t0
                first = c.view().rows[0]
                t1 = time.perf_counter()
                clients.insi.search_vitale(first.beneficiary, c.vitale())
                insi_s = time.perf_counter() - t1
                query = PdqQuery(ins=first.insi.ins, ins_oid=first.insi.oid) if by_ins else PdqQuery(
                    birth_name=first.beneficiary.birth_name, first_name=first.beneficiary.prenom)
                t2 = time.perf_counter()
                his.find(query)
                pdq_s = time.perf_counter() - t2
                world.backend.remove(VITALE_READER)
                c.wait_idle(30)
                measured.append((marks["ins"] if by_ins else marks["traits"]) - t0)
                bounds.append(read_s + (insi_s + pdq_s if by_ins else max(insi_s, pdq_s)))
            m, b = statistics.median(measured[1:]), statistics.median(bounds[1:])
            rows.append((label, f"{m * 1000:.0f} ms", f"{b * 1000:.0f} ms", f"{(m / b - 1) * 100:+.1f} %",
                         "ok" if m <= b * 1.10 else "OVER"))
    table(
        f"5. Insertion -> PDQ candidates shown (simulators at {latency_s * 1000:.0f} ms per call, median of {repeat})",
        ("carte", "mesuré", "borne", "écart", "< +10 %"),
        rows,
    )


def _start_service(workdir: Path, notify: str, watchdog: bool, extra: str = "") -> subprocess.Popen:
    config = workdir / "kiosk.toml"
    config.write_text(CONFIG.format(state=workdir / "state") + extra)
    env = dict(os.environ, KIOSK_CONFIG=str(config), NOTIFY_SOCKET=notify)
    env.pop("WATCHDOG_USEC", None)
    if watchdog:
        env["WATCHDOG_USEC"] = "30000000"
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--headless", "--api-socket", str(workdir / "api.sock")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )


def _threads_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, context switches) summed over every thread of `pid`."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu, switches = 0.0, 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return cpu, switches


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def service(repeat: int, idle_s: float) -> None:
    ready_times = []
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    try:
        for i in range(repeat):
            run = workdir / f"r{i}"
            run.mkdir()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(str(run / "notify"))
            sock.settimeout(30)
            t0 = time.perf_counter()
            proc = _start_service(run, str(run / "notify"), watchdog=False)
            while not sock.recv(4096).startswith(b"READY=1"):
                pass
            ready_times.append(time.perf_counter() - t0)
            if i < repeat - 1:
                proc.terminate()
                proc.wait(20)
                sock.close()
        table("2. Start -> READY=1 (new Python process, imports, configuration, readers, API socket)",
              ("médiane", "min", "max", "< 1 s"),
              [(f"{statistics.median(ready_times) * 1000:.0f} ms", f"{min(ready_times) * 1000:.0f} ms",
                f"{max(ready_times) * 1000:.0f} ms", "ok" if statistics.median(ready_times) < 1 else "OVER")])

        tui = _start_tui(workdir)
        time.sleep(10)  # past start-up work (first param-lps check, imports of the TUI)
        headless_rss = _rss_mb(proc.pid)
        tui_rss = _rss_mb(tui) if tui else float("nan")
        table(
            "3. Resident memory (VmRSS), idle after start",
            ("processus", "RSS", "cible"),
            [
                (
                    "kiosk run --headless",
                    f"{headless_rss:.1f} MB",
                    "< 60 MB" + (" ok" if headless_rss < 60 else " OVER"),
                ),
                ("kiosk run (TUI, tmux)", f"{tui_rss:.1f} MB" if tui else "tmux absent", ""),
            ],
        )

        before = {"headless": _threads_stats(proc.pid), **({"tui": _threads_stats(tui)} if tui else {})}
        time.sleep(idle_s)
        after = {"headless": _threads_stats(proc.pid), **({"tui": _threads_stats(tui)} if tui else {})}
        rows = []
        for name, (cpu0, sw0) in before.items():
            cpu1, sw1 = after[name]
            rate = (sw1 - sw0) / idle_s
            target = ("≤ 1/s " + ("ok" if rate <= 1 else "OVER")) if name == "tui" else "aucun périodique"
            rows.append((name, f"{(cpu1 - cpu0) * 1000:.0f} ms", f"{(cpu1 - cpu0) / idle_s * 100:.3f} %", sw1 - sw0,
                         f"{rate:.2f}/s", target))
        table(f"4. Idle over {idle_s:.0f} s (no WatchdogSec; CPU and context switches of all threads)",
              ("processus", "CPU", "charge", "réveils", "par seconde", "cible"), rows)
        proc.terminate()
        proc.wait(20)
        if tui:
            subprocess.run(["tmux", "-L", "kiosk-bench", "kill-server"], capture_output=True, check=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _start_tui(workdir: Path) -> int | None:
    if not shutil.which("tmux"):
        return None
    run = workdir / "tui"
    run.mkdir()
    config = run / "kiosk.toml"
    config.write_text(CONFIG.format(state=run / "state"))
    command = f"cd {ROOT} && KIOSK_CONFIG={config} TERM=xterm-256color exec {sys.executable} -m kiosk run"
    subprocess.run(["tmux", "-L", "kiosk-bench", "new-session", "-d", "-x", "132", "-y", "40", command], check=True)
    time.sleep(2)
    pane = subprocess.run(
        ["tmux", "-L", "kiosk-bench", "list-panes", "-F", "#{pane_pid}"], capture_output=True, text=True, check=False
    )
    return int(pane.stdout.split()[0]) if pane.stdout.strip() else None


def metrics_idle(idle_s: float, scrapes: int = 20) -> None:
    import urllib.request

    workdir = Path(tempfile.mkdtemp(prefix="kiosk-bench-metrics-"))
    procs: dict[str, subprocess.Popen] = {}
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        extra = f'\n[metrics]\nlisten = "127.0.0.1:{port}"\ntextfile = "{workdir / "on" / "node" / "kiosk.prom"}"\n'
        for name, more in (("sans [metrics]", ""), ("avec [metrics]", extra)):
            run = workdir / ("on" if more else "off")
            run.mkdir()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(str(run / "notify"))
            sock.settimeout(60)
            procs[name] = _start_service(run, str(run / "notify"), watchdog=False, extra=more)
            while not sock.recv(4096).startswith(b"READY=1"):
                pass
            sock.close()
        time.sleep(10)  # past start-up work (first param-lps refresh, the textfile's first write)
        before = {name: _threads_stats(p.pid) for name, p in procs.items()}
        time.sleep(idle_s)
        after = {name: _threads_stats(p.pid) for name, p in procs.items()}
        rows = []
        for name, proc in procs.items():
            (cpu0, sw0), (cpu1, sw1) = before[name], after[name]
            rows.append((name, f"{(cpu1 - cpu0) * 1000:.0f} ms", sw1 - sw0, f"{(sw1 - sw0) / idle_s:.2f}/s",
                         len(list(Path(f"/proc/{proc.pid}/task").iterdir()))))
        table(f"5a. Idle over {idle_s:.0f} s, without and with [metrics] (listen + textfile)",
              ("service", "CPU", "réveils", "par seconde", "threads"), rows)
        pid = procs["avec [metrics]"].pid
        cpu0, _ = _threads_stats(pid)
        t0 = time.perf_counter()
        size = 0
        for _ in range(scrapes):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
                size = len(answer.read())
        wall = (time.perf_counter() - t0) / scrapes
        cpu1, _ = _threads_stats(pid)
        table(f"5b. One scrape of /metrics (mean of {scrapes})", ("CPU du service", "durée", "taille"),
              [(f"{(cpu1 - cpu0) / scrapes * 1000:.1f} ms", f"{wall * 1000:.1f} ms", f"{size} octets")])
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(20)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2, help="simulators' fixed latency per call, seconds")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--parts", default="latency,pdq,service,metrics", help="which parts to run (comma-separated)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "latency" in parts:
        latency(args.latency, args.repeat)
    if "pdq" in parts:
        pdq_latency(args.latency, args.repeat)
    if "service" in parts:
        service(args.repeat, args.idle_seconds)
    if "metrics" in parts:
        metrics_idle(args.idle_seconds)


if __name__ == "__main__":
    main()
