"""Argument types that range-check numbers when the command line is read: `--timeout 1e300` or `nan` is a
usage error (exit 2, French message), never an overflow or an endless wait further down."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["bounded_float", "bounded_int"]


def bounded_float(low: float, high: float, unit: str = "s") -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"nombre attendu, trouvé {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"valeur entre {low:g} et {high:g} {unit} attendue, trouvé {text!r}".rstrip()
            )
        return value

    parse.__name__ = "nombre"  # argparse names the type in its messages
    return parse


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if len(text) > 12 or not text.strip().lstrip("-").isdigit():
            raise argparse.ArgumentTypeError(f"entier attendu, trouvé {text[:20]!r}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"entier entre {low} et {high} attendu, trouvé {value}")
        return value

    parse.__name__ = "entier"
    return parse
