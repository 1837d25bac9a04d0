"""The service's Prometheus metrics: counters fed by desk events and teleservice calls, the rest read at scrape time.

Counters and histograms live in memory (`KioskMetrics`); what already lives on disk or in the reader manager
(param-lps and fleet timestamps, certificate expiry, audit journal size, readers present) is read only when
the metrics are collected (a scrape, or a textfile write), so nothing refreshes on a timer. Timestamps are
exported as `*_timestamp_seconds`: the alert rules compare them with `time()`.

Labels come from closed sets only (card kind, outcome, INSi CR code, DMP state, certificate role, reader
role): never a name, an INS, a reader name typed by a technician or any other free text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

from kiosk.appliance.metrics.state import StateCollector
from kiosk.appliance.metrics.teleservices import bounded_label, instrument_clients
from kiosk.desk.events import EventKind
from kiosk.domain.states import DmpState, InsiCode

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["INSI_OPERATIONS", "KioskMetrics", "bounded_label"]

log = logging.getLogger(__name__)

# Seconds: a simulator answers in ms, INSi in production in 0.3-2 s, the client gives up at its timeout (15 s).
CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
INSI_OPERATIONS = ("vitale", "traits")
_CARD_OUTCOMES = {EventKind.VITALE_READ: ("vitale", "ok"), EventKind.VITALE_UNREADABLE: ("vitale", "unreadable"),
                  EventKind.STAFF_CARD_READ: ("cpx", "ok"), EventKind.STAFF_CARD_REFUSED: ("cpx", "refused")}
_BACKEND_UP = frozenset({EventKind.READERS_UP, EventKind.STAFF_CARD_INSERTED, EventKind.VITALE_INSERTED})


class KioskMetrics:
    """One per service process. `on_desk_event` is a controller listener; `instrument` wraps the teleservice
    clients; `add_listener(fn)` is told after each change (the textfile writer)."""

    def __init__(self, config: Config) -> None:
        disable_created_metrics()  # no *_created series: they double the textfile and Prometheus 2 ignores them
        self.config = config
        self.registry = CollectorRegistry(auto_describe=True)
        self.controller: Any = None  # bound by `serve_metrics`: readers and desk state at scrape time
        self.readers_backend_up = True
        self.started = time.time()
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        r = self.registry
        self.cards = Counter("kiosk_cards_read", "Cards read at the desk, by card (vitale, cpx) and outcome",
                             ["card", "outcome"], registry=r)
        self.sessions = Counter("kiosk_desk_sessions", "Desk sessions opened (staff card read and PIN accepted)",
                                registry=r)
        self.insi_calls = Counter("kiosk_insi_calls", "INSi calls by operation and result code (CR), or error",
                                  ["operation", "code"], registry=r)
        self.insi_seconds = Histogram("kiosk_insi_call_duration_seconds", "INSi call duration (request built to "
                                      "answer parsed)", ["operation"], buckets=CALL_BUCKETS, registry=r)
        self.dmp_calls = Counter("kiosk_dmp_calls", "DMP TD0.2 existence tests by answered state, or error",
                                 ["state"], registry=r)
        self.dmp_seconds = Histogram("kiosk_dmp_call_duration_seconds", "DMP TD0.2 call duration",
                                     buckets=CALL_BUCKETS, registry=r)
        for card, outcome in _CARD_OUTCOMES.values():  # every series exists from the start: rate() sees the first one
            self.cards.labels(card, outcome)
        for operation in INSI_OPERATIONS:
            self.insi_seconds.labels(operation)
            for code in [*(c.value for c in InsiCode), "error"]:
                self.insi_calls.labels(operation, code)
        for state in [*(s.value for s in DmpState if s is not DmpState.NO_INS), "error"]:
            self.dmp_calls.labels(state)
        r.register(StateCollector(self))

    # ---- change notification (textfile mode) ------------------------------------------------------------------
    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("métriques : un abonné a échoué")

    def reconfigure(self, config: Config) -> None:
        """A reloaded configuration: certificates, state paths and environment are read from it from now on."""
        self.config = config
        self.changed()

    # ---- desk events (a controller listener: called on worker threads, must not block) ------------------------
    def on_desk_event(self, view: Any, event: Any) -> None:
        kind = event.kind  # an EventKind (a str enum: its wire name compares equal too)
        card = _CARD_OUTCOMES.get(kind)
        if card is not None:
            self.cards.labels(*card).inc()
        elif kind == EventKind.DESK_OPENED:
            self.sessions.inc()
        elif kind == EventKind.READERS_DOWN:
            self.readers_backend_up = False
        elif kind in _BACKEND_UP:
            self.readers_backend_up = True
        self.changed()

    def readers_changed(self, *_: Any) -> None:
        """A reader came or went (the reader manager's events, cards or not)."""
        self.changed()

    # ---- teleservice calls ------------------------------------------------------------------------------------
    def insi_call(self, operation: str, code: str, seconds: float) -> None:
        self.insi_calls.labels(operation, code).inc()
        self.insi_seconds.labels(operation).observe(seconds)
        self.changed()

    def dmp_call(self, state: str, seconds: float) -> None:
        self.dmp_calls.labels(state).inc()
        self.dmp_seconds.observe(seconds)
        self.changed()

    def instrument(self, clients: Any) -> Any:
        """The `Teleservices` bundle with its INSi and DMP clients wrapped to count and time each call."""
        return instrument_clients(clients, self)
