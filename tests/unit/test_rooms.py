"""The rooms of kiosk/ and their one direction, `appliance -> teleservices -> config -> desk -> domain`, read from
the sources' import statements at any depth, function-level ones included (README, Folders). The configuration
sits under the teleservices and the appliance that read it, above the desk whose text ids it checks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ABOVE = {  # room: the kiosk packages it may not import
    "kiosk/domain": ("teleservices", "desk", "appliance", "cli", "sim", "config"),
    "kiosk/desk": ("teleservices", "appliance", "cli", "sim", "config"),
    "kiosk/config": ("teleservices", "appliance", "cli", "sim"),
    "kiosk/teleservices": ("appliance", "cli", "sim"),
    "kiosk/appliance": ("cli",),
}


def kiosk_imports(path: Path) -> set[str]:
    """`kiosk.x` for every `import kiosk.x...` / `from kiosk.x... import` in the file, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
        else:
            continue
        names.update(".".join(m.split(".")[:2]) for m in modules if m.startswith("kiosk."))
    return names


@pytest.mark.parametrize("room", sorted(ABOVE))
def test_no_room_imports_a_room_above_it(room: str) -> None:
    forbidden = {f"kiosk.{name}" for name in ABOVE[room]}
    bad = [f"{path.relative_to(ROOT)}: {name}" for path in sorted((ROOT / room).rglob("*.py"))
           for name in sorted(kiosk_imports(path) & forbidden)]
    assert bad == []
