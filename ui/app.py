"""The desk's Textual app: thin. It follows the controller's snapshots and picks the screen for the state.

Controller listeners run on worker threads; they only post a message here (thread-safe, non-blocking),
and the UI thread renders. Locking the desk closes every dialog at once: no patient data stays on screen.
The screens always render the controller's present view, never a snapshot that a later one superseded.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path, PurePath
from typing import Any, ClassVar, Protocol

from textual.app import App
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from kiosk.appliance.service.controller import DeskController
from kiosk.desk import DeskView, StaffPhase
from kiosk.desk.events import DeskEvent, EventKind, Reason
from kiosk.desk.texts import Texts
from ui.screens.base import DeskModal, DeskScreen
from ui.screens.desk import OpenDeskScreen
from ui.screens.pin import PinScreen
from ui.screens.waiting import WaitingScreen

__all__ = ["DemoKeys", "DeskApp", "pick_theme"]

STYLES = Path(__file__).resolve().parent / "styles"
IDLE_WARNING_S = 30  # the countdown shown before the idle lock
_ERRORS = {EventKind.ACTION_FAILED, EventKind.READERS_DOWN, EventKind.CONFIG_REFUSED, EventKind.ERROR}
_DONE = {EventKind.PAGE_OPENED, EventKind.LINK_PRINTED, EventKind.TICKET_PRINTED, EventKind.PAGE_CLOSED}


class DemoKeys(Protocol):
    """The demo's virtual cards, driven from the keyboard."""

    def toggle_staff(self) -> str: ...

    def next_vitale(self) -> str: ...

    def remove_vitale(self) -> str: ...


def _driver_class() -> type[Driver] | None:
    """The quiet Linux driver on a real terminal; Textual's choice elsewhere (tests' headless driver, web)."""
    if sys.platform.startswith("linux") and not os.environ.get("TEXTUAL_DRIVER"):
        from ui.driver import QuietLinuxDriver

        return QuietLinuxDriver
    return None


def pick_theme(setting: str) -> str:
    """"plain" on the Linux console (TERM=linux) when the setting is auto."""
    if setting == "auto":
        return "plain" if os.environ.get("TERM", "") in ("linux", "vt100", "vt220") else "color"
    return setting


class DeskApp(App[None]):
    TITLE = "Accueil"
    ENABLE_COMMAND_PALETTE = False  # a desk, not a workstation: no theme switcher or command search for staff
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quitter", show=False, priority=True),
        Binding("f1", "help", "Aide"),
        Binding("f12", "diagnostics", "Diagnostic", show=False),
    ]

    class Changed(Message):
        def __init__(self, view: DeskView, event: DeskEvent) -> None:
            super().__init__()
            self.view, self.event = view, event

    def __init__(
        self,
        controller: DeskController,
        *,
        pages: dict[str, bool],
        site: str = "",
        theme: str = "color",
        demo: DemoKeys | None = None,
        lock_after_s: int = 0,
        show_clock: bool = False,
        dmp: bool = True,
    ) -> None:
        plain = theme == "plain"
        css: list[str | PurePath] = [STYLES / "desk.tcss", *([STYLES / "plain.tcss"] if plain else [])]
        super().__init__(css_path=css, ansi_color=plain, driver_class=_driver_class())
        self.controller = controller
        self.pages = pages
        self.demo = demo
        self.plain = plain
        self.sub_title = site
        self._base = ""
        self.events_shown = 0  # desk events rendered so far (tests wait on it rather than on the clock)
        self.lock_after_s = lock_after_s
        self.show_clock = show_clock  # off in snapshot tests
        self.dmp = dmp  # False: an INSi-only kiosk ([dmp] enabled = false), no DMP column nor line
        self._idle_timer: Timer | None = None
        self._countdown: Timer | None = None
        self._lock_at = 0.0
        if demo is not None:  # priority: the virtual cards move even while a dialog is open, as real ones do
            for key, action, label in (("f2", "demo_staff", "Carte CPE"), ("f3", "demo_vitale", "Vitale suivante"),
                                       ("f4", "demo_remove", "Retirer la Vitale")):
                self._bindings.bind(key, action, label, priority=True)

    @property
    def texts(self) -> Texts:
        return self.controller.texts

    def on_mount(self) -> None:
        if self.plain:
            self.theme = "ansi-dark"
        self.title = self.texts("title")
        for name, screen in (("waiting", WaitingScreen), ("pin", PinScreen), ("desk", OpenDeskScreen)):
            self.install_screen(screen(), name)

        def relay(view: DeskView, event: DeskEvent) -> None:  # on a worker thread: post only, never touch widgets
            self.post_message(self.Changed(view, event))

        self.controller.add_listener(relay)
        self._route(self.controller.view(), None)

    # ---- the idle lock: one timer while idle, a 1 s countdown only in its last seconds ------------------------
    def on_key(self) -> None:
        """Any key restarts the idle lock's countdown."""
        self._arm_idle_lock()

    def _arm_idle_lock(self) -> None:
        for timer in (self._idle_timer, self._countdown):
            if timer is not None:
                timer.stop()
        self._idle_timer = self._countdown = None
        self._say_countdown("")
        if self.lock_after_s > 0 and self.controller.view().is_open:
            self._lock_at = time.monotonic() + self.lock_after_s
            warn_in = self.lock_after_s - IDLE_WARNING_S
            if warn_in > 0:
                self._idle_timer = self.set_timer(warn_in, self._start_countdown)
            else:
                self._start_countdown()

    def _start_countdown(self) -> None:
        self._idle_timer = None
        self._countdown = self.set_interval(1.0, self._tick)
        self._tick()

    def _tick(self) -> None:
        left = round(self._lock_at - time.monotonic())
        if left > 0 and self.controller.view().is_open:
            self._say_countdown(self.texts("desk.idle_warning", seconds=left))
            return
        if self._countdown is not None:
            self._countdown.stop()
            self._countdown = None
        self._say_countdown("")
        if self.controller.view().is_open:
            self.controller.lock(Reason.LOCKED_IDLE)

    def _say_countdown(self, text: str) -> None:
        screen = self.get_screen("desk") if self._base else None
        if isinstance(screen, OpenDeskScreen) and self._live(screen):
            screen.countdown(text)

    def _live(self, screen: Screen[Any]) -> bool:
        """A screen that can render: mounted (composed), and the app not shutting down. Shutdown removes the
        screens' widgets while desk events may still arrive (the controller's threads do not stop with the UI),
        and a screen keeps `is_mounted` until its own turn comes: rendering then raised NoMatches."""
        return self.is_running and screen.is_mounted

    # ---- rendering --------------------------------------------------------------------------------------------
    def on_desk_app_changed(self, message: Changed) -> None:
        self._route(self.controller.view(), message.event)  # the present state, not the message's snapshot
        self.events_shown += 1
        if message.event.kind is EventKind.DESK_OPENED:
            self._arm_idle_lock()

    def _route(self, view: DeskView, event: DeskEvent | None) -> None:
        if view.is_open:
            wanted = "desk"
        elif view.staff_phase in (StaffPhase.PIN_REQUIRED, StaffPhase.CHECKING_PIN):
            wanted = "pin"
        else:
            wanted = "waiting"
        if wanted != self._base:
            while len(self.screen_stack) > 2:  # dialogs and the diagnostics go: nothing stays over a lock
                self.pop_screen()
            # The base screens are installed once and kept: render the new state into both the screen left
            # (a locked view has no rows, so the hidden desk keeps no patient) and the one shown.
            for name in (self._base, wanted):
                screen = self.get_screen(name) if name else None
                if isinstance(screen, DeskScreen) and self._live(screen):
                    screen.show(view, event)
            if self._base:
                self.switch_screen(wanted)
            else:
                self.push_screen(wanted)
            self._base = wanted
            # Once mounted, render again: by then other answers may have come, so ask for the present view.
            self.call_after_refresh(lambda: self._show(self.controller.view(), event))
        else:
            self._show(view, event)

    def _show(self, view: DeskView, event: DeskEvent | None) -> None:
        for screen in list(self.screen_stack):
            if isinstance(screen, (DeskScreen, DeskModal)) and self._live(screen):
                screen.show(view, event)
        if event is None:
            return
        if event.kind in _ERRORS:
            self.notify(self.texts.problem(event.problem), severity="error", timeout=10)
        elif event.kind is EventKind.PAGE_OPENED:
            self.notify(self.texts("page.opened", page=self.texts.page(str(event.data.get("page", "")))))
        elif event.kind is EventKind.PAGE_CLOSED:
            self.notify(self.texts("page.closed"))
        elif event.kind in _DONE:
            self.notify(self.texts("print.done"))

    # ---- app-wide keys ----------------------------------------------------------------------------------------
    def action_help_quit(self) -> None:
        """Ctrl+C (Textual's own words are English): how to quit, in French."""
        self.notify(self.texts("quit.how"), title=self.texts("quit.title"))

    def action_help(self) -> None:
        from ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_diagnostics(self) -> None:
        from ui.screens.diagnostics import DiagnosticsScreen

        if not isinstance(self.screen, DiagnosticsScreen):
            self.push_screen(DiagnosticsScreen())

    def _demo(self, what: str) -> None:
        if self.demo is not None:
            self.notify(getattr(self.demo, what)(), timeout=3)

    def action_demo_staff(self) -> None:
        self._demo("toggle_staff")

    def action_demo_vitale(self) -> None:
        self._demo("next_vitale")

    def action_demo_remove(self) -> None:
        self._demo("remove_vitale")
