"""The tools enforce the style, from the suite itself (so `./run test`, hence CI, runs them): ruff with the project's
rules (pyproject.toml, line length included) on every Python file, mypy on the product, and mypy --strict on the
modules that hold the domain's values and the card protocols."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRICT = ("kiosk/desk", "kiosk/domain/ins.py", "kiosk/teleservices/insi", "kiosk/teleservices/dmp",
          "drivers/cards", "drivers/apdu.py")


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          check=False)


def test_ruff_is_clean() -> None:
    done = tool("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_mypy_is_clean() -> None:
    done = tool("mypy", "kiosk", "drivers", "ui")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_mypy_strict_on_the_domain_and_the_card_protocols() -> None:
    done = tool("mypy", "--strict", *STRICT)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_no_module_imports_another_modules_private_names() -> None:
    """ruff's SLF001 catches `obj._name`; this catches `from kiosk.x import _name` (PLC2701 is still preview)."""
    import ast

    first_party = ("kiosk", "drivers", "ui", "tests", "benchmarks")
    found = []
    for folder in (*first_party, "image"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in first_party:
                    found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, "\n".join(found)
