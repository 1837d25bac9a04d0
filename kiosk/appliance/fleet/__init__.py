"""Fleet configuration over The Update Framework (python-tuf).

Kiosk side: `client.sync` (the `kiosk sync` verb and its timer) and `state.fleet_status` (doctor, diagnostics).
Publisher side: `publisher` (the `kiosk fleet` verbs). `layers` holds the merge both sides share.
Modules importing tuf do so lazily or are only imported by the verbs that need them: `kiosk doctor` and the
service read `fleet_status` without loading tuf.
"""

from kiosk.appliance.fleet.state import FleetStatus, fleet_status

__all__ = ["FleetStatus", "fleet_status"]
