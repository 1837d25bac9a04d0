"""The serial reader models: the serial CCID ones as libccid's serial driver knows them (which echo commands),
and the GemCore ones spoken to in GBP."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODELS", "Model", "model"]


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    echo: bool  # the reader sends every command frame back before its answer
    init_escape: bytes  # the escape libccid sends first to check that a reader answers


MODELS = {
    m.name.lower(): m
    for m in (
        Model("GemPCTwin", echo=True, init_escape=b"\x02"),
        Model("GemPCPinPad", echo=True, init_escape=b"\x02"),
        Model("GemCorePOSPro", echo=False, init_escape=b"\x02"),
        Model("GemCoreSIMPro", echo=False, init_escape=b"\x02"),
        Model("GemCoreSIMPro2", echo=False, init_escape=b"\x02"),
        Model("SEC1210", echo=False, init_escape=b"\x06"),
        Model("GemPC410", echo=False, init_escape=b"\x02"),  # GemCore readers: protocol = "gbp"
        Model("GemPC413", echo=False, init_escape=b"\x02"),
    )
}


def model(name: str) -> Model:
    """The model by name (case-insensitive); unknown names behave as a GemPC Twin, as in libccid."""
    return MODELS.get(name.lower(), MODELS["gempctwin"])
