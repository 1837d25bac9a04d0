"""The desk pipeline: every beneficiary of a Vitale card, INSi then DMP, all chains at once.

For N beneficiaries the INSi lookups run concurrently and each DMP check starts as soon as its own INS is
known (one chain per beneficiary, INSi then DMP in the same worker): the whole takes about the slowest
chain, not the sum (`benchmarks/pipeline.py`). Results come out per beneficiary as they arrive, through
an iterator (`check_beneficiaries`) or a callback (`run_pipeline`); the TUI consumes them from a worker.

`card_check` is called right before every request (after it is built): it must raise
`CardSwappedError` when the card in the reader is no longer the one read (e.g.
`lambda: manager.ensure_current(read.reader, read.card_counter)`). A swap ends every chain with that
error; nothing is sent about a card that left.

An INS whose key fails mod 97 is shown (flagged) but not sent to the DMP; neither is anything but CR 00.
"""

from __future__ import annotations

import enum
import logging
import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivers.errors import DriverError
from kiosk.domain.patient import Beneficiary, VitaleRead
from kiosk.errors import KioskError
from kiosk.teleservices.guards import check_card

if TYPE_CHECKING:
    from kiosk.teleservices.dmp import DmpClient, DmpStatus, Requester
    from kiosk.teleservices.insi import InsiClient, InsiResult

__all__ = ["BeneficiaryUpdate", "Stage", "check_beneficiaries", "run_pipeline"]

log = logging.getLogger(__name__)


class Stage(str, enum.Enum):
    INSI = "insi"  # INSi answered (`insi` set); a DMP update follows unless `final`
    DMP = "dmp"  # the DMP answered (`dmp` set)
    SKIPPED = "skipped"  # no DMP check, `reason` says why (no INS, inconsistent key, no DMP client)
    FAILED = "failed"  # `error` is set: INSi or DMP failed, or the card was swapped


@dataclass(frozen=True)
class BeneficiaryUpdate:
    beneficiary: Beneficiary
    stage: Stage
    insi: InsiResult | None = None
    dmp: DmpStatus | None = None
    error: Exception | None = None
    reason: str = ""
    final: bool = False  # the last update for this beneficiary

    @property
    def index(self) -> int:
        return self.beneficiary.index


_DONE = object()


def check_beneficiaries(
    read: VitaleRead,
    insi: InsiClient,
    dmp: DmpClient | None,
    *,
    card_check: Callable[[], None] | None = None,
    beneficiaries: Iterable[Beneficiary] | None = None,
    max_workers: int = 8,
    requester: Requester | None = None,
) -> Iterator[BeneficiaryUpdate]:
    """Yield updates as they arrive. Guard rails are checked first, before any thread or request."""
    check_card(read, insi.environment, insi.endpoint)
    people = tuple(read.beneficiaries if beneficiaries is None else beneficiaries)
    if not people:
        return
    updates: queue.Queue[object] = queue.Queue()

    def chain(person: Beneficiary) -> None:
        try:
            _chain(person, read, insi, dmp, card_check, updates.put, requester)
        except Exception as e:
            log.debug("chaîne du bénéficiaire %d interrompue", person.index, exc_info=e)
            updates.put(BeneficiaryUpdate(person, Stage.FAILED, error=e, final=True))
        finally:
            updates.put(_DONE)

    executor = ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(people))), thread_name_prefix="desk-chain")
    try:
        for person in people:
            executor.submit(chain, person)
        remaining = len(people)
        while remaining:
            item = updates.get()
            if item is _DONE:
                remaining -= 1
            else:
                yield item  # type: ignore[misc]
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _chain(
    person: Beneficiary,
    read: VitaleRead,
    insi: InsiClient,
    dmp: DmpClient | None,
    card_check: Callable[[], None] | None,
    put: Callable[[BeneficiaryUpdate], None],
    requester: Requester | None = None,
) -> None:
    try:
        result = insi.search_vitale(person, read, before_send=card_check)
    except (KioskError, DriverError) as e:
        put(BeneficiaryUpdate(person, Stage.FAILED, error=e, final=True))
        return
    put(BeneficiaryUpdate(person, Stage.INSI, insi=result))
    identity = result.identity if result.found else None
    if identity is None:
        from kiosk.teleservices.insi.model import CR_LABELS  # the client is loaded already (it gave `result`)

        reason = f"pas d'INS ({CR_LABELS[result.code]}) : DMP non interrogé"
    elif not identity.consistent:
        reason = "INS reçu avec une clé incohérente : affiché mais non transmis au DMP"
    elif dmp is None:
        reason = "DMP non configuré"
    else:
        try:
            status = dmp.exists(
                identity.active.matricule, identity.active.oid, requester=requester, before_send=card_check
            )
        except (KioskError, DriverError) as e:
            put(BeneficiaryUpdate(person, Stage.FAILED, insi=result, error=e, final=True))
            return
        put(BeneficiaryUpdate(person, Stage.DMP, insi=result, dmp=status, final=True))
        return
    put(BeneficiaryUpdate(person, Stage.SKIPPED, insi=result, reason=reason, final=True))


def run_pipeline(
    read: VitaleRead,
    insi: InsiClient,
    dmp: DmpClient | None,
    on_update: Callable[[BeneficiaryUpdate], None],
    *,
    card_check: Callable[[], None] | None = None,
    beneficiaries: Iterable[Beneficiary] | None = None,
    max_workers: int = 8,
    requester: Requester | None = None,
) -> list[BeneficiaryUpdate]:
    """Callback form of `check_beneficiaries`; returns the final update of each beneficiary, by card order."""
    finals: dict[int, BeneficiaryUpdate] = {}
    for update in check_beneficiaries(
        read,
        insi,
        dmp,
        card_check=card_check,
        beneficiaries=beneficiaries,
        max_workers=max_workers,
        requester=requester,
    ):
        on_update(update)
        if update.final:
            finals[update.index] = update
    return [finals[i] for i in sorted(finals)]
