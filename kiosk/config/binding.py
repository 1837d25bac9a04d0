"""Bind a TOML document (dicts from tomllib) onto the configuration dataclasses, collecting every problem.

Type hints drive the conversion; field metadata carries the documentation (`doc`) and marks secrets
(`secret`). Sections may define `check(self, root) -> Iterable[tuple[tuple, str]]` for rules that span
fields; those problems come back with paths relative to the section.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

__all__ = ["Problem", "bind", "doc", "to_plain"]

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    line: int | None = None

    @property
    def key(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        where = f" (ligne {self.line})" if self.line else (" (absente du fichier)" if self.path else "")
        return f"{self.key or '<racine>'}{where}: {self.message}"


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def doc(
    default: Any = dataclasses.MISSING, text: str = "", *, secret: bool = False, factory: Any = None,
    bounds: tuple[float, float] | None = None,
) -> Any:
    """A dataclass field with its documentation, for `kiosk config reference` and the README.

    `bounds` (inclusive) range-checks a number when the file is read, so no hostile value (1e300, a billion
    days) reaches the code that uses it; non-finite floats (inf, nan) are refused for every field."""
    meta = {"doc": text, "secret": secret, "bounds": bounds}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is str:
        return "une chaîne"
    if tp is bool:
        return "true ou false"
    if tp is int:
        return "un entier"
    if tp is float:
        return "un nombre"
    if origin is Literal:
        return "l'une des valeurs " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " ou ".join("rien" if a is type(None) else _describe(a) for a in typing.get_args(tp))
    if origin is list:
        return f"une liste de ({_describe(typing.get_args(tp)[0])})"
    if origin is dict:
        return f"une table de ({_describe(typing.get_args(tp)[1])})"
    if dataclasses.is_dataclass(tp):
        return "une table"
    return str(tp)


_MISSING = object()


def bind(cls: Any, data: Any, path: Path, problems: list[Problem]) -> Any:
    """Convert `data` to `cls`; on a problem, record it and fall back to the default (so checking goes on)."""
    hints = typing.get_type_hints(cls)
    if not isinstance(data, dict):
        problems.append(Problem(path, f"attendu {_describe(cls)}"))
        data = {}
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            problems.append(Problem(path + (key,), f"clé inconnue (clés possibles : {', '.join(sorted(known))})"))
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = _convert(hints[f.name], data[f.name], path + (f.name,), problems)
        bounds = f.metadata.get("bounds")
        if bounds and isinstance(value, (int, float)) and not bounds[0] <= value <= bounds[1]:
            problems.append(
                Problem(
                    path + (f.name,),
                    f"valeur hors limites : entre {bounds[0]:g} et {bounds[1]:g} attendu, trouvé {value:g}",
                )
            )
            continue
        if value is not _MISSING:
            kwargs[f.name] = value
    try:
        obj = cls(**kwargs)
    except TypeError as e:  # a required field is missing
        problems.append(Problem(path, f"champ obligatoire absent ({e})"))
        return None
    return obj


def _convert(tp: Any, value: Any, path: Path, problems: list[Problem]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        for arg in args:
            if arg is not type(None) and _accepts(arg, value):
                return _convert(arg, value, path, problems)
        problems.append(Problem(path, f"attendu {_describe(tp)}, trouvé {value!r}"))
        return _MISSING
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        problems.append(Problem(path, f"attendu {_describe(tp)}, trouvé {value!r}"))
        return _MISSING
    if origin is list:
        if not isinstance(value, list):
            problems.append(Problem(path, f"attendu {_describe(tp)}"))
            return _MISSING
        (item_tp,) = typing.get_args(tp)
        items = [_convert(item_tp, v, path + (i,), problems) for i, v in enumerate(value)]
        return [v for v in items if v is not _MISSING and v is not None]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(Problem(path, f"attendu {_describe(tp)}"))
            return _MISSING
        _, val_tp = typing.get_args(tp)
        out = {str(k): _convert(val_tp, v, path + (str(k),), problems) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _MISSING}
    if dataclasses.is_dataclass(tp):
        obj = bind(tp, value, path, problems)
        return _MISSING if obj is None else obj
    if tp is float and isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(path, f"nombre fini attendu, trouvé {value!r}"))
        return _MISSING
    if _accepts(tp, value):
        return float(value) if tp is float else value
    problems.append(Problem(path, f"attendu {_describe(tp)}, trouvé {value!r}"))
    return _MISSING


def _accepts(tp: Any, value: Any) -> bool:
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    origin = typing.get_origin(tp)
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin is list:
        return isinstance(value, list)
    if origin is dict or dataclasses.is_dataclass(tp):
        return isinstance(value, dict)
    return False


def run_checks(obj: Any, path: Path, problems: list[Problem], root: Any) -> None:
    """Call every section's `check(root)` recursively (lists of sections included)."""
    if dataclasses.is_dataclass(obj):
        check = getattr(obj, "check", None)
        if callable(check):
            for sub, message in check(root):
                problems.append(Problem(path + tuple(sub), message))
        for f in dataclasses.fields(obj):
            run_checks(getattr(obj, f.name), path + (f.name,), problems, root)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            run_checks(item, path + (i,), problems, root)


def to_plain(obj: Any, redact: bool = False) -> Any:
    """Dataclasses -> TOML-ready dicts (None dropped: TOML has no null). Secrets become "***" when `redact`."""
    if dataclasses.is_dataclass(obj):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is None:
                continue
            if redact and f.metadata.get("secret") and value:
                out[f.name] = "***"
            else:
                out[f.name] = to_plain(value, redact)
        return out
    if isinstance(obj, list):
        return [to_plain(v, redact) for v in obj]
    if isinstance(obj, dict):
        return {k: to_plain(v, redact) for k, v in obj.items()}
    return obj
