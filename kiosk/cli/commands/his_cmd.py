"""`kiosk his ping`: one PDQ query (QBP^Q22) for a name no hospital has, over the configured MLLP link.

It proves the whole path (TCP or TLS, the interface engine, the patient administration system answering)
and reports the round trip. Exit codes: 0 answered AA, 1 answered AE / AR (the link works, the query was
refused: the text says why), 2 configuration error, 3 unreachable or no answer in time.
In demo with no endpoint configured, the embedded simulator answers.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

ORDER = 33


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("his", parents=[parent], help="the hospital system link (HL7 v2.5 PDQ/PAM over MLLP)")
    verbs = p.add_subparsers(dest="his_verb", metavar="VERB", required=True)
    ping = verbs.add_parser(
        "ping", parents=[parent], help="send a PDQ query with no match expected, report the round trip"
    )
    ping.add_argument("--endpoint", metavar="HOST:PORT", help="override his.endpoint for this check")
    ping.set_defaults(handler=cmd_ping)


def cmd_ping(ctx: CliContext) -> int:
    from kiosk.teleservices.his import AckCode, open_his

    config = ctx.config
    endpoint = ctx.args.endpoint or config.his.endpoint
    with contextlib.ExitStack() as stack:
        if not endpoint and config.environment == "demo":
            from kiosk.sim.his_server import HisSimulator

            endpoint = stack.enter_context(HisSimulator()).endpoint
            ctx.say("environnement demo : simulateur du système de l'hôpital embarqué")
        client = open_his(config, endpoint=endpoint)
        stack.callback(client.close)
        result = client.ping()
    ack = result.answer.ack
    ms = round(result.round_trip_s * 1000, 1)
    data = {"ok": ack.code is AckCode.AA, "endpoint": endpoint, "tls": config.his.tls, "control_id": result.control_id,
            "ack": ack.code.value, "query_status": result.answer.status, "round_trip_ms": ms, "error": ack.text}
    if ack.code is AckCode.AA:
        ctx.emit(data, f"{endpoint} : réponse {ack.code.value} ({result.answer.status}) en {ms} ms")
        return exitcodes.OK
    ctx.emit(data, f"{endpoint} : requête refusée ({ack.code.value}) en {ms} ms : {ack.text or 'sans motif'}")
    return exitcodes.NEGATIVE
