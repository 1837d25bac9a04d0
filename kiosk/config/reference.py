"""The configuration reference, generated from the schema so that the README never drifts from the code."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from kiosk.config.schema import Config

__all__ = ["reference_markdown", "reference_rows"]


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _walk(cls: Any, prefix: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        item = typing.get_args(tp)[0] if typing.get_origin(tp) is list and typing.get_args(tp) else None
        if dataclasses.is_dataclass(tp):
            rows += _walk(tp, f"{prefix}{f.name}.")
        elif item is not None and dataclasses.is_dataclass(item):
            rows += _walk(item, f"{prefix}{f.name}[].")
        else:
            rows.append({"key": prefix + f.name, "default": _default(f), "doc": f.metadata.get("doc", "")})
    return rows


def reference_rows() -> list[dict[str, Any]]:
    return _walk(Config, "")


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value == "" or value == [] or value == {}:
        return "(empty)"
    if isinstance(value, dict):
        return ", ".join(f"`{k}`" for k in value)
    return f"`{value}`"


def reference_markdown() -> str:
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{r['key']}` | {_fmt(r['default'])} | {r['doc']} |" for r in reference_rows()]
    return "\n".join(lines)
