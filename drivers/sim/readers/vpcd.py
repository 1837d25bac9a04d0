"""A vpcd client: serves one `VirtualCard` to vsmartcard's vpcd driver over its TCP socket.

URL form `vpcd://127.0.0.1:35963` (slot N listens on 35963 + N). Wire format (readers.md): every message is a
2-byte big-endian length then the payload; payload `00` power off, `01` power on, `02` reset, `04` get ATR
(answered with the ATR), anything longer is a command APDU (answered with the response APDU). Connecting is
inserting the card; closing the socket removes it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

from drivers.sim.virtual_cards.vcard import VirtualCard

__all__ = ["VPCD_BASE_PORT", "VpcdCard"]

log = logging.getLogger(__name__)
VPCD_BASE_PORT = 35963
# vpcd notices a closed socket only at pcscd's next presence poll (every 400 ms): a card put back sooner would
# look to pcscd like the same card never removed. No hand swaps cards faster than this, seconds:
REINSERT_GAP = 1.0
_removed_at: dict[tuple[str, int], float] = {}
# vpcd does not disable Nagle: without immediate ACKs from us, its back-to-back writes wait for our delayed ACK
# (40 ms per APDU on Linux). Linux resets QUICKACK after use, hence set before every read.
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class VpcdCard:
    """`insert()` connects (the card appears in pcscd's reader), `remove()` closes (it disappears).

    `drop_after=N` pulls the card out instead of answering the N-th APDU (tests: a card pulled mid-read).
    `apdus` records (tag, apdu) for every APDU served, `tag` being what `tagger(apdu)` says (tests).
    """

    def __init__(self, card: VirtualCard, port: int = VPCD_BASE_PORT, host: str = "127.0.0.1",
                 drop_after: int | None = None, tagger: Callable[[bytes], object] | None = None) -> None:
        self.card, self.host, self.port = card, host, port
        self.drop_after = drop_after
        self.tagger = tagger
        self.apdus: list[tuple[object, bytes]] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.served = threading.Event()  # set once pcscd powered the card and read its ATR (visible to clients)

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout: float = 10.0) -> None:
        """Connect to vpcd, retrying while pcscd starts its driver. `ConnectionError` after `timeout` seconds."""
        gap = _removed_at.get((self.host, self.port), 0.0) + REINSERT_GAP - time.monotonic()
        if gap > 0:
            time.sleep(gap)
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise ConnectionError(f"vpcd injoignable sur {self.host}:{self.port} ({e})") from e
                time.sleep(0.1)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.served.clear()
        self._sock = sock
        self.card.reset()
        self._thread = threading.Thread(target=self._serve, args=(sock,), name=f"vpcd:{self.port}", daemon=True)
        self._thread.start()

    def remove(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            _removed_at[(self.host, self.port)] = time.monotonic()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._thread = None

    def wait_until_served(self, timeout: float = 10.0) -> bool:
        return self.served.wait(timeout)

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            try:
                if _QUICKACK is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
                chunk = sock.recv(n - len(buf))
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(len(payload).to_bytes(2, "big") + payload)

    def _serve(self, sock: socket.socket) -> None:
        powered = False
        try:
            while True:
                head = self._recv_exact(sock, 2)
                if head is None:
                    return
                payload = self._recv_exact(sock, int.from_bytes(head, "big"))
                if payload is None:
                    return
                if len(payload) == 1:
                    if payload[0] in (0x01, 0x02):
                        self.card.reset()
                        powered = True
                    elif payload[0] == 0x00:
                        powered = False
                    elif payload[0] == 0x04:
                        self._send(sock, self.card.atr)
                        if powered:  # vpcd also asks for the ATR at each presence poll, unpowered
                            self.served.set()
                    continue
                if self.drop_after is not None and len(self.apdus) + 1 >= self.drop_after:
                    log.debug("vpcd %s: card pulled before APDU %d", self.port, len(self.apdus) + 1)
                    threading.Thread(target=self.remove, daemon=True).start()
                    return
                self.apdus.append((self.tagger(payload) if self.tagger else None, payload))
                self._send(sock, self.card.process(payload))
        except OSError:
            return
