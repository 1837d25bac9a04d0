"""`kiosk config set`: change one value, keep every other, validate, then replace the file atomically.

tomli-w rewrites the document, so comments in the file are not kept (values are).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Union

import tomli_w

from kiosk.atomicfile import atomic_write
from kiosk.config.binding import Problem
from kiosk.config.load import config_path, parse_config, read_config_text, shape_problem
from kiosk.config.schema import Config
from kiosk.errors import ConfigError

__all__ = ["apply_value", "set_value", "split_key"]


def split_key(key: str) -> tuple[str | int, ...]:
    """`readers.0.role` -> ("readers", 0, "role")."""
    parts: list[str | int] = []
    for part in key.split("."):
        if not part:
            raise ConfigError(f"clé invalide : {key!r} (forme attendue : section.clé, ex. insi.timeout_s)")
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def _expected_type(path: tuple[str | int, ...]) -> Any:
    tp: Any = Config
    for part in path:
        origin = typing.get_origin(tp)
        if origin in (Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
            origin = typing.get_origin(tp)
        if isinstance(part, int):
            if origin is not list:
                raise ConfigError(f"{part} : index de liste inattendu ici")
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin is list:
            raise ConfigError(f"{part!r} : numéro d'entrée attendu ici (ex. readers.0.name)")
        elif dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            if part not in hints:
                raise ConfigError(f"clé inconnue : {part!r} (clés possibles : {', '.join(sorted(hints))})")
            tp = hints[part]
        else:
            raise ConfigError(f"{part!r} : cette valeur n'a pas de sous-clés")
    return tp


def _parse_value(raw: str, tp: Any) -> Any:
    if tp is str or (typing.get_origin(tp) is typing.Literal and all(isinstance(a, str) for a in typing.get_args(tp))):
        return raw
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw  # let validation say what was expected


def _assign(doc: Any, path: tuple[str | int, ...], value: Any) -> None:
    node = doc
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part > len(node):
                raise ConfigError(_no_entry(path[: i + 1], node))
            if part == len(node):
                node.append({})
            node = node[part]
        else:
            if part not in node:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last > len(node):
            raise ConfigError(_no_entry(path, node))
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    else:
        node[last] = value


def _no_entry(path: tuple[str | int, ...], node: Any) -> str:
    """A list entry that does not exist, said in French (entries may be added one past the end only)."""
    size = len(node) if isinstance(node, list) else 0
    where = ".".join(str(p) for p in path)
    have = f"la liste en a {size} (n° 0 à {size - 1})" if size else "la liste est vide"
    return f"{where} : pas d'entrée n° {path[-1]} ({have} ; n° {size} en ajoute une)"


def apply_value(doc: dict[str, Any], parts: tuple[str | int, ...], raw: str) -> None:
    """Set `parts` in a TOML document (dicts), typing `raw` by the schema like `kiosk config set` does."""
    _assign(doc, parts, _parse_value(raw, _expected_type(parts)))


def set_value(key: str, raw: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Set `key` to `raw` (a TOML value, or plain text for text keys). Nothing is written unless valid."""
    target = config_path(path)
    try:
        text = read_config_text(target)
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{target} est illisible ({e})") from e
    if hostile := shape_problem(text):
        raise ConfigError(f"{target} refusé : {hostile}")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{target} est illisible ({e}) : corrigez-le avant de le modifier") from e
    apply_value(doc, split_key(key), raw)
    new_text = tomli_w.dumps(doc)
    _, problems = parse_config(new_text, str(target))
    if problems:
        # Each line names the technician's file and the line the change would be on, never a temporary copy.
        raise ConfigError(
            f"{target} : modification refusée, le fichier n'a pas été changé :\n"
            + "\n".join(f"  {target}: {p}" for p in problems),
            [Problem(p.path, p.message, p.line) for p in problems],
        )
    atomic_write(target, new_text.encode("utf-8"))
    return target
