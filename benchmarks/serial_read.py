"""Insertion to parsed Vitale data over the serial CCID backend, at the line's 115200 baud.

The simulated GemPC Twin sits on one end of a socat pty pair and paces every byte at its 8N2 wire time
(11 bits at 115200 baud: ~95 µs a byte), echo included; the kiosk's serial backend and reader manager read the
card the way the desk does: CARD_INSERTED event (the backend has powered the card up for its ATR), an
exclusive session, `read_vitale`. The virtual card answers at once, so the figure is the protocol's and the
line's, without a real chip's processing time. A second row runs the same pty without pacing.

    .venv/bin/python benchmarks/serial_read.py [--runs N] [--baud 115200]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.cards.vitale import read_vitale
from drivers.manager import LogicalReaderSpec, ManagerEventKind, ReaderManager
from drivers.serial import SerialBackend, SerialReaderSpec
from drivers.sim.cards import demo_vitale_family
from drivers.sim.serial_reader import PtyPair, SimulatedSerialReader


def measure(runs: int, line_rate: int | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        pair = PtyPair(f"{tmp}/reader", f"{tmp}/host").start()
        sim = SimulatedSerialReader(pair.reader, line_rate=line_rate).start()
        events: queue.Queue = queue.Queue()
        manager = ReaderManager([LogicalReaderSpec("vitale", "patient", "serial")],
                                backends=[SerialBackend([SerialReaderSpec(port=pair.host)])])
        manager.start(events.put)
        to_event, to_data, totals, apdus, traffic = [], [], [], 0, []
        try:
            while events.get(timeout=10).kind is not ManagerEventKind.READER_BACK:
                pass
            for _ in range(runs):
                before = sum(len(raw) for _, raw in sim.log)
                t0 = time.perf_counter()
                sim.insert(demo_vitale_family())
                while (event := events.get(timeout=10)).kind is not ManagerEventKind.CARD_INSERTED:
                    pass
                t1 = time.perf_counter()
                with manager.session("vitale", expect_counter=event.card_counter) as channel:
                    data = read_vitale(channel)
                t2 = time.perf_counter()
                assert len(data.beneficiaries) == 4
                to_event.append(t1 - t0)
                to_data.append(t2 - t1)
                totals.append(t2 - t0)
                apdus = data.apdu_count
                traffic.append(sum(len(raw) for _, raw in sim.log) - before)
                sim.remove()
                while events.get(timeout=10).kind is not ManagerEventKind.CARD_REMOVED:
                    pass
        finally:
            manager.stop()
            sim.stop()
            pair.stop()
    ms = lambda xs: 1000 * statistics.median(xs)
    p95 = lambda xs: 1000 * sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]
    return {
        "line": f"{line_rate} baud (8N2, paced)" if line_rate else "pty, unpaced",
        "insertion→event": ms(to_event), "event→parsed": ms(to_data), "total": ms(totals), "total p95": p95(totals),
        "apdus": apdus, "bytes": int(statistics.median(traffic)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--baud", type=int, default=115200)
    args = parser.parse_args()
    rows = [measure(args.runs, args.baud), measure(args.runs, None)]
    print(f"Vitale card (4 beneficiaries), serial CCID backend, median of {args.runs} insertions, milliseconds\n")
    head = ["line", "insertion→event", "event→parsed", "total", "total p95", "apdus", "bytes"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [r[h] if isinstance(r[h], str) else (f"{r[h]:.1f}" if isinstance(r[h], float) else str(r[h])) for h in head]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
