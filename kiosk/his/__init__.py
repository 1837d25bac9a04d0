"""The hospital's patient administration system (GAM): IHE PDQ and PAM, HL7 v2.5 French extension, over MLLP.

`HisClient` (client.py) is the one entry point: `find` (QBP^Q22), `send` (ADT^A28 / A31, queued and retried in
memory until acknowledged), `pending` / `drop`, `ping`. Messages are built and validated with hl7apy
(messages.py), answers read with python-hl7 (replies.py), the transport is python-hl7's asyncio MLLP
streams (link.py). The simulator playing the hospital lives in `kiosk.sim.his_server`.
"""

from kiosk.his.client import ControlIds, HisClient, PingResult, open_his
from kiosk.his.link import Backoff, HisLinkError, MllpLink, PendingState, PendingView
from kiosk.his.messages import Envelope, HisMessageError, Outgoing, build_adt, build_qbp
from kiosk.his.model import AckCode, AdtEvent, Candidate, Collection, HisIdentity, PatientId, PdqQuery, Reliability
from kiosk.his.replies import Ack, HisReplyError, PdqAnswer, parse_ack, parse_pdq

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
