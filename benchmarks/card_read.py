"""Card reading over PC/SC (pcscd + vsmartcard-vpcd) and the idle cost of watching readers (issue 3).

    .venv/bin/python benchmarks/card_read.py [--repeat 20] [--idle-seconds 60]

1. Insertion -> parsed Vitale data for the family card (4 beneficiaries) through the real pcscd: from the
   moment the virtual card connects to vpcd, via the manager's CARD_INSERTED event, to the parsed read
   (split into "insertion seen" and "read"); APDUs per read. Then the staff cards (CPS3 CPE, CPS4 under a T=1
   and the T=0 ATR): insertion -> holder (serial, certificate, PIN reference) and the PIN counter read, with
   the APDUs each sends.
2. Idle CPU and wake-ups of a process watching the two readers for --idle-seconds (target: < 0.2 % CPU and no
   periodic wake-up), the kiosk's event-driven backend beside pyscard's polling `ReaderMonitor`, measured in
   the same run, each in its own process (CPU time and context switches of every thread, from /proc).

As root with no pcscd running, it runs in private mount and network namespaces with its own pcscd (the
tests' `tests.support.pcscd`), so the machine's pcscd is never touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WATCHERS = {
    "kiosk PcscBackend (SCardGetStatusChange INFINITE)": """
from drivers.pcsc.backend import PcscBackend
b = PcscBackend(); b.start(lambda e: None)
""",
    "pyscard ReaderMonitor (polling)": """
from smartcard.ReaderMonitoring import ReaderMonitor, ReaderObserver
class O(ReaderObserver):
    def update(self, observable, actions): pass
m = ReaderMonitor(); m.addObserver(O())
""",
}


def proc_counts(pid: int) -> tuple[float, int]:
    """(CPU seconds, context switches) summed over every thread of `pid`."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu, switches = 0.0, 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / tick
        status = (task / "status").read_text()
        for line in status.splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(line.split()[1])
    return cpu, switches


def idle_cost(seconds: float) -> list[tuple[str, float, int]]:
    procs = {}
    for label, code in WATCHERS.items():
        script = (f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n{code}\nprint('ready', "
                  "flush=True)\ntime.sleep(1e9)\n")
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        procs[label] = p
    time.sleep(2)  # let start-up settle
    before = {label: proc_counts(p.pid) for label, p in procs.items()}
    time.sleep(seconds)
    after = {label: proc_counts(p.pid) for label, p in procs.items()}
    for p in procs.values():
        p.kill()
        p.wait()
    return [(label, after[label][0] - before[label][0], after[label][1] - before[label][1]) for label in procs]


def _insertions(make_card, reader: str, slot: int, repeat: int) -> Iterator[tuple[float, float, Any, Any]]:
    """`repeat` insertions of a virtual card in vpcd `slot`, watched through pcscd by the reader manager: each
    yields (insertion time, CARD_INSERTED seen, the manager, the VpcdCard) for the caller to read the card, which
    is then removed and seen gone before the next insertion."""
    from drivers.manager import ManagerEventKind, ReaderManager
    from drivers.pcsc.backend import PcscBackend
    from drivers.sim.readers.vpcd import REINSERT_GAP, VPCD_BASE_PORT, VpcdCard

    inserted = threading.Event()
    manager = ReaderManager([], backends=[PcscBackend()])
    manager.start(lambda e: inserted.set() if e.kind is ManagerEventKind.CARD_INSERTED else None)
    card = VpcdCard(make_card(), port=VPCD_BASE_PORT + slot)
    try:
        for _ in range(repeat):
            time.sleep(REINSERT_GAP)
            inserted.clear()
            t0 = time.perf_counter()
            card.insert()
            if not inserted.wait(10):
                raise RuntimeError("no insertion event")
            yield t0, time.perf_counter(), manager, card
            card.remove()
            while manager.reader(reader).card_present:
                time.sleep(0.01)
    finally:
        card.remove()
        manager.stop()


def read_times(repeat: int) -> tuple[list[float], list[float], list[int]]:
    from drivers.cards.vitale import read_vitale
    from drivers.sim.virtual_cards import catalogue as cards

    seen: list[float] = []
    total: list[float] = []
    apdus: list[int] = []
    for t0, t1, manager, _ in _insertions(cards.demo_vitale_family, "patient", 0, repeat):
        with manager.session("patient") as channel:
            data = read_vitale(channel)
        t2 = time.perf_counter()
        assert len(data.beneficiaries) == 4
        seen.append(t1 - t0)
        total.append(t2 - t0)
        apdus.append(data.apdu_count)
    return seen, total, apdus


def cpx_times(make_card, repeat: int) -> dict[str, list[float]]:
    """CPx card in the second vpcd slot: insertion -> holder (serial, certificate, AODF), then the PIN counter."""
    from drivers.cards.cpx import pin_state, read_cpx

    out: dict[str, list[float]] = {"seen": [], "holder": [], "counter": [], "apdus": [], "counter_apdus": []}
    for t0, t1, manager, card in _insertions(make_card, "staff", 1, repeat):
        with manager.session("staff") as channel:
            data = read_cpx(channel)
            t2 = time.perf_counter()
            before = len(card.apdus)
            pin_state(channel, data.pin_reference)
            t3 = time.perf_counter()
        out["seen"].append(t1 - t0)
        out["holder"].append(t2 - t0)
        out["counter"].append(t3 - t2)
        out["apdus"].append(data.apdu_count)
        out["counter_apdus"].append(len(card.apdus) - before)
    return out


def as_ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20) if len(values) >= 2 else values * 19
    return (f"{statistics.median(values) * 1000:7.1f} {q[-1] * 1000:7.1f} {min(values) * 1000:7.1f} "
            f"{max(values) * 1000:7.1f}")


def run(args: argparse.Namespace) -> None:
    seen, total, apdus = read_times(args.repeat)
    read = [t - s for s, t in zip(seen, total)]
    print(f"\nVitale family card (4 beneficiaries) through pcscd + vpcd, {args.repeat} insertions")
    print(f"{'step':<40} {'median':>7} {'p95':>7} {'min':>7} {'max':>7}  (ms)")
    print(f"{'insertion -> CARD_INSERTED event':<40} {as_ms(seen)}")
    print(f"{'event -> parsed data (read)':<40} {as_ms(read)}")
    print(f"{'insertion -> parsed data':<40} {as_ms(total)}")
    print(f"APDUs per read: {sorted(set(apdus))} (4 commands + T=0 GET RESPONSE / resend)")
    from drivers.sim.virtual_cards import catalogue as cards

    print(
        f"\nCPx staff cards through pcscd + vpcd, {args.repeat} insertions each (APDUs as sent, GET RESPONSE included)"
    )
    print(f"{'card / step':<40} {'median':>7} {'p95':>7} {'min':>7} {'max':>7}  (ms)   APDUs")
    for label, make in (("CPS3 CPE (T=0)", cards.demo_cpe), ("CPS4 CPE (T=1)", cards.demo_cps4),
                        ("CPS4 CPE (T=0 ATR)", lambda: cards.demo_cps4("t0"))):
        r = cpx_times(make, args.repeat)
        read = [h - s for s, h in zip(r["seen"], r["holder"])]
        print(f"{label + ': insertion -> holder':<40} {as_ms(r['holder'])}  {sorted({int(a) for a in r['apdus']})}")
        print(f"{label + ': event -> holder (read)':<40} {as_ms(read)}")
        print(f"{label + ': PIN counter':<40} {as_ms(r['counter'])}  {sorted({int(a) for a in r['counter_apdus']})}")
    print(f"\nIdle cost watching two readers for {args.idle_seconds:g} s (each in its own process)")
    print(f"{'watcher':<52} {'CPU s':>7} {'CPU %':>7} {'wake-ups':>9} {'per s':>7}")
    for label, cpu, switches in idle_cost(args.idle_seconds):
        print(
            f"{label:<52} {cpu:7.3f} {100 * cpu / args.idle_seconds:7.3f} {switches:9d} "
            f"{switches / args.idle_seconds:7.2f}"
        )
    print("target: kiosk backend < 0.2 % CPU and no periodic wake-ups")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_namespace or (os.geteuid() != 0 and Path("/run/pcscd/pcscd.comm").exists()):
        if args.in_namespace:
            from tests.support.pcscd import Pcscd

            daemon = Pcscd(Path(tempfile.mkdtemp(prefix="bench-pcscd-")))
            daemon.start()
            try:
                run(args)
            finally:
                daemon.stop()
                shutil.rmtree(daemon.workdir, ignore_errors=True)
        else:
            run(args)  # a pcscd with vpcd is already running: use it
        return
    if os.geteuid() != 0:
        sys.exit("needs root (private pcscd) or a running pcscd with vsmartcard-vpcd")
    inner = f"ip link set lo up; mkdir -p /run/pcscd && mount -t tmpfs tmpfs /run/pcscd && exec {sys.executable} " \
            f"{Path(__file__).resolve()} --in-namespace --repeat {args.repeat} --idle-seconds {args.idle_seconds}"
    sys.exit(subprocess.call(["unshare", "--mount", "--net", "--propagation", "private", "bash", "-c", inner]))


if __name__ == "__main__":
    main()
