"""The hospital's patient administration system (GAM): IHE PDQ and PAM, HL7 v2.5 French extension, over MLLP.

`HisClient` (client.py) is the one entry point: `find` (QBP^Q22), `send` (ADT^A28 / A31, queued and retried in
memory until acknowledged), `pending` / `drop`, `ping`. Messages are built and validated with hl7apy
(messages.py), answers read with python-hl7 (replies.py), the transport is python-hl7's asyncio MLLP
streams (link.py). The simulator playing the hospital lives in `kiosk.sim.his_server`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.teleservices.his.client import ControlIds, HisClient, PingResult, open_his
    from kiosk.teleservices.his.link import Backoff, HisLinkError, MllpLink, PendingState, PendingView
    from kiosk.teleservices.his.messages import Envelope, HisMessageError, Outgoing, build_adt, build_qbp
    from kiosk.teleservices.his.model import (
        AckCode,
        AdtEvent,
        Candidate,
        Collection,
        HisIdentity,
        PatientId,
        PdqQuery,
        Reliability,
    )
    from kiosk.teleservices.his.replies import Ack, HisReplyError, PdqAnswer, parse_ack, parse_pdq

# Loaded on first use (PEP 562): the desk imports teleservices.his.model whether or not [his] is enabled, and the link's
# stack (asyncio, python-hl7, hl7apy) is ~0.1 s of the service's start-up that a kiosk without [his] never needs.
_HOME = {
    **dict.fromkeys(("ControlIds", "HisClient", "PingResult", "open_his"), "client"),
    **dict.fromkeys(("Backoff", "HisLinkError", "MllpLink", "PendingState", "PendingView"), "link"),
    **dict.fromkeys(("Envelope", "HisMessageError", "Outgoing", "build_adt", "build_qbp"), "messages"),
    **dict.fromkeys(("AckCode", "AdtEvent", "Candidate", "Collection", "HisIdentity", "PatientId", "PdqQuery",
                     "Reliability"), "model"),
    **dict.fromkeys(("Ack", "HisReplyError", "PdqAnswer", "parse_ack", "parse_pdq"), "replies"),
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

__all__ = [
    "Ack",
    "AckCode",
    "AdtEvent",
    "Backoff",
    "Candidate",
    "Collection",
    "ControlIds",
    "Envelope",
    "HisClient",
    "HisIdentity",
    "HisLinkError",
    "HisMessageError",
    "HisReplyError",
    "MllpLink",
    "Outgoing",
    "PatientId",
    "PdqAnswer",
    "PdqQuery",
    "PendingState",
    "PendingView",
    "PingResult",
    "Reliability",
    "build_adt",
    "build_qbp",
    "open_his",
    "parse_ack",
    "parse_pdq",
]
