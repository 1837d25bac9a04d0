"""The dependency direction `ui -> kiosk -> drivers`, read from the sources' import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def offenders(package: str, forbidden: tuple[str, ...], exempt: str = "") -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if exempt and path.is_relative_to(ROOT / exempt):
            continue
        bad = sorted(n for n in imported(path) if n.split(".")[0] in forbidden)
        if bad:
            out.append(f"{path.relative_to(ROOT)}: {', '.join(bad)}")
    return out


# The CLI verbs are the composition root: `kiosk run` and `kiosk demo` start the UI, nothing else in kiosk/ does.
@pytest.mark.parametrize(("package", "forbidden", "exempt"),
                         [("drivers", ("kiosk", "ui"), ""), ("kiosk", ("ui",), "kiosk/cli")])
def test_no_import_runs_back_up(package, forbidden, exempt):
    assert offenders(package, forbidden, exempt) == []


def test_the_kiosk_reaches_readers_only_through_drivers():
    assert offenders("kiosk", ("smartcard",)) == []


def test_no_module_imports_another_modules_private_names() -> None:
    bad = []
    for package in ("kiosk", "drivers", "ui", "benchmarks", "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
                    names = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                    if names:
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module} {', '.join(names)}")
    assert bad == []
