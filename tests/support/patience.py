"""How long tests wait for something that should happen: long, because CI shares 2 CPUs with other jobs.

A wait ends as soon as its condition holds, so a generous deadline costs nothing when things go well; it only
decides how long a real failure takes to be reported. Never assert on how long something took (benchmarks/ do).
`KIOSK_TEST_PATIENCE_S` overrides the deadline (e.g. on a very slow board).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE_S = float(os.environ.get("KIOSK_TEST_PATIENCE_S", "60"))


def wait_until(condition: Callable[[], T], timeout: float = PATIENCE_S, interval: float = 0.05,
               message: Callable[[], str] | str = "condition never held") -> T:
    """Poll `condition` until it returns something truthy (returned), or fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)
