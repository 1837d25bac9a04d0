"""Serial CCID readers (GemPC Twin family) over pyserial: framing, link, backend. See `backend.py`."""

from drivers.serial.backend import SerialBackend, SerialChannel, SerialReaderSpec

__all__ = ["SerialBackend", "SerialChannel", "SerialReaderSpec"]
