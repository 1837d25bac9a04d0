"""The param-lps copies on disk: content-addressed files plus one small index, each replaced atomically.

Layout under `<state_dir>/param-lps/`:
    copies/<sha256>.xml   every good copy still kept (the current one and up to KEEP_PREVIOUS before it)
    state.json            which copy is current, the previous good ones, when the file was last confirmed
                          (200 or 304) and the outcome of the last attempt
    .lock                 taken (flock) for the whole of a sync, so the service and a technician don't race

A copy is written before the index points to it, so a crash leaves either the old index (old copy still
there) or the new one. Reading verifies the hash and falls back to the previous good copies. Nothing in
here ever holds patient data.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.atomicfile import atomic_write

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["Copy", "State", "Store", "iso", "parse_iso", "resolve_state_dir", "utcnow"]

log = logging.getLogger(__name__)
KEEP_PREVIOUS = 3
DEFAULT_STATE_DIR = "/var/lib/kiosk"


def resolve_state_dir(config: Config | None) -> Path:
    """`state_dir` from the configuration, else systemd's $STATE_DIRECTORY, else /var/lib/kiosk."""
    explicit = getattr(config, "state_dir", "")
    if explicit:
        return Path(explicit)
    from_systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(from_systemd or DEFAULT_STATE_DIR)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC, seconds precision (the index's format)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def parse_iso(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Copy:
    sha256: str
    url: str  # the URL asked for (configuration or --url)
    final_url: str  # after redirects
    fetched_at: str  # ISO 8601, UTC
    size: int
    etag: str | None = None
    last_modified: str | None = None

    @property
    def fetched(self) -> datetime | None:
        return parse_iso(self.fetched_at)

    @classmethod
    def from_dict(cls, data: Any) -> Copy | None:
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (TypeError, KeyError):
            return None


@dataclass
class State:
    current: Copy | None = None
    previous: list[Copy] = field(default_factory=list)
    checked_at: str | None = None  # last time the server confirmed the current copy (200 or 304)
    last_attempt_at: str | None = None
    last_error: str | None = None  # None when the last attempt succeeded

    @property
    def checked(self) -> datetime | None:
        return parse_iso(self.checked_at)

    @property
    def last_attempt(self) -> datetime | None:
        return parse_iso(self.last_attempt_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": asdict(self.current) if self.current else None,
            "previous": [asdict(c) for c in self.previous],
            "checked_at": self.checked_at,
            "last_attempt_at": self.last_attempt_at,
            "last_error": self.last_error,
        }


class Store:
    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir) / "param-lps"
        self.copies = self.root / "copies"
        self.index = self.root / "state.json"

    # -- reading ---------------------------------------------------------------------------------------
    def load(self) -> State:
        """The index; an unreadable one is logged and treated as empty (copies stay on disk)."""
        try:
            data = json.loads(self.index.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return State()
        except (OSError, ValueError) as e:
            log.warning("index param-lps illisible (%s) : %s", self.index, e.__class__.__name__)
            return State()
        if not isinstance(data, dict):
            return State()
        current = Copy.from_dict(data["current"]) if isinstance(data.get("current"), dict) else None
        previous = [c for c in (Copy.from_dict(p) for p in data.get("previous") or [] if isinstance(p, dict)) if c]
        return State(current, previous, data.get("checked_at"), data.get("last_attempt_at"), data.get("last_error"))

    def read(self, copy: Copy) -> bytes | None:
        """The copy's bytes if present and intact (hash checked), else None."""
        try:
            data = (self.copies / f"{copy.sha256}.xml").read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != copy.sha256:
            log.warning("copie param-lps %s corrompue sur le disque : ignorée", copy.sha256[:12])
            return None
        return data

    def good_copies(self, state: State | None = None) -> Iterator[tuple[Copy, bytes]]:
        """Current first, then the previous good ones, skipping any that are missing or corrupt."""
        state = state or self.load()
        for copy in ([state.current] if state.current else []) + state.previous:
            data = self.read(copy)
            if data is not None:
                yield copy, data

    # -- writing (call under `locked()`) ---------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o755)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _save(self, state: State) -> None:
        atomic_write(self.index, (json.dumps(state.to_dict(), indent=2) + "\n").encode(), 0o644)

    def commit(self, data: bytes, copy: Copy, state: State, now: datetime) -> State:
        """Make `data` the current copy (the old current joins the previous ones), then prune."""
        atomic_write(self.copies / f"{copy.sha256}.xml", data, 0o644)
        previous = [c for c in ([state.current] if state.current else []) + state.previous if c.sha256 != copy.sha256]
        new = State(copy, previous[:KEEP_PREVIOUS], iso(now), iso(now), None)
        self._save(new)
        keep = {copy.sha256} | {c.sha256 for c in new.previous}
        for path in self.copies.glob("*.xml"):
            if path.stem not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()
        return new

    def confirm(
        self, state: State, now: datetime, *, etag: str | None = None, last_modified: str | None = None
    ) -> State:
        """The server confirmed the current copy (304, or the same bytes again)."""
        current = state.current
        if current is not None and (etag or last_modified):
            current = Copy(**{**asdict(current), "etag": etag or current.etag,
                              "last_modified": last_modified or current.last_modified})
        new = State(current, state.previous, iso(now), iso(now), None)
        self._save(new)
        return new

    def record_failure(self, state: State, now: datetime, error: str) -> State:
        new = State(state.current, state.previous, state.checked_at, iso(now), error)
        self._save(new)
        return new
