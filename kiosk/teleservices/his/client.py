"""The kiosk's side of the hospital system link, built from `[his]`: find a patient, send an identity, ping.

`HisClient` owns the message envelope, the control ids and the MLLP link; the desk, `kiosk his ping` and the
demo use it and nothing below it.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiosk.errors import ConfigError
from kiosk.teleservices.his.link import Backoff, HisLinkError, MllpLink, PendingView
from kiosk.teleservices.his.messages import Envelope, Outgoing, build_adt, build_qbp
from kiosk.teleservices.his.model import HisIdentity, PatientId, PdqQuery
from kiosk.teleservices.his.replies import Ack, PdqAnswer, parse_pdq

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["ControlIds", "HisClient", "HisLinkError", "PingResult", "open_his"]

_PROCESSING = {"prod": "P", "test": "T", "demo": "D"}
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _b36(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = _B36[r] + out
    return out.rjust(width, "0")[-width:]


class ControlIds:
    """MSH-10 values unique for this kiosk: milliseconds since 1970 (never going back within a run) plus a
    counter, 13 characters (MSH-10 is ST(20) in 2.5). A restart after a clock jump backwards is the only way
    to repeat one, and the receiver then sees another timestamp prefix anyway after a millisecond."""

    def __init__(self, prefix: str = "K", clock: Callable[[], float] = time.time) -> None:
        self._prefix, self._clock = prefix[:1] or "K", clock
        self._last = 0
        self._counter = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            now = int(self._clock() * 1000)
            if now > self._last:
                self._last, self._counter = now, 0
            else:
                self._counter += 1
                if self._counter >= 36**3:
                    self._last, self._counter = self._last + 1, 0
            return f"{self._prefix}{_b36(self._last, 9)}{_b36(self._counter, 3)}"


@dataclass(frozen=True)
class PingResult:
    round_trip_s: float
    answer: PdqAnswer
    control_id: str


class HisClient:
    def __init__(self, link: MllpLink, envelope: Envelope, authority_oid: str, *, namespace: str = "",
                 ids: ControlIds | None = None, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.link = link
        self.envelope = envelope
        self.authority = PatientId("", namespace or envelope.sending_application, authority_oid, "PI")
        self.ids = ids or ControlIds()
        self._clock = clock or (lambda: dt.datetime.now().astimezone())

    def close(self) -> None:
        self.link.close()

    def new_local_id(self) -> PatientId:
        """A kiosk-assigned identifier in the kiosk's own domain; the hospital system links it to its IPP."""
        return self.authority.with_value("K" + secrets.token_hex(8).upper())

    def find(self, query: PdqQuery, *, limit: int = 10) -> tuple[str, PdqAnswer]:
        """QBP^Q22 -> RSP^K22: (control id, answer). Raises HisLinkError / HisReplyError."""
        outgoing = build_qbp(self.envelope, self.ids.next(), query, self._clock(), limit=limit)
        return outgoing.control_id, parse_pdq(self.link.request(outgoing))

    def send(self, identity: HisIdentity, *, label: str, operator: str = "",
             on_result: Callable[[str, Ack], None] | None = None) -> Outgoing:
        """Build (validated) and queue ADT^A28 / A31; `on_result` runs when its ACK arrives."""
        outgoing = build_adt(self.envelope, self.ids.next(), identity, self._clock(), operator=operator)
        self.link.submit(outgoing, label, on_result)
        return outgoing

    def pending(self) -> list[PendingView]:
        return self.link.pending()

    def drop(self, control_id: str) -> bool:
        return self.link.drop(control_id)

    def ping(self) -> PingResult:
        """A PDQ for a name no hospital has: the round trip of a real exchange, no patient involved."""
        started = time.monotonic()
        control_id, answer = self.find(PdqQuery(birth_name="KIOSK-PING-" + secrets.token_hex(3).upper()), limit=1)
        return PingResult(time.monotonic() - started, answer, control_id)


def open_his(config: Config, *, endpoint: str | None = None, backoff: Backoff | None = None) -> HisClient:
    """A started client for `[his]` (the endpoint may be overridden: the demo's simulator)."""
    from kiosk.config.schema_his import split_endpoint

    his = config.his
    where = split_endpoint(endpoint or his.endpoint)
    if where is None:
        raise ConfigError("his.endpoint : adresse hôte:port du moteur d'interfaces non configurée")
    context = None
    if his.tls:
        from kiosk.teleservices import tlsclient

        identity = None
        if his.pkcs12:
            identity = tlsclient.load_identity(his.pkcs12, his.pkcs12_password_file, "", "his.pkcs12")
        context = tlsclient.client_ssl_context(identity, his.ca_bundle)
    if not his.assigning_authority_oid and config.environment != "demo":
        raise ConfigError("his.assigning_authority_oid : OID du domaine d'identification de la borne obligatoire")
    envelope = Envelope(
        his.sending_application, his.sending_facility or config.site.finess, his.receiving_application,
        his.receiving_facility, _PROCESSING.get(config.environment, "P"),
    )
    link = MllpLink(where[0], where[1], ssl_context=context, timeout_s=his.timeout_s, backoff=backoff or Backoff())
    oid = his.assigning_authority_oid or DEMO_AUTHORITY_OID
    return HisClient(link.start(), envelope, oid)


DEMO_AUTHORITY_OID = "2.999.17.1"  # demo only: under the joint ISO/ITU-T example arc 2.999, never a real domain

