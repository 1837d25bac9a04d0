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

__all__ = ["DEFAULT_PATH", "config_path", "load_config", "parse_config", "read_config_text", "shape_problem"]

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")
MAX_BYTES = 1024 * 1024  # a kiosk's configuration is a few kilobytes
MAX_NESTING = 32  # arrays and inline tables inside each other
MAX_DOTS = 32  # parts of one dotted key or table header


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--config` first, then `KIOSK_CONFIG`, then /etc/kiosk/kiosk.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("KIOSK_CONFIG")
    return Path(env) if env else DEFAULT_PATH


def parse_config(text: str, source: str = "<texte>") -> tuple[Config, list[Problem]]:
    """Parse and validate; returns the configuration (defaults where a value was bad) and every problem."""
    hostile = shape_problem(text)
    if hostile:
        return Config(), [Problem((), f"configuration refusée ({source}) : {hostile}")]
    try:
        data = tomllib.loads(text)
    except RecursionError:
        return Config(), [Problem((), f"configuration refusée ({source}) : imbrication trop profonde")]
    except tomllib.TOMLDecodeError as e:
        found = re.search(r"line (\d+)", str(e))  # 3.11's TOMLDecodeError has no lineno attribute
        line = int(found.group(1)) if found else None
        return Config(), [Problem((), f"TOML illisible dans {source} : {e}", line)]
    problems: list[Problem] = []
    config = bind(Config, data, (), problems) or Config()
    run_checks(config, (), problems, config)  # on the bound values (defaults where a value was refused)
    located = [Problem(p.path, p.message, p.line or line_of(text, p.path)) for p in problems]
    return config, located


def read_config_text(target: Path) -> str:
    """Read at most MAX_BYTES: `--config /dev/zero` (or a huge file) is refused, not read forever."""
    with target.open("rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ConfigError(
            f"configuration refusée : {target} dépasse {MAX_BYTES // 1024} Kio (fichier ordinaire attendu)"
        )
    return data.decode("utf-8")


def shape_problem(text: str) -> str | None:
    """Refuse before parsing what no configuration needs and what makes parsers recurse or crawl: arrays or
    tables nested deeper than MAX_NESTING, keys or headers of more than MAX_DOTS parts. A coarse scan that
    skips strings and comments; it only has to be right for valid TOML, the parser rejects the rest."""
    depth, dots, quote, i, n = 0, 0, "", 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            if quote in ('"', '"""') and c == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = ""
                continue
            i += 1
            continue
        if c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote)
            continue
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return f"tableaux ou tables imbriqués sur plus de {MAX_NESTING} niveaux"
        elif c in "]}":
            depth = max(0, depth - 1)
        elif c == ".":
            dots += 1
            if dots > MAX_DOTS:
                return f"clé ou en-tête de plus de {MAX_DOTS} parties"
        elif c in "=\n,":
            dots = 0
        i += 1
    return None


def load_config(path: str | os.PathLike[str] | None = None, *, missing_ok: bool = True) -> Config:
    """Load the effective configuration; raise `ConfigError` listing every problem.

    A missing file is an empty one (valid for demo) unless `missing_ok` is False.
    """
    target = config_path(path)
    try:
        text = read_config_text(target)
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
