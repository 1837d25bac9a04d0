"""Teleservice timings against the embedded simulators (HTTPS, mutual TLS, generated PKI on 127.0.0.1).

    .venv/bin/python benchmarks/pipeline.py [--insi-latency 0.2] [--dmp-latency 0.3] [--repeat 5]

Prints three tables:
1. client construction: PKCS#12 + SSL context + WSDL load (INSi), PKCS#12 x2 + SSL context (DMP);
2. per-call overhead of each client over the simulator's own latency (cold = new TLS connection, warm = reused);
3. the desk pipeline for N beneficiaries against its lower bound (the slowest chain: INSi latency + DMP
   latency) and against doing everything one after the other (the sum). Target: about the lower bound.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.domain.ins import parse_matricule
from kiosk.domain.patient import Beneficiary, CardNature, VitaleRead
from kiosk.sim.teleservices import TeleserviceSimulators, start_simulators
from kiosk.teleservices.dmp import DmpClient
from kiosk.teleservices.insi import InsiClient, Traits
from kiosk.teleservices.pipeline import Stage, run_pipeline
from tests.support.teleservice_fixtures import LPS, PROFILE, identity

# Beneficiaries whose chain goes all the way to the DMP (valid keys, one identity each, matched by own NIR).
PEOPLE = [
    ("ADRTROIS", "19970226", "297022A02077878"),
    ("CORSE", "19800302", "180032B02040123"),
    ("TCHITCHI", "19360621", "236066322083656"),
    ("ECETINSI", "20090714", "109076322083489"),
    ("JUMEAU", "19850207", "285027505612387"),
    ("BLOQUE", "19640213", "264021305512307"),
    ("URGENCE", "19770619", "177069912345627"),
    ("INCONNU", "19790119", "179019912340002"),
]


def make_insi(sims: TeleserviceSimulators) -> InsiClient:
    return InsiClient(sims.insi_url, LPS, identity=identity(sims.pki.auth), ca_bundle=str(sims.ca_bundle))


def make_dmp(sims: TeleserviceSimulators) -> DmpClient:
    return DmpClient(
        sims.dmp_url,
        PROFILE,
        identity=identity(sims.pki.auth),
        signer=identity(sims.pki.signing),
        ca_bundle=str(sims.ca_bundle),
    )


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))


def construction(sims: TeleserviceSimulators, repeat: int) -> None:
    import zeep

    from kiosk.teleservices.insi.client import WSDL

    rows = []
    for name, fn in (
        ("zeep.Client(WSDL) alone", lambda: zeep.Client(str(WSDL))),
        ("InsiClient (PKCS#12, TLS, WSDL)", lambda: make_insi(sims).close()),
        ("DmpClient (2 x PKCS#12, TLS)", lambda: make_dmp(sims).close()),
    ):
        samples = timed(fn, repeat)
        rows.append([name, ms(statistics.median(samples)), ms(max(samples))])
    table("1. Client construction (ms)", ["what", "median", "max"], rows)


def overhead(sims: TeleserviceSimulators, latency: float, repeat: int) -> None:
    sims.set_latency(latency)
    traits = Traits.from_desk("CORSE", ["ANTHONY"], "M", "1980-03-02")
    ins = parse_matricule("297022A02077878")
    rows = []
    for name, make, call in (
        ("INSi traits", make_insi, lambda c: c.search_traits(traits)),
        ("DMP TD0.2", make_dmp, lambda c: c.exists(ins, "1.2.250.1.213.1.4.8")),
    ):
        client = make(sims)
        cold = timed(lambda call=call, client=client: call(client), 1)[0]
        warm = timed(lambda call=call, client=client: call(client), repeat)
        client.close()
        rows.append(
            [
                name,
                f"{latency * 1000:.0f}",
                ms(cold - latency),
                ms(statistics.median(warm) - latency),
                ms(max(warm) - latency),
            ]
        )
    sims.set_latency(0.0)
    table(f"2. Per-call overhead over the simulator's latency (ms), latency {latency * 1000:.0f} ms",
          ["call", "latency", "cold", "warm median", "warm max"], rows)


def pipeline(sims: TeleserviceSimulators, insi_latency: float, dmp_latency: float, repeat: int) -> None:
    sims.insi.latency_s, sims.dmp.latency_s = insi_latency, dmp_latency
    insi, dmp = make_insi(sims), make_dmp(sims)
    od = parse_matricule(PEOPLE[0][2])
    rows = []
    for n in (1, 2, 4, 6, 8):
        people = tuple(
            Beneficiary(
                index=i,
                nom_usuel=nom,
                prenom="X",
                date_naissance=date,
                nir_individuel=parse_matricule(nir),
                nir_ouvrant_droit=od,
            )
            for i, (nom, date, nir) in enumerate(PEOPLE[:n])
        )
        read = VitaleRead(reader="bench", card_counter=1, beneficiaries=people, nature=CardNature.DEMO)
        finals: list = []
        samples = timed(lambda finals=finals, read=read: finals.extend(run_pipeline(read, insi, dmp, lambda u: None)),
                        repeat)
        assert all(f.stage is Stage.DMP for f in finals), [f.stage for f in finals]
        bound = insi_latency + dmp_latency
        whole = statistics.median(samples)
        rows.append(
            [str(n), ms(whole), ms(bound), ms(n * bound), f"{whole / bound:5.2f}", f"{whole / (n * bound):5.2f}"]
        )
    insi.close()
    dmp.close()
    sims.set_latency(0.0)
    table(
        f"3. Desk pipeline, INSi {insi_latency * 1000:.0f} ms + DMP {dmp_latency * 1000:.0f} ms per call (ms, median "
        f"of {repeat})",
        ["N", "whole", "slowest chain", "sum (sequential)", "whole/chain", "whole/sum"],
        rows,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--insi-latency", type=float, default=0.2)
    parser.add_argument("--dmp-latency", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as workdir, start_simulators(workdir) as sims:
        construction(sims, args.repeat)
        overhead(sims, 0.0, args.repeat * 4)
        overhead(sims, 0.1, args.repeat)
        pipeline(sims, args.insi_latency, args.dmp_latency, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
