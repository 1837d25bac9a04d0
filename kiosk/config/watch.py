"""Live reload: watch the configuration file, debounce, validate, then hand over the new configuration.

The directory is watched, not the file, because an atomic replace (ours, an editor's, the fleet sync's)
swaps the inode. An invalid new file is refused and the previous configuration stays in force.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from kiosk.config.load import load_config
from kiosk.config.schema import Config
from kiosk.errors import ConfigError

__all__ = ["ConfigWatcher"]

log = logging.getLogger(__name__)


class ConfigWatcher(FileSystemEventHandler):
    """Calls `on_change(config)` after each valid change, `on_error(error)` after each refused one."""

    def __init__(
        self,
        path: Path,
        current: Config,
        on_change: Callable[[Config], None],
        on_error: Callable[[ConfigError], None] | None = None,
        debounce_s: float = 0.3,
    ) -> None:
        self.path = Path(path).resolve()
        self.current = current
        self._on_change = on_change
        self._on_error = on_error
        self._debounce_s = debounce_s
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer = Observer()

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._observer.schedule(self, str(self.path.parent), recursive=False)
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        with self._lock:
            if self._timer:
                self._timer.cancel()
        self._observer.stop()
        self._observer.join(timeout=5)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # our own read of the file: reacting would reload (and log a refusal) in a loop
        paths = {getattr(event, "src_path", ""), getattr(event, "dest_path", "")}
        if str(self.path) not in {str(Path(p).resolve()) for p in paths if p}:
            return
        with self._lock:  # editors write in bursts: wait for quiet before reading
            if self._timer:
                self._timer.cancel()
            self._timer = threading.Timer(self._debounce_s, self._reload)
            self._timer.daemon = True
            self._timer.start()

    def _reload(self) -> None:
        try:
            config = load_config(self.path)
        except ConfigError as e:
            log.error("nouvelle configuration refusée, la précédente reste en vigueur : %s", e)
            if self._on_error:
                self._on_error(e)
            return
        if config == self.current:
            return
        self.current = config
        log.info("configuration rechargée depuis %s", self.path)
        self._on_change(config)
