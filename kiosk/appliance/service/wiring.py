"""The real `DeskPorts`: the reader manager and card applications, INSi and DMP clients, the Web PS page,
the printer and the doctor's checks, built from one configuration.

This is the only module of the desk that knows the other parts' types: it maps them onto the desk's own
(`StaffHolder`, `InsiOutcome`, `DmpOutcome`) so that the session and the screens stay independent of them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from drivers.atr import CardKind
from drivers.base import ReaderBackend
from drivers.errors import CardDataError, CardSwappedError
from drivers.manager import ManagerEvent, ManagerEventKind, ReaderManager
from kiosk.appliance.printing import link_job, print_job, ticket_job
from kiosk.appliance.service.ports import (
    CardEvent,
    CardEventKind,
    LookupStep,
    LookupUpdate,
    PageError,
    PinAnswer,
    Role,
    StaffCardRead,
)
from kiosk.config import Config
from kiosk.desk import DmpOutcome, FormerIns, InsiOutcome, ReferenceTraits, StaffHolder
from kiosk.desk.events import Reason
from kiosk.domain.ins import InsMatricule
from kiosk.domain.patient import Beneficiary, VitaleRead
from kiosk.errors import KioskError

__all__ = ["LivePorts", "dmp_outcome", "insi_outcome"]

log = logging.getLogger(__name__)
CARD_WAIT_S = 1.0  # seconds a card read waits for the card it was started for (it may be gone already)
PAGE_FETCH_S = 30.0  # how long a started browser has to fetch the page before the desk says it failed

def insi_outcome(result: Any) -> InsiOutcome:
    """`kiosk.teleservices.insi.InsiResult` -> the desk's `InsiOutcome` (the key-inconsistent INS is kept, flagged)."""
    code = result.code  # the one InsiCode (kiosk.domain.states), shared by the client and the desk
    identity = result.identity
    if identity is None:
        return InsiOutcome(code, result.label)
    t = identity.traits
    prenoms = tuple(p for p in (t.liste_prenom or t.prenom).split() if p) or ((t.prenom,) if t.prenom else ())
    return InsiOutcome(
        code, result.label, identity.active.matricule, identity.active.oid,
        former=tuple(FormerIns(h.matricule, h.oid) for h in identity.former),
        traits=ReferenceTraits(t.nom_naissance, prenoms, t.sexe, t.date_naissance, t.lieu_naissance),
    )


def _requester(holder: Any) -> Any:
    """The VIHF's user from a CPx holder: NameID the IdNat, subject-id "NOM Prénom" (the pseudonym on a CPE "carte
    de service", which carries no name), the TRE_G15 profession code the card gives (none: establishment staff)."""
    from kiosk.teleservices.dmp import AuthnMethod, Requester
    from kiosk.teleservices.dmp.vihf import profession_code

    name = f"{holder.nom} {holder.prenom.title()}".strip() or holder.pseudonym
    code = holder.profession_code or profession_code(holder.profession)
    return Requester(holder.idnat, name, code, authn=AuthnMethod.CARD_PIN)


def dmp_outcome(status: Any) -> DmpOutcome:
    return DmpOutcome(status.state, status.label)  # the one DmpState (kiosk.domain.states): nothing to translate


class LivePorts:
    def __init__(self, config: Config, *, config_path: Path | None = None,
                 backends: Sequence[ReaderBackend] | None = None,
                 teleservices: Callable[[Config], contextlib.AbstractContextManager[Any]] | None = None,
                 skip_checks: frozenset[str] = frozenset(), metrics: Any = None) -> None:
        self.config = config
        self.metrics = metrics  # metrics.desk.KioskMetrics or None: told of reader changes, probes the clients
        self.config_path = config_path
        self.manager = ReaderManager(config.readers, backends)
        self._teleservices_factory = teleservices
        self._clients: Any = None  # kiosk.teleservices.clients.Teleservices, opened on first use
        self._stack = contextlib.ExitStack()
        self._clients_lock = threading.Lock()
        self._roles: dict[str, Role] = {}  # logical reader -> the role of the card last seen there
        # Who the DMP is asked for (VIHF NameID, Role): the holder of the staff card read last, once the PIN
        # is verified; cleared when that card leaves. None: the configured person responsible.
        self._card_holder: Any = None  # kiosk.teleservices.dmp.Requester of the card read, PIN not yet verified
        self._requester: Any = None
        self._pin_refs: dict[tuple[str, int], int] = {}  # (reader, card counter) -> the PIN reference of its AODF
        self._skip_checks = skip_checks
        self._his: Any = None  # kiosk.teleservices.his.HisClient, opened on first use
        self._pages: list[Any] = []  # kiosk.teleservices.webps.browser.OpenedPage: the browsers this desk started
        self.page_fetch_s = PAGE_FETCH_S
        self._pages_lock = threading.Lock()

    # ---- readers ----------------------------------------------------------------------------------------------
    def start_readers(self, on_event: Callable[[CardEvent], None]) -> None:
        def handle(event: ManagerEvent) -> None:
            if self.metrics is not None:
                self.metrics.readers_changed(event)
            mapped = self._map(event)
            if mapped is not None:
                on_event(mapped)

        self.manager.start(handle)

    def _role_of(self, event: ManagerEvent) -> Role | None:
        reader = self.manager.reader(event.logical) if event.logical else None
        if reader is not None and reader.role in ("patient", "staff"):
            return Role(reader.role)
        return {CardKind.VITALE: Role.PATIENT, CardKind.CPX: Role.STAFF}.get(event.card_kind)

    def _map(self, event: ManagerEvent) -> CardEvent | None:
        if event.kind is ManagerEventKind.BACKEND_DOWN:
            return CardEvent(CardEventKind.BACKEND_DOWN, None)
        if event.kind is ManagerEventKind.BACKEND_UP:
            return CardEvent(CardEventKind.BACKEND_UP, None)
        if event.logical is None:
            return None
        if event.kind is ManagerEventKind.CARD_INSERTED:
            if not event.role_ok:
                log.warning(
                    "carte %s dans le lecteur %s, qui n'est pas fait pour elle", event.family.value, event.logical
                )
            role = self._role_of(event)
            if role is None:
                return None
            self._roles[event.logical] = role
            return CardEvent(CardEventKind.INSERTED, role, event.logical, event.card_counter)
        if event.kind in (ManagerEventKind.CARD_REMOVED, ManagerEventKind.READER_GONE):
            role = self._roles.pop(event.logical, None)
            if role is Role.STAFF:
                self._card_holder = self._requester = None
            return CardEvent(CardEventKind.REMOVED, role, event.logical, event.card_counter) if role else None
        return None

    def reconfigure(self, config: Config) -> None:
        with self._clients_lock:
            self.config = config
            self._stack.close()  # the teleservice clients were built from the old settings
            self._stack = contextlib.ExitStack()
            self._clients = None
            self._his = None

    def stop(self) -> None:
        self.manager.stop()
        with self._clients_lock:
            self._stack.close()
            self._clients = None
            self._his = None

    # ---- cards ------------------------------------------------------------------------------------------------
    def read_staff_card(self, reader: str, counter: int) -> StaffCardRead:
        from drivers.cards.cpx import pin_tries
        from kiosk.domain.card_reads import read_cpx

        # Bounded: the card of this insertion may already be gone (bursts); an unbounded wait for "a card"
        # parked one worker per burst until the desk had none left.
        holder = read_cpx(self.manager, reader, timeout=CARD_WAIT_S)
        if holder.card_counter != counter:
            raise CardSwappedError("la carte professionnelle a changé pendant sa lecture")
        if holder.test_pki and self.config.environment == "prod":
            raise CardDataError("carte de test (IGC-Santé TEST) refusée en production")
        if holder.pin_reference is None:  # the official library offers no PIN there either
            raise CardDataError("carte présentée en sans contact : pas de code porteur sur cette interface, "
                                "insérez-la dans le lecteur à contact")
        with self.manager.session(reader, expect_counter=counter) as channel:
            _, left = pin_tries(channel, holder.pin_reference)
        self._pin_refs[(reader, counter)] = holder.pin_reference
        self._card_holder, self._requester = _requester(holder), None
        staff = StaffHolder(holder.display_name, holder.idnat, holder.card_type.label, holder.profession,
                            holder.organisation)
        return StaffCardRead(staff, left)

    def verify_pin(self, reader: str, counter: int, pin: str) -> PinAnswer:
        from drivers.cards.cpx import verify_pin

        try:
            with self.manager.session(reader, expect_counter=counter) as channel:
                result = verify_pin(channel, pin, self._pin_refs.get((reader, counter)))
        except ValueError as e:
            raise KioskError(str(e)) from None
        if result.ok:
            self._requester = self._card_holder  # the desk opens: DMP calls now name this person
        return PinAnswer(result.ok, 0 if result.blocked else result.tries_left)

    def read_vitale(self, reader: str, counter: int) -> VitaleRead:
        from kiosk.domain.card_reads import read_vitale

        read = read_vitale(self.manager, reader, timeout=CARD_WAIT_S)
        if read.card_counter != counter:
            raise CardSwappedError("la carte Vitale a changé pendant sa lecture")
        return read

    # ---- teleservices -----------------------------------------------------------------------------------------
    def teleservices(self) -> Any:
        """The INSi and DMP clients, built once (zeep parses its WSDL once) and shared by the workers."""
        with self._clients_lock:
            if self._clients is None:
                if self._teleservices_factory is None:
                    from kiosk.teleservices.clients import open_teleservices

                    self._teleservices_factory = open_teleservices
                self._clients = self._stack.enter_context(self._teleservices_factory(self.config))
                if self.metrics is not None:
                    self._clients = self.metrics.instrument(self._clients)
            return self._clients

    def lookup_card(self, read: VitaleRead, beneficiaries: list[Beneficiary],
                    on_update: Callable[[LookupUpdate], None]) -> None:
        from kiosk.teleservices.pipeline import Stage, run_pipeline

        clients = self.teleservices()

        def relay(u: Any) -> None:
            insi = insi_outcome(u.insi) if u.insi is not None else None
            if u.stage is Stage.INSI:
                on_update(LookupUpdate(u.index, LookupStep.INSI, insi=insi))
            elif u.stage is Stage.DMP:
                on_update(LookupUpdate(u.index, LookupStep.DMP, insi=insi, dmp=dmp_outcome(u.dmp)))
            elif u.stage is Stage.FAILED:
                step = LookupStep.DMP_FAILED if u.insi is not None else LookupStep.INSI_FAILED
                on_update(LookupUpdate(u.index, step, insi=insi, error=u.error))
            # Stage.SKIPPED: no INS usable for the DMP; the session already says "non interrogé"

        check = lambda: self.manager.ensure_current(read.reader, read.card_counter)
        run_pipeline(
            read,
            clients.insi,
            clients.dmp,
            relay,
            card_check=check,
            beneficiaries=beneficiaries,
            requester=self._requester,
        )

    def insi_by_traits(self, traits: ReferenceTraits) -> InsiOutcome:
        from kiosk.teleservices.insi import InvalidTraitsError, Traits

        insi = self.teleservices().insi
        try:
            query = Traits(
                traits.nom_naissance, traits.prenoms, traits.sexe, traits.date_naissance, traits.lieu_naissance
            )
        except InvalidTraitsError as e:
            raise KioskError(f"traits refusés : {e.reason}") from None
        return insi_outcome(insi.search_traits_strategy(query))

    def dmp_state(self, ins: InsMatricule, oid: str) -> DmpOutcome:
        dmp = self.teleservices().dmp
        if dmp is None:
            raise KioskError("DMP désactivé (dmp.enabled = false)")
        return dmp_outcome(dmp.exists(ins, oid, requester=self._requester))

    # ---- Web PS and printer -----------------------------------------------------------------------------------
    def webps_page(self, page: str, ins: InsMatricule | None, oid: str) -> str:
        from kiosk.teleservices.webps import build_page

        return build_page(self.config, page, ins, oid or None)

    def open_page(self, page: str, ins: InsMatricule | None, oid: str) -> None:
        """Returns once the browser fetched the page from the one-shot server; raises `PageError` otherwise."""
        from kiosk.teleservices.webps import open_page
        from kiosk.teleservices.webps.browser import BrowserError

        try:
            opened = open_page(self.config, page, ins, oid or None, wait=False, ttl_s=self.page_fetch_s)
        except BrowserError as e:
            raise PageError(Reason.BROWSER_FAILED, str(e)) from e
        with self._pages_lock:
            self._pages.append(opened)
        if opened.wait(self.page_fetch_s):
            return
        code = opened.process.poll()
        self._forget_page(opened)
        if code is None:
            raise PageError(Reason.BROWSER_FAILED, f"aucune demande du navigateur en {self.page_fetch_s:g} s")
        if code != 0 and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise PageError(Reason.NO_DISPLAY, f"code de sortie {code}, ni DISPLAY ni WAYLAND_DISPLAY")
        if code != 0:
            raise PageError(Reason.BROWSER_FAILED, f"le navigateur s'est arrêté (code de sortie {code})")
        raise PageError(Reason.BROWSER_CLOSED, "le navigateur a quitté sans demander la page")

    def close_pages(self) -> int:
        """End the browsers the desk started (their whole process group): the window and the page go."""
        with self._pages_lock:
            pages, self._pages = self._pages, []
        closed = 0
        for opened in pages:
            opened.page.close()
            if opened.process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(opened.process.pid, signal.SIGTERM)
                    closed += 1
            threading.Thread(target=_reap, args=(opened.process,), daemon=True).start()
        return closed

    def _forget_page(self, opened: Any) -> None:
        with self._pages_lock:
            if opened in self._pages:
                self._pages.remove(opened)
        opened.page.close()

    def print_document(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "ticket":
            job = ticket_job(self.config.site.name, data)
        else:
            from kiosk.teleservices.webps import render_print

            printable = render_print(self.config, data["page"], data.get("ins"), data.get("oid") or None)
            job = link_job(printable.text, printable.url)
        print_job(self.config.printer, job)

    # ---- hospital system (issue 17) ----------------------------------------------------------------------------
    def his_client(self) -> Any:
        """The started `kiosk.teleservices.his.HisClient` for `[his]`, or None when disabled; demo with no endpoint: the
        embedded hospital simulator. Built once, closed with the ports."""
        if not self.config.his.enabled:
            return None
        with self._clients_lock:
            if self._his is None:
                from kiosk.teleservices.his import open_his

                endpoint = self.config.his.endpoint
                if not endpoint and self.config.environment == "demo":
                    from kiosk.sim.his_server import HisSimulator

                    endpoint = self._stack.enter_context(HisSimulator()).endpoint
                self._his = open_his(self.config, endpoint=endpoint)
                self._stack.callback(self._his.close)
            return self._his

    # ---- diagnostics ------------------------------------------------------------------------------------------
    def diagnostics(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for lr in self.manager.logical_readers():
            if lr.physical is None:
                rows.append(
                    {"what": f"Lecteur {lr.name}", "ok": None, "detail": "aucun lecteur associé pour l'instant"}
                )
            else:
                card = lr.family.value if lr.card_present else "pas de carte"
                rows.append(
                    {"what": f"Lecteur {lr.name}", "ok": True, "detail": f"{lr.physical} ({lr.backend}) : {card}"}
                )
        from kiosk.appliance import doctor

        doctor.discover()
        ctx = doctor.DoctorContext(self.config_path or Path("/etc/kiosk/kiosk.toml"), config=self.config)
        wanted = [c.name for c in doctor.checks() if c.name not in self._skip_checks]
        for result in doctor.run(ctx, wanted):
            f = result.finding
            detail = f.message + (f" — {f.action}" if f.action else "")
            rows.append({"what": result.check.title, "ok": None if f.level == 1 else f.level == 0, "detail": detail})
        return rows


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Collect a closed browser's exit status (no zombie); a browser deaf to SIGTERM is killed."""
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
