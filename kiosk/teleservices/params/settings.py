"""The effective DMP settings: configuration first, then the last good param-lps copy, then built-in values.

Each value carries its source and the moment it dates from, so `kiosk params show` and the desk can tell
a technician whether a Web PS base came from the file downloaded an hour ago or from a default compiled
in months ago. Param-lps URLs are checked again here against the current allow-list: the list may have
shrunk since the copy was downloaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.teleservices.params.document import KNOWN, Entry, ParamLps, parse_document
from kiosk.teleservices.params.errors import ParamsDataError
from kiosk.teleservices.params.store import Copy, State, Store, resolve_state_dir, utcnow

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["EffectiveSettings", "Setting", "current_settings", "load_param_lps"]

log = logging.getLogger(__name__)

# Built-in values (PDT-INF-547 v5, production). The test environment has none: its domains differ and are
# not published, so they must come from its param-lps file or the configuration.
_BUILTIN_PROD: dict[str, Any] = {
    "webps.cpx_base": "https://wps-cps.dmp.monespacesante.fr",
    "webps.psc_base": "https://wps-psc.dmp.monespacesante.fr",
    "dmp.webservices": "https://lps2.dmp.gouv.fr/",
    "dmp.majority_age": 18,
}
_CONFIG_KEYS = {"webps.cpx_base": ("webps", "cpx_base"), "webps.psc_base": ("webps", "psc_base")}
_LABELS = {k.name: k.label for k in KNOWN} | {
    "params.url": "Adresse du fichier param-lps",
    "params.refresh_hours": "Période de rafraîchissement (heures)",
    "params.allowed_domains": "Domaines autorisés pour les URL de param-lps",
}


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any  # None when no source has a value
    source: str  # "config", "param-lps", "built-in" or "absent"
    since: datetime | None = None  # config file's mtime, param-lps copy's download time; None for built-in
    label: str = ""
    note: str | None = None  # e.g. where an absent value should come from

    def age_s(self, now: datetime | None = None) -> float | None:
        return None if self.since is None else max(0.0, ((now or utcnow()) - self.since).total_seconds())

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "value": self.value, "source": self.source,
                "since": self.since.isoformat(timespec="seconds") if self.since else None,
                "age_s": None if self.age_s(now) is None else round(self.age_s(now) or 0), "note": self.note}


@dataclass(frozen=True)
class EffectiveSettings:
    settings: dict[str, Setting]
    extras: tuple[Entry, ...] = ()  # param-lps entries the kiosk does not use, shown as they are
    copy: Copy | None = None  # the param-lps copy in use
    state: State = field(default_factory=State)

    def __getitem__(self, name: str) -> Setting:
        return self.settings[name]

    def value(self, name: str) -> Any:
        return self.settings[name].value

    def webps_base(self, access: str) -> Setting:
        return self.settings[f"webps.{access}_base"]

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "settings": [s.to_dict(now) for s in self.settings.values()],
            "param_lps": {
                "copy": None if self.copy is None else {**self.copy.__dict__},
                "checked_at": self.state.checked_at,
                "last_attempt_at": self.state.last_attempt_at,
                "last_error": self.state.last_error,
                "previous_copies": len(self.state.previous),
            },
            "extras": [e.to_dict() for e in self.extras],
        }


def load_param_lps(config: Config) -> tuple[ParamLps, Copy, State] | tuple[None, None, State]:
    """The newest good stored copy that still parses under today's allow-list, or (None, None, state)."""
    store = Store(resolve_state_dir(config))
    state = store.load()
    for copy, data in store.good_copies(state):
        try:
            return parse_document(data, config.params.allowed_domains), copy, state
        except ParamsDataError as e:
            log.warning("copie param-lps %s écartée : %s", copy.sha256[:12], e)
    return None, None, state


def _config_mtime(config_path: str | Path | None) -> datetime | None:
    if not config_path:
        return None
    try:
        return datetime.fromtimestamp(Path(config_path).stat().st_mtime, UTC)
    except OSError:
        return None


def current_settings(config: Config, *, config_path: str | Path | None = None) -> EffectiveSettings:
    """Every DMP setting with its source. `config_path` only serves to date the configuration's values."""
    from kiosk.config.schema_webps import ParamsConfig

    document, copy, state = load_param_lps(config)
    fetched = copy.fetched if copy else None
    mtime = _config_mtime(config_path)
    builtin = _BUILTIN_PROD if config.environment in ("prod", "demo") else {"dmp.majority_age": 18}
    out: dict[str, Setting] = {}
    for known in KNOWN:
        name, label = known.name, known.label
        section_key = _CONFIG_KEYS.get(name)
        configured = getattr(getattr(config, section_key[0]), section_key[1]) if section_key else ""
        if configured:
            out[name] = Setting(name, configured, "config", mtime, label)
            continue
        from_file = document.settings.get(name) if document else None
        if from_file is not None:
            out[name] = Setting(name, from_file, "param-lps", fetched, label)
        elif name in builtin:
            out[name] = Setting(name, builtin[name], "built-in", None, label)
        else:
            hint = f"à configurer ({name}) ou à obtenir par param-lps" if section_key else None
            out[name] = Setting(name, None, "absent", None, label, hint)
    defaults = ParamsConfig()
    for key in ("url", "refresh_hours", "allowed_domains"):
        value = getattr(config.params, key)
        source = "built-in" if value == getattr(defaults, key) else "config"
        out[f"params.{key}"] = Setting(f"params.{key}", value, source, mtime if source == "config" else None,
                                       _LABELS[f"params.{key}"])
    return EffectiveSettings(out, document.extras if document else (), copy, state)
