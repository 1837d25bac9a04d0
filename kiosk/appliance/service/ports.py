"""What the desk controller needs from the outside world, as one protocol.

The controller (and so the TUI, the headless service and the demo) talks to readers, cards, teleservices,
the Web PS and the printer only through `DeskPorts`; `kiosk.appliance.service.wiring` builds the real one from the
drivers and the teleservice clients. Every method blocks: the controller calls them from worker threads.
Errors are the kiosk's own (`ReaderError`, `CardSwappedError`, `CardDataError`, `TeleserviceError`, `KioskError`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.desk import DmpOutcome, InsiOutcome, ReferenceTraits, StaffHolder
from kiosk.desk.events import Reason
from kiosk.domain.ins import InsMatricule
from kiosk.domain.patient import Beneficiary, VitaleRead
from kiosk.errors import KioskError

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = [
    "CardEvent", "CardEventKind", "DeskPorts", "LookupStep", "LookupUpdate", "PageError", "PinAnswer", "Role",
    "StaffCardRead",
]


class PageError(KioskError):
    """The Web PS page was not shown: `reason` says why (no display, the browser died...), for the catalogue."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class Role(str, enum.Enum):
    STAFF = "staff"
    PATIENT = "patient"


class CardEventKind(str, enum.Enum):
    INSERTED = "inserted"
    REMOVED = "removed"
    BACKEND_DOWN = "backend_down"
    BACKEND_UP = "backend_up"


@dataclass(frozen=True)
class CardEvent:
    kind: CardEventKind
    role: Role | None  # which desk reader (None for backend-wide events)
    reader: str = ""  # logical reader name
    counter: int = 0  # insertion counter of that reader


@dataclass(frozen=True)
class StaffCardRead:
    holder: StaffHolder
    tries_left: int | None  # PIN tries left, when the card tells without the PIN


@dataclass(frozen=True)
class PinAnswer:
    ok: bool
    tries_left: int | None


class LookupStep(str, enum.Enum):
    INSI = "insi"
    INSI_FAILED = "insi_failed"
    DMP = "dmp"
    DMP_FAILED = "dmp_failed"


@dataclass(frozen=True)
class LookupUpdate:
    """One answer for one beneficiary, as it arrives."""

    index: int
    step: LookupStep
    insi: InsiOutcome | None = None
    dmp: DmpOutcome | None = None
    error: Exception | None = None


class DeskPorts(Protocol):
    def start_readers(self, on_event: Callable[[CardEvent], None]) -> None:
        """Begin watching the desk's readers; report cards already present as INSERTED."""

    def stop(self) -> None:
        """Release readers and clients. Idempotent."""

    def reconfigure(self, config: Config) -> None:
        """Take a new configuration with the same readers (clients are rebuilt on their next use)."""

    def read_staff_card(self, reader: str, counter: int) -> StaffCardRead: ...

    def verify_pin(self, reader: str, counter: int, pin: str) -> PinAnswer: ...

    def read_vitale(self, reader: str, counter: int) -> VitaleRead: ...

    def lookup_card(self, read: VitaleRead, beneficiaries: list[Beneficiary],
                    on_update: Callable[[LookupUpdate], None]) -> None:
        """INSi then DMP (only for a CR 00 with a valid key) for each beneficiary, concurrently; `on_update`
        as each answer arrives. Re-checks before every request that the same card is still in (swap)."""

    def insi_by_traits(self, traits: ReferenceTraits) -> InsiOutcome: ...

    def dmp_state(self, ins: InsMatricule, oid: str) -> DmpOutcome: ...

    def webps_page(self, page: str, ins: InsMatricule | None, oid: str) -> str:
        """The auto-submitting XHTML form for `page` (ins None for TableauDeBord / Parametrages)."""

    def open_page(self, page: str, ins: InsMatricule | None, oid: str) -> None:
        """Open the page in the desk's browser; return once the browser fetched it (raise `PageError` if not)."""

    def close_pages(self) -> int:
        """Close the browser windows `open_page` started; how many were still open."""

    def print_document(self, kind: str, data: dict[str, Any]) -> None:
        """Print on the configured printer: kind "link" (the page's link sheet) or "ticket" (admission ticket)."""

    def his_client(self) -> Any:
        """The hospital system client (`teleservices.his.HisClient`, started), or None when `[his]` is disabled."""

    def diagnostics(self) -> list[dict[str, Any]]:
        ("""Rows {"what", "ok", "detail"} for the diagnostics screen: readers, services, param-lps, certificates, "
         "fleet.""")
