"""Find the line of a key path in TOML text, so that every configuration error can say where to look.

tomllib gives no positions; this light scanner tracks table headers (`[a.b]`, `[[a]]` with their index)
and `key =` lines, which covers the configuration files people write by hand. Inline tables and
multi-line arrays report the line of their key.
"""

from __future__ import annotations

import re

from kiosk.config.binding import Path

__all__ = ["line_of"]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_dotted(text: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)]


def _index(text: str) -> dict[Path, int]:
    lines: dict[Path, int] = {}
    table: list[str | int] = []
    arrays: dict[tuple[str, ...], int] = {}
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if '"""' in line or "'''" in line:
                in_multiline = False
            continue
        header = _HEADER.match(line)
        if header:
            names = _split_dotted(header.group(2))
            if header.group(1) == "[[":
                array = tuple(names)
                arrays[array] = arrays.get(array, -1) + 1
                table = [*names, arrays[array]]
            else:
                table = list(names)
                # a sub-table of the latest array element: [readers.options] after [[readers]]
                for size in range(len(names), 0, -1):
                    prefix = tuple(names[:size])
                    if prefix in arrays:
                        table = [*names[:size], arrays[prefix], *names[size:]]
                        break
            lines.setdefault(tuple(table), number)
            continue
        assignment = _KEY.match(line)
        if assignment:
            path = tuple(table) + tuple(_split_dotted(assignment.group(1)))
            lines.setdefault(path, number)
            if line.count('"""') == 1 or line.count("'''") == 1:
                in_multiline = True
    return lines


def line_of(text: str, path: Path) -> int | None:
    """The line of `path`, or of its closest ancestor written in the file."""
    index = _index(text)
    for size in range(len(path), 0, -1):
        if path[:size] in index:
            return index[path[:size]]
    return None
