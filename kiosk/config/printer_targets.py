"""The printer's `target` read by its `kind`: syntax only, no device opened. The configuration checks it at load
time (`target_problem`) and the printing back-ends use the same parsers, so a target is read one way everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["CupsTarget", "parse_cups_target", "parse_hostport", "parse_usb_id", "target_problem"]


@dataclass(frozen=True)
class CupsTarget:
    queue: str
    host: str = ""  # "" = libcups' default server; "/path" = a domain socket
    port: int = 631
    tls: bool = False

    def describe(self) -> str:
        return f"file « {self.queue} »" + (f" sur {self.host}:{self.port}" if self.host else "")


def parse_cups_target(target: str) -> CupsTarget:
    """`QUEUE` or `ipp[s]://HOST[:PORT]/printers/QUEUE`; ValueError (French) otherwise."""
    if "://" not in target:
        if not target or any(c in target for c in "/@# \t"):
            raise ValueError("nom de file CUPS attendu, ou ipp://HÔTE[:PORT]/printers/FILE")
        return CupsTarget(target)
    url = urlsplit(target)
    parts = url.path.strip("/").split("/")
    if (
        url.scheme not in ("ipp", "ipps")
        or not url.hostname
        or len(parts) != 2
        or parts[0] != "printers"
        or not parts[1]
    ):
        raise ValueError("URL attendue de la forme ipp://HÔTE[:PORT]/printers/FILE (ou ipps://)")
    try:
        port = url.port or 631
    except ValueError:
        raise ValueError("port invalide dans l'URL de la file CUPS") from None
    return CupsTarget(parts[1], url.hostname, port, url.scheme == "ipps")


def parse_hostport(target: str) -> tuple[str, int]:
    """`HOST[:PORT]` or `[IPV6][:PORT]`, port 9100 by default; ValueError (French) otherwise."""
    host, port = target, "9100"
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        if rest:
            port = rest.removeprefix(":")
    elif target.count(":") == 1:
        host, port = target.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("HÔTE[:PORT] attendu (port 9100 par défaut)")
    return host, int(port)


def parse_usb_id(target: str) -> tuple[int, int]:
    """`VID:PID` in hex (as `lsusb` shows them); ValueError (French) otherwise."""
    vid, sep, pid = target.partition(":")
    try:
        if not sep or len(vid) != 4 or len(pid) != 4:
            raise ValueError
        return int(vid, 16), int(pid, 16)
    except ValueError:
        raise ValueError("identifiant USB VID:PID attendu en hexadécimal (ex. 04b8:0e15, voir lsusb)") from None


def target_problem(kind: str, target: str) -> str | None:
    """The French reason `target` does not fit `kind`, or None."""
    parsers = {"cups": parse_cups_target, "escpos-network": parse_hostport, "escpos-usb": parse_usb_id}
    try:
        if kind in parsers:
            parsers[kind](target)
    except ValueError as e:
        return str(e)
    return None
