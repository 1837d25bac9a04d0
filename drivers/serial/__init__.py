"""Serial CCID readers (GemPC Twin family) over pyserial: `frame` (line framing), `ccid` (messages), `link`
(one line's exchanges), `port` (opening, waiting for a device), `backend` (the `ReaderBackend`).

The backend's names are loaded on first use, so that `drivers.serial.models` (read by the configuration
check) does not pull pyserial in."""

from __future__ import annotations

from typing import Any

__all__ = ["SerialBackend", "SerialChannel", "SerialReaderSpec"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from drivers.serial import backend

        return getattr(backend, name)
    raise AttributeError(name)
