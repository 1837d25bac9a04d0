"""One param-lps refresh, start to finish, and the "is one due?" rule the service loop asks.

Order matters for safety: download (checked hops, byte limit) -> hardened parse and URL checks -> only then
store. Any failure records the reason in the index and leaves the current copy in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kiosk.errors import KioskError
from kiosk.teleservices.params.document import parse_document
from kiosk.teleservices.params.errors import ParamsError
from kiosk.teleservices.params.fetch import download
from kiosk.teleservices.params.store import Copy, Store, iso, resolve_state_dir, utcnow

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["RETRY_AFTER_FAILURE", "ParamsSource", "SourceOpener", "SyncResult", "refresh_if_due", "seconds_until_due",
           "sync"]

log = logging.getLogger(__name__)
RETRY_AFTER_FAILURE = timedelta(minutes=15)  # after a failed attempt, the service waits this long (or the period)


@dataclass(frozen=True)
class ParamsSource:
    """Where to download param-lps from, when not from the configuration: the composition root's choice (the demo
    points it at the embedded simulator, `kiosk.sim.paramlps.simulator_for_default_url`)."""

    url: str
    ca_bundle: str
    allowed_domains: tuple[str, ...]


# Opens the source for one refresh (None: the configuration's) and closes it afterwards.
SourceOpener = Callable[[Any], AbstractContextManager[ParamsSource | None]]


@dataclass(frozen=True)
class SyncResult:
    status: str  # "updated", "not-modified" (304), "unchanged" (same bytes), "failed"
    url: str
    final_url: str | None = None
    sha256: str | None = None
    entries: int = 0
    redirects: list[str] = field(default_factory=list)
    checked_at: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def _source(config: Config, url: str | None, source: ParamsSource | None) -> tuple[str, str, list[str]]:
    """(url, ca_bundle, allowed domains) to use: the injected source, else `url` or the configuration's."""
    if source is not None:
        return source.url, source.ca_bundle, list(source.allowed_domains)
    params = config.params
    return url or params.url, params.ca_bundle, list(params.allowed_domains)


def sync(config: Config, url: str | None = None, *, now: datetime | None = None,
         source: ParamsSource | None = None) -> SyncResult:
    """Download, check and store param-lps (from `source` when given). Raises `ParamsFetchError` /
    `ParamsDataError`, or `ParamsError` when the state directory is unusable (all exit code 3)."""
    store = Store(resolve_state_dir(config))
    try:
        return _sync(config, store, url, now, source)
    except OSError as e:
        raise ParamsError(
            f"répertoire d'état {store.root} inutilisable ({e.strerror or e.__class__.__name__}) : voir la clé "
            "state_dir"
        ) from e


def _sync(
    config: Config, store: Store, url: str | None, now: datetime | None, chosen: ParamsSource | None
) -> SyncResult:
    source, ca_bundle, domains = _source(config, url, chosen)
    with store.locked():
        state = store.load()
        good = next(store.good_copies(state), None)
        conditional = good is not None and good[0].url == source
        try:
            got = download(
                source, allowed_domains=domains, max_bytes=config.params.max_bytes,
                timeout_s=config.params.timeout_s, ca_bundle=ca_bundle,
                etag=good[0].etag if good and conditional else None,
                last_modified=good[0].last_modified if good and conditional else None,
            )
            if got.status == 304:
                assert good is not None
                state = store.confirm(state, now or utcnow(), etag=got.etag, last_modified=got.last_modified)
                log.info("param-lps inchangé (304) : %s", source)
                return SyncResult("not-modified", source, got.final_url, good[0].sha256,
                                  len(parse_document(good[1], domains).entries), got.redirects, state.checked_at)
            document = parse_document(got.body, domains)
        except ParamsError as e:
            store.record_failure(state, now or utcnow(), str(e))
            log.warning("param-lps non mis à jour (copie précédente conservée) : %s", e)
            raise
        moment = now or utcnow()
        sha = hashlib.sha256(got.body).hexdigest()
        if good is not None and good[0].sha256 == sha and state.current and state.current.sha256 == sha:
            state = store.confirm(state, moment, etag=got.etag, last_modified=got.last_modified)
            return SyncResult("unchanged", source, got.final_url, sha, len(document.entries), got.redirects,
                              state.checked_at)
        copy = Copy(sha, source, got.final_url, iso(moment) or "", len(got.body), got.etag, got.last_modified)
        state = store.commit(got.body, copy, state, moment)
        log.info("param-lps mis à jour : %d entrées, %s", len(document.entries), sha[:12])
        return SyncResult("updated", source, got.final_url, sha, len(document.entries), got.redirects,
                          state.checked_at)


def _configured(config: Config) -> AbstractContextManager[ParamsSource | None]:
    return contextlib.nullcontext()


def seconds_until_due(config: Config, *, now: datetime | None = None) -> float:
    """0 when a refresh is due: never confirmed, confirmed longer ago than `params.refresh_hours`, and the
    last failed attempt (if any) older than RETRY_AFTER_FAILURE (capped at the period)."""
    state = Store(resolve_state_dir(config)).load()
    now = now or utcnow()
    period = timedelta(hours=config.params.refresh_hours)
    due = state.checked + period if state.checked else now
    if state.last_error and state.last_attempt:
        due = max(due, state.last_attempt + min(RETRY_AFTER_FAILURE, period))
    return max(0.0, (due - now).total_seconds())


def refresh_if_due(
    config: Config, *, now: datetime | None = None, opener: SourceOpener | None = None
) -> SyncResult | None:
    """For the service loop: sync when due (from the source `opener` gives, opened only then); None when not due.
    Never raises for a failed refresh: it comes back as status "failed" (logged, recorded, last good copy kept)."""
    if seconds_until_due(config, now=now) > 0:
        return None
    try:
        with (opener or _configured)(config) as source:
            return sync(config, now=now, source=source)
    except KioskError as e:
        return SyncResult("failed", config.params.url, error=str(e), checked_at=None)
