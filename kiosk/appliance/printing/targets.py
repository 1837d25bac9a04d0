"""`printer.target` checked against `printer.kind` when the configuration is loaded (no device opened)."""

from __future__ import annotations

__all__ = ["target_problem"]


def target_problem(kind: str, target: str) -> str | None:
    """The French reason `target` does not fit `kind`, or None."""
    from kiosk.appliance.printing.cups import parse_target
    from kiosk.appliance.printing.escpos import parse_hostport, parse_usb_id

    parsers = {"cups": parse_target, "escpos-network": parse_hostport, "escpos-usb": parse_usb_id}
    try:
        if kind in parsers:
            parsers[kind](target)
    except ValueError as e:
        return str(e)
    return None
