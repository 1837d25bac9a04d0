"""What the TUI and the headless service share around the controller: the journal, live configuration
reload, and the service's timed duties (param-lps refresh at least daily, audit rotation, idle lock).

No polling: the main loop sleeps until the next duty is due (or the watchdog's half-period, under systemd).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.appliance.service.audit import AuditJournal, audit_dir
from kiosk.appliance.service.controller import DeskController
from kiosk.appliance.service.ports import DeskPorts
from kiosk.appliance.service.reload import locking_changes
from kiosk.config import Config
from kiosk.desk.events import EventKind, Problem, Reason
from kiosk.desk.texts import Texts
from kiosk.errors import ConfigError, KioskError

if TYPE_CHECKING:
    from kiosk.teleservices.params.sync import SourceOpener

__all__ = ["DeskRuntime"]

log = logging.getLogger(__name__)
ROTATE_EVERY_S = 24 * 3600.0


class DeskRuntime:
    """Owns the controller for one run; `ports_factory(config)` builds the outside world from a configuration."""

    def __init__(
        self,
        config: Config,
        ports_factory: Callable[[Config], DeskPorts],
        *,
        config_path: Path | None = None,
        refresh_params: bool = True,
        on_config: Callable[[Config], None] | None = None,
        params_source: SourceOpener | None = None,
        anchor_journal: bool = True,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self._ports_factory = ports_factory
        self._refresh_params = refresh_params
        self._on_config = on_config
        self._params_source = params_source  # where param-lps comes from, when not the configuration (the demo)
        from kiosk.appliance.service.anchor import Anchors, JournalAnchor, SyslogAnchor

        # The demo's journal lives in a folder deleted at exit: its heads have no business in the system journal
        targets: list[JournalAnchor | SyslogAnchor] = [JournalAnchor()] if anchor_journal else []
        if config.ui.audit_syslog:
            targets.append(SyslogAnchor(config.ui.audit_syslog, config.ui.audit_syslog_ca))
        self.audit = AuditJournal(audit_dir(config), config.ui.audit_retention_days, anchor=Anchors(*targets))
        self.controller = DeskController(ports_factory(config), texts=Texts(config.ui.texts), audit=self.audit)
        self._watcher: Any = None
        self.wake = threading.Event()  # set when the main loop should look at its duties again
        self._params_thread: threading.Thread | None = None
        self._next_rotation = 0.0
        self._next_params = 0.0
        self.params_status: dict[str, Any] = {}
        self._observers: list[Callable[[], None]] = []

    def add_observer(self, observer: Callable[[], None]) -> None:
        """Told after a timed duty changed the kiosk's state (param-lps refreshed): the metrics' textfile."""
        self._observers.append(observer)

    def start(self) -> None:
        self.controller.start()
        self.audit.rotate()
        self._next_rotation = time.monotonic() + ROTATE_EVERY_S
        if self.config_path is not None:
            from kiosk.config.watch import ConfigWatcher

            self._watcher = ConfigWatcher(self.config_path, self.config, self.apply_config, self._refused)
            self._watcher.start()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        self.controller.stop()

    # ---- timed duties -----------------------------------------------------------------------------------------
    def start_duties(self, stop: threading.Event) -> threading.Thread:
        """For the TUI: a daemon thread doing the duties when due, asleep otherwise, until `stop` (then `wake`)."""

        def loop() -> None:
            while not stop.is_set():
                delay = self.run_due()
                self.wake.wait(delay)
                self.wake.clear()

        thread = threading.Thread(target=loop, name="kiosk-duties", daemon=True)
        thread.start()
        return thread

    def run_due(self, wait_params: bool = False) -> float:
        """Do what is due now; return the seconds until the next duty (the loop also wakes on `wake`)."""
        now = time.monotonic()
        if now >= self._next_rotation:
            removed = self.audit.rotate()
            if removed:
                log.info("journal d'audit : %d jour(s) supprimé(s) (rétention)", len(removed))
            self._next_rotation = now + ROTATE_EVERY_S
        if self._refresh_params and now >= self._next_params and self._params_thread is None:
            # On its own thread: a slow download must not hold up the watchdog pings of the main loop.
            self._next_params = float("inf")
            self._params_thread = threading.Thread(target=self._params_worker, name="kiosk-params", daemon=True)
            self._params_thread.start()
            if wait_params:
                self._params_thread.join()
        upcoming = [self._next_rotation - now]
        if self._refresh_params and self._params_thread is None:
            upcoming.append(self._next_params - now)
        return max(1.0, min(upcoming))

    def _params_worker(self) -> None:
        delay = self._params_duty()
        self._next_params = time.monotonic() + delay
        self._params_thread = None
        self.wake.set()
        for observer in list(self._observers):
            observer()

    def _params_duty(self) -> float:
        from kiosk.teleservices.params.sync import refresh_if_due, seconds_until_due

        try:
            result = refresh_if_due(self.config, opener=self._params_source)
            if result is not None:
                self.params_status = result.to_dict()
                if not result.ok:
                    log.warning(
                        "param-lps : actualisation échouée (%s) ; la dernière copie valide reste utilisée", result.error
                    )
            return max(60.0, seconds_until_due(self.config))
        except (KioskError, OSError) as e:  # a broken state directory must not stop the desk; try again later
            log.error("param-lps : actualisation impossible (%s)", e)
            return 900.0

    # ---- live configuration -----------------------------------------------------------------------------------
    def apply_config(self, config: Config) -> None:
        """Run under a new, validated configuration (the watcher calls this when kiosk.toml changes)."""
        old, self.config = self.config, config
        self.controller.texts = Texts(config.ui.texts)
        self.audit.retention_days = config.ui.audit_retention_days
        self.audit.record("config_reloaded", "ok", staff="")
        locking = locking_changes(old, config)
        if old.readers != config.readers:  # new readers: start over on them (cards are reported again)
            self.controller.replace_ports(
                self._ports_factory(config), Problem(Reason.LOCKED_CONFIG, ", ".join(locking))
            )
        else:
            self.controller.reconfigure(config)  # the same session goes on, under the new settings
            if locking and self.controller.view().is_open:
                self.controller.lock(Reason.LOCKED_CONFIG, ", ".join(locking))
        self._next_params = 0.0  # a new [params] may change what is due
        self.controller.notice(EventKind.CONFIG_RELOADED, keys=locking)
        self.wake.set()
        if self._on_config:
            self._on_config(config)

    def _refused(self, error: ConfigError) -> None:
        detail = str(error).splitlines()[0]
        self.controller.notice(EventKind.CONFIG_REFUSED, problem=Problem(Reason.CONFIG_REFUSED, detail))
