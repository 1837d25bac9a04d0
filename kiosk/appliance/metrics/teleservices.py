"""Count and time INSi and DMP calls by wrapping the clients the desk uses (the clients stay unaware of metrics).

A call is counted when a request went out and either an answer came back (labelled with its CR code or DMP
state, enum values only) or the teleservice failed (`TeleserviceError`: "error"). A call refused before
sending (card swapped, guard rails) is not a teleservice call and is not counted.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.errors import TeleserviceError

if TYPE_CHECKING:
    from kiosk.appliance.metrics.desk import KioskMetrics

__all__ = ["DmpProbe", "InsiProbe", "bounded_label", "instrument_clients"]


def bounded_label(value: Any) -> str:
    """An enum member's value (a closed set by construction); anything else is "other"."""
    return str(value.value) if isinstance(value, enum.Enum) else "other"


class _Probe:
    def __init__(self, client: Any, metrics: KioskMetrics) -> None:
        self._client = client
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:  # endpoint, environment, close...: the client's own
        return getattr(self._client, name)

    def _timed(self, call: Callable[[], Any], record: Callable[[Any, float], None]) -> Any:
        start = time.perf_counter()
        try:
            answer = call()
        except TeleserviceError:
            record(None, time.perf_counter() - start)
            raise
        record(answer, time.perf_counter() - start)
        return answer


class InsiProbe(_Probe):
    def search_vitale(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(lambda: self._client.search_vitale(*args, **kwargs), self._record("vitale"))

    def search_traits(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(lambda: self._client.search_traits(*args, **kwargs), self._record("traits"))

    def search_traits_strategy(self, traits: Any) -> Any:
        # The strategy makes one `self.search_traits` call per attempt: run it with this probe as `self`, so
        # that each INSi request is counted and timed, not the strategy as a whole.
        return type(self._client).search_traits_strategy(self, traits)

    def _record(self, operation: str) -> Callable[[Any, float], None]:
        def record(result: Any, seconds: float) -> None:
            code = "error" if result is None else bounded_label(getattr(result, "code", None))
            self._metrics.insi_call(operation, code, seconds)

        return record


class DmpProbe(_Probe):
    def exists(self, *args: Any, **kwargs: Any) -> Any:
        def record(status: Any, seconds: float) -> None:
            self._metrics.dmp_call(
                "error" if status is None else bounded_label(getattr(status, "state", None)), seconds
            )

        return self._timed(lambda: self._client.exists(*args, **kwargs), record)


def instrument_clients(clients: Any, metrics: KioskMetrics) -> Any:
    """`kiosk.teleservices.clients.Teleservices` with probes around its clients (a missing client stays None)."""
    return dataclasses.replace(
        clients,
        insi=InsiProbe(clients.insi, metrics) if clients.insi is not None else None,
        dmp=DmpProbe(clients.dmp, metrics) if clients.dmp is not None else None,
    )
