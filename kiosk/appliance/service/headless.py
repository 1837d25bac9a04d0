"""`kiosk run --headless`: the desk without a screen, as systemd runs it.

Desk events go to stdout as JSON lines (masked), the hospital's software uses the local API, systemd hears
READY=1 once the configuration is loaded and the reader watchers run (each backend reports its readers and cards
from its own thread, so a reader may be bound just after READY; a card already in is reported then, not lost),
WATCHDOG=1 from this loop, STATUS= on each change.
The loop sleeps until the next duty or watchdog ping: nothing wakes it when the desk is idle otherwise.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import TextIO

from kiosk.appliance.service.api import ApiLimits, ApiServer
from kiosk.appliance.service.eventlog import JsonLines
from kiosk.appliance.service.notify import Notifier, watchdog_interval_s
from kiosk.appliance.service.runtime import DeskRuntime
from kiosk.desk import DeskView
from kiosk.desk.events import DeskEvent, EventKind

__all__ = ["run_headless", "status_line"]

log = logging.getLogger(__name__)
STARVED_STATUS = "API locale hors service (ressources épuisées) : plus de signal de vie, redémarrage attendu"


def status_line(view: DeskView) -> str:
    """systemctl status's one line: never any patient data, not even masked."""
    if not view.is_open:
        staff = {
            "absent": "poste verrouillé",
            "pin_required": "code porteur attendu",
            "checking_pin": "vérification du code",
            "blocked": "carte professionnelle bloquée",
            "refused": "carte professionnelle refusée",
            "reading": "lecture de la carte professionnelle",
        }[view.staff_phase.value]
        return staff + (" ; carte Vitale présente" if view.patient_present else "")
    if not view.patient_present:
        return "poste ouvert ; en attente d'une carte Vitale"
    pending = sum(1 for r in view.rows if not r.settled)
    return f"poste ouvert ; {len(view.rows)} bénéficiaire(s)" + (
        f", {pending} recherche(s) en cours" if pending else ""
    )


def run_headless(
    runtime: DeskRuntime,
    *,
    stdout: TextIO,
    api_path: Path | None,
    notifier: Notifier | None = None,
    stop: threading.Event | None = None,
    api_limits: ApiLimits | None = None,
) -> int:
    """Run until SIGTERM / SIGINT, or until another thread sets `stop` and then `runtime.wake`."""
    notifier = notifier or Notifier()
    stop = stop or threading.Event()
    journal = JsonLines(stdout, runtime.controller.texts)
    last_status = [""]
    readers_down = [False]

    def on_change(view: DeskView, event: DeskEvent) -> None:
        if event.kind is EventKind.READERS_DOWN:
            readers_down[0] = True
        elif event.kind in (EventKind.READERS_UP, EventKind.STAFF_CARD_INSERTED, EventKind.VITALE_INSERTED):
            readers_down[0] = False
        text = "lecteurs indisponibles (pcscd) : nouvelle tentative en cours" if readers_down[0] else status_line(view)
        if text != last_status[0]:
            last_status[0] = text
            notifier.status(text)

    runtime.controller.add_listener(journal)
    runtime.controller.add_listener(on_change)
    def on_signal(*_: object) -> None:
        stop.set()
        runtime.wake.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
    api = ApiServer(runtime.controller, api_path, limits=api_limits) if api_path else None
    if api is not None:
        api.start()  # first: a live socket (another `kiosk run`) or a regular file there refuses the start
    try:
        runtime.start()
        journal.write({"event": "ready", "api": str(api_path) if api_path else None,
                       "environment": runtime.config.environment})
        notifier.ready(status_line(runtime.controller.view()))
        ping = watchdog_interval_s()
        was_healthy = True
        while not stop.is_set():
            wait = runtime.run_due()
            if ping is not None:
                # An API that cannot accept any more (descriptors, threads) for too long: stop the pings so
                # that systemd restarts the service rather than leave it half up. Should accept() recover before
                # WatchdogSec runs out, the pings resume and nothing is restarted.
                healthy = api is None or api.healthy
                if healthy:
                    notifier.watchdog()
                if healthy != was_healthy:
                    if healthy:
                        log.warning("API locale rétablie : signal de vie à systemd repris")
                    else:
                        log.error("API locale hors service : plus de signal de vie à systemd (redémarrage attendu)")
                    notifier.status(last_status[0] if healthy else STARVED_STATUS)
                was_healthy = healthy
                wait = min(wait, ping)
            runtime.wake.wait(wait)  # a duty finished, the configuration changed, or a signal
            runtime.wake.clear()
    finally:
        notifier.stopping()
        if api is not None:
            api.stop()
        runtime.stop()
        journal.write({"event": "stopped"})
        notifier.close()
    return 0
