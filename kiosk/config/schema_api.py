"""`[api]`: the local API's bounds (kiosk/appliance/service/api.py), so one local client cannot take the desk down."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.config.binding import doc


@dataclass(frozen=True)
class ApiLimits:
    """What the API server obeys (kiosk/appliance/service/api.py): defined here, below the service, so that the
    configuration builds it without importing upwards."""

    max_clients: int = 32  # connections served at once
    idle_timeout_s: float = 60.0  # a connection with no request this long is closed
    request_timeout_s: float = 5.0  # a started request line must be whole within this; an answer taken within this
    pin_interval_s: float = 10.0  # at most one PIN attempt through the API per interval, all clients together
    unhealthy_after_s: float = 30.0  # accept() failing this long: stop the watchdog pings (systemd restarts us)


@dataclass(frozen=True)
class ApiConfig:
    max_clients: int = doc(32, "Connections served at once; more are answered \"busy\" and closed.", bounds=(1, 512))
    idle_timeout_s: float = doc(60.0, "A connection without a request this long is closed, seconds.", bounds=(1, 3600))
    request_timeout_s: float = doc(
        5.0, "A request line must arrive whole, and its answer be taken, within this, seconds.", bounds=(0.5, 60)
    )
    pin_interval_s: float = doc(
        10.0, "At most one staff PIN attempt through the API per this many seconds.", bounds=(1, 3600)
    )
    unhealthy_after_s: float = doc(
        30.0, "accept() failing this long (no descriptor or thread left): the service stops its watchdog pings, "
        "so systemd restarts it, seconds.", bounds=(1, 3600)
    )

    def limits(self) -> ApiLimits:
        return ApiLimits(max_clients=self.max_clients, idle_timeout_s=self.idle_timeout_s,
                         request_timeout_s=self.request_timeout_s, pin_interval_s=self.pin_interval_s,
                         unhealthy_after_s=self.unhealthy_after_s)
