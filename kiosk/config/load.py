"""Where the configuration file is, and reading it into a validated `Config`."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from kiosk.config.binding import Problem, bind, run_checks
from kiosk.config.locate import line_of
from kiosk.config.schema import Config
from kiosk.errors import ConfigError

__all__ = ["DEFAULT_PATH", "config_path", "load_config", "parse_config"]

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--config` first, then `KIOSK_CONFIG`, then /etc/kiosk/kiosk.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("KIOSK_CONFIG")
    return Path(env) if env else DEFAULT_PATH


def parse_config(text: str, source: str = "<texte>") -> tuple[Config, list[Problem]]:
    """Parse and validate; returns the configuration (defaults where a value was bad) and every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        found = re.search(r"line (\d+)", str(e))  # 3.11's TOMLDecodeError has no lineno attribute
        line = int(found.group(1)) if found else None
        return Config(), [Problem((), f"TOML illisible dans {source} : {e}", line)]
    problems: list[Problem] = []
    config = bind(Config, data, (), problems) or Config()
    run_checks(config, (), problems, config)  # on the bound values (defaults where a value was refused)
    located = [Problem(p.path, p.message, p.line or line_of(text, p.path)) for p in problems]
    return config, located


def load_config(path: str | os.PathLike[str] | None = None, *, missing_ok: bool = True) -> Config:
    """Load the effective configuration; raise `ConfigError` listing every problem.

    A missing file is an empty one (valid for demo) unless `missing_ok` is False.
    """
    target = config_path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not missing_ok:
            raise ConfigError(f"fichier de configuration introuvable : {target}") from None
        text = ""
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"configuration illisible : {target} ({e.__class__.__name__}: {e})") from e
    config, problems = parse_config(text, str(target))
    if problems:
        detail = "\n".join(f"  {target}: {p}" for p in problems)
        raise ConfigError(f"configuration invalide ({len(problems)} problème(s)) :\n{detail}", problems)
    return config
