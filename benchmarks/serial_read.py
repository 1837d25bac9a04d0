"""Card reading over the serial backend at the line's 115200 baud, beside the PC/SC figure (issue 7).

    .venv/bin/python benchmarks/serial_read.py [--repeat 20] [--idle-seconds 30] [--no-pcsc]

1. Insertion -> parsed Vitale data for the family card (4 beneficiaries) through the serial CCID backend and the
   reader manager, as the desk does it: the simulated GemPC Twin on one end of a socat pty pair sends `50 03`,
   the backend powers the card up (ATR) and emits CARD_INSERTED, the manager's session reads the card. The
   simulator paces every byte at its 8N2 wire time (11 bits at 115200 baud, ~95 us a byte, echo included),
   since a pty has no baud rate; a second table runs the same pty unpaced. The virtual card answers at once:
   a real chip's processing time comes on top.
2. Idle cost of a process watching one serial reader with a card in it (CPU and thread wake-ups, from /proc):
   the receive thread blocks in read(); nothing polls.
3. Then, unless --no-pcsc, `benchmarks/card_read.py` with the same --repeat / --idle-seconds: the PC/SC figure
   (pcscd + vpcd) printed beside it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.card_read import as_ms, proc_counts

BAUD = 115200


def read_times(repeat: int, line_rate: int | None) -> tuple[list[float], list[float], list[int], list[int]]:
    import queue

    from drivers.cards.vitale import read_vitale
    from drivers.manager import LogicalReaderSpec, ManagerEventKind, ReaderManager
    from drivers.serial import SerialBackend, SerialReaderSpec
    from drivers.sim.readers.serial_reader import PtyPair, SimulatedSerialReader
    from drivers.sim.virtual_cards.catalogue import demo_vitale_family

    seen: list[float] = []
    total: list[float] = []
    apdus: list[int] = []
    traffic: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        pair = PtyPair(f"{tmp}/reader", f"{tmp}/host").start()
        sim = SimulatedSerialReader(pair.reader, line_rate=line_rate).start()
        events: queue.Queue = queue.Queue()
        manager = ReaderManager([LogicalReaderSpec("patient", "patient", "serial")],
                                backends=[SerialBackend([SerialReaderSpec(port=pair.host)])])
        manager.start(events.put)

        def wait(kind: ManagerEventKind) -> object:
            while (event := events.get(timeout=10)).kind is not kind:
                pass
            return event

        try:
            wait(ManagerEventKind.READER_BACK)
            for _ in range(repeat):
                before = sum(len(raw) for _, raw in sim.log)
                t0 = time.perf_counter()
                sim.insert(demo_vitale_family())
                event = wait(ManagerEventKind.CARD_INSERTED)
                t1 = time.perf_counter()
                with manager.session("patient", expect_counter=event.card_counter) as channel:  # type: ignore[attr-defined]
                    data = read_vitale(channel)
                t2 = time.perf_counter()
                assert len(data.beneficiaries) == 4
                seen.append(t1 - t0)
                total.append(t2 - t0)
                apdus.append(data.apdu_count)
                traffic.append(sum(len(raw) for _, raw in sim.log) - before)
                sim.remove()
                wait(ManagerEventKind.CARD_REMOVED)
        finally:
            manager.stop()
            sim.stop()
            pair.stop()
    return seen, total, apdus, traffic


def idle_cost(seconds: float) -> tuple[float, int]:
    from drivers.sim.readers.serial_reader import PtyPair, SimulatedSerialReader
    from drivers.sim.virtual_cards.catalogue import demo_vitale_family

    with tempfile.TemporaryDirectory() as tmp:
        pair = PtyPair(f"{tmp}/reader", f"{tmp}/host").start()
        sim = SimulatedSerialReader(pair.reader, card=demo_vitale_family()).start()
        script = (
            f"import sys, time, threading; sys.path.insert(0, {str(ROOT)!r})\n"
            "from drivers.serial import SerialBackend, SerialReaderSpec\n"
            f"ready = threading.Event(); b = SerialBackend([SerialReaderSpec(port={pair.host!r})])\n"
            "b.start(lambda e: ready.set() if e.kind.value == 'card_inserted' else None)\n"
            "ready.wait(10); print('ready', flush=True); time.sleep(1e9)\n"
        )
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert p.stdout and p.stdout.readline().strip() == "ready"
            time.sleep(1)
            before = proc_counts(p.pid)
            time.sleep(seconds)
            after = proc_counts(p.pid)
        finally:
            p.kill()
            p.wait()
            sim.stop()
            pair.stop()
    return after[0] - before[0], after[1] - before[1]


def table(title: str, repeat: int, line_rate: int | None) -> None:
    seen, total, apdus, traffic = read_times(repeat, line_rate)
    read = [t - s for s, t in zip(seen, total, strict=True)]
    print(f"\n{title}, {repeat} insertions")
    print(f"{'step':<40} {'median':>7} {'p95':>7} {'min':>7} {'max':>7}  (ms)")
    print(f"{'insertion -> CARD_INSERTED event':<40} {as_ms(seen)}")
    print(f"{'event -> parsed data (read)':<40} {as_ms(read)}")
    print(f"{'insertion -> parsed data':<40} {as_ms(total)}")
    print(f"APDUs per read: {sorted(set(apdus))}; bytes on the line per insertion and read: {sorted(set(traffic))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--no-pcsc", action="store_true", help="skip benchmarks/card_read.py (the PC/SC figure)")
    args = parser.parse_args()
    table(f"Vitale family card (4 beneficiaries) through the serial CCID backend at {BAUD} baud (8N2, paced)",
          args.repeat, BAUD)
    table("The same on an unpaced pty (protocol and driver cost alone)", args.repeat, None)
    cpu, switches = idle_cost(args.idle_seconds)
    print(f"\nIdle cost watching one serial reader (card present) for {args.idle_seconds:g} s")
    print(f"{'watcher':<52} {'CPU s':>7} {'CPU %':>7} {'wake-ups':>9} {'per s':>7}")
    print(f"{'kiosk SerialBackend (blocking read, notifications)':<52} {cpu:7.3f} {100 * cpu / args.idle_seconds:7.3f} "
          f"{switches:9d} {switches / args.idle_seconds:7.2f}")
    if not args.no_pcsc:
        print("\n--- PC/SC, for comparison: benchmarks/card_read.py ---", flush=True)
        subprocess.call([sys.executable, str(ROOT / "benchmarks" / "card_read.py"), "--repeat", str(args.repeat),
                         "--idle-seconds", str(args.idle_seconds)])


if __name__ == "__main__":
    main()
