"""Anchoring the audit chain outside the state directory: each new head (sequence, day, hash) also goes to the
system journal, which the kiosk user can append to but not rewrite, so whoever rewrites the state directory
(a re-chained forgery, cut-off entries, deleted days, a forged anchor.json) cannot rewrite the anchors too.

Sending: journald's native protocol, one datagram of `FIELD=value` lines to /run/systemd/journal/socket.
Non-blocking: a missing or full journal never holds the desk; the first failure time is kept, so verify can
say "ancrage indisponible depuis ..." rather than cry tampering.

Reading: `journalctl -o json SYSLOG_IDENTIFIER=kiosk-audit` (or `-D` on a journal directory copied off the
kiosk, or a file of such JSON lines: a copy taken from the hospital's syslog collector), then `check_anchors`
compares them with the entries. A volatile or vacuumed journal simply has no anchors for older entries: that is
reported as "ancrage indisponible", distinct from tampering. The suite proves both ends against Debian's real
systemd-journald (tests/integration/test_audit_anchors.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Anchor", "Anchors", "JournalAnchor", "SyslogAnchor", "anchor_scope", "check_anchors", "read_anchors"]

JOURNAL_SOCKET = "/run/systemd/journal/socket"
IDENTIFIER = "kiosk-audit"


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    day: str
    kind: str = "head"  # "head": an entry written; "start": retention moved the chain's start (anchor.json)
    directory: str = ""  # the audit directory whose chain this is ("": written before the field existed)
    uid: int | None = None  # who sent it, as journald saw it (its trusted _UID field); None: not from journald


def anchor_scope(directory: Path) -> str:
    """Which chain an anchor belongs to: its audit directory, absolute and without symbolic links."""
    return str(Path(directory).resolve())


def _native_field(name: str, value: str) -> bytes:
    """One field of journald's native protocol: `NAME=value\\n`, or, for a value with a newline, the binary-safe
    form `NAME\\n`, its length as 64-bit little-endian, the bytes, `\\n` (systemd's sd_journal_sendv())."""
    data = value.encode()
    if b"\n" not in data:
        return name.encode() + b"=" + data + b"\n"
    return name.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"


def _sd(value: str) -> str:
    """An RFC 5424 SD-PARAM value: `"`, `\\` and `]` escaped with a backslash."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


class JournalAnchor:
    def __init__(self, path: str | None = None) -> None:
        self.path = path or JOURNAL_SOCKET
        self.unavailable_since: datetime | None = None
        self._sock: socket.socket | None = None

    def send(self, seq: int, day: str, digest: str, kind: str = "head", directory: str = "") -> bool:
        fields = {"MESSAGE": f"journal d'audit : {'entrée' if kind == 'head' else 'début de chaîne'} {seq}",
                  "SYSLOG_IDENTIFIER": IDENTIFIER, "PRIORITY": "6", "KIOSK_AUDIT_KIND": kind,
                  "KIOSK_AUDIT_SEQ": str(seq), "KIOSK_AUDIT_DAY": day, "KIOSK_AUDIT_HASH": digest,
                  "KIOSK_AUDIT_DIR": directory}
        data = b"".join(_native_field(k, v) for k, v in fields.items())
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(data, socket.MSG_DONTWAIT, self.path)
        except OSError:
            if self.unavailable_since is None:
                self.unavailable_since = datetime.now(UTC)
            return False
        self.unavailable_since = None
        return True


class SyslogAnchor:
    """The same anchors to the hospital's collector: RFC 5424 messages over TLS (RFC 5425 octet counting), the
    server checked against `ca_bundle`. Best effort with short timeouts: a collector down never holds the desk;
    the connection is made again at the next entry."""

    def __init__(self, target: str, ca_bundle: str = "", timeout_s: float = 2.0) -> None:
        from kiosk.domain.urls import parse_url

        safe = parse_url(f"https://{target}")  # host:port through the one URL parser
        self.host, self.port = safe.host, safe.port or 6514
        self.ca_bundle, self.timeout_s = ca_bundle, timeout_s
        self.unavailable_since: datetime | None = None
        self._conn: Any = None

    def send(self, seq: int, day: str, digest: str, kind: str = "head", directory: str = "") -> bool:
        import ssl

        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        message = (f"<110>1 {stamp} {socket.gethostname() or '-'} {IDENTIFIER} {os.getpid()} {kind} "
                   f'[kiosk-audit@32473 seq="{seq}" day="{day}" hash="{digest}" kind="{kind}" '
                   f'dir="{_sd(directory)}"] '
                   f"journal d'audit : entrée {seq}").encode()
        frame = str(len(message)).encode() + b" " + message
        for _attempt in (1, 2):  # a connection the collector closed meanwhile: once more on a new one
            try:
                if self._conn is None:
                    context = ssl.create_default_context(cafile=self.ca_bundle or None)
                    raw = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
                    self._conn = context.wrap_socket(raw, server_hostname=self.host)
                self._conn.sendall(frame)
                self.unavailable_since = None
                return True
            except (OSError, ValueError):
                self.close()
        if self.unavailable_since is None:
            self.unavailable_since = datetime.now(UTC)
        return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass


class Anchors:
    """Several destinations (the system journal, the collector): each gets every anchor."""

    def __init__(self, *targets: JournalAnchor | SyslogAnchor) -> None:
        self.targets = targets

    @property
    def unavailable_since(self) -> datetime | None:
        return min((t.unavailable_since for t in self.targets if t.unavailable_since), default=None)

    def send(self, seq: int, day: str, digest: str, kind: str = "head", directory: str = "") -> bool:
        sent = [t.send(seq, day, digest, kind, directory) for t in self.targets]  # every target, even after a failure
        return all(sent)


def read_anchors(source: str | None = None) -> list[Anchor]:
    """From `journalctl` when `source` is None (empty if unavailable), from a journal directory (`journalctl -D`:
    a copy taken off a kiosk), or from a file of journal JSON lines (`journalctl -o json`, the syslog collector)."""
    if source and not Path(source).is_dir():
        lines: Iterable[str] = Path(source).read_text(encoding="utf-8", errors="replace").splitlines()
    else:
        where = ["-D", source] if source else []
        try:
            done = subprocess.run(["journalctl", "--no-pager", *where, "-o", "json", f"SYSLOG_IDENTIFIER={IDENTIFIER}"],
                                  capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            if source:
                raise OSError(f"journalctl : {e}") from e
            return []
        if done.returncode != 0 and source:  # a directory named by the technician: say why it cannot be read
            raise OSError(f"journalctl -D {source} : {done.stderr.strip()[:200]}")
        lines = done.stdout.splitlines() if done.returncode == 0 else []
    anchors = []
    for line in lines:
        try:
            record: Any = json.loads(line)
            anchors.append(Anchor(int(record["KIOSK_AUDIT_SEQ"]), str(record["KIOSK_AUDIT_HASH"]),
                                  str(record.get("KIOSK_AUDIT_DAY", "")), str(record.get("KIOSK_AUDIT_KIND", "head")),
                                  str(record.get("KIOSK_AUDIT_DIR", "")), _uid(record.get("_UID"))))
        except (ValueError, KeyError, TypeError):
            continue
    return anchors


def _uid(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def check_anchors(
    entries: list[dict[str, Any]], anchors: list[Anchor], start: tuple[int, str]
) -> tuple[list[str], str]:
    """(tampering findings, availability note) for the entries kept against the anchors; `start` is anchor.json's
    (sequence, hash) where the retained chain begins ((0, genesis) when nothing was ever deleted)."""
    by_seq = {e["seq"]: e for e in entries}
    heads = sorted((a for a in anchors if a.kind == "head"), key=lambda a: a.seq)
    starts = [a for a in anchors if a.kind == "start"]
    findings: list[str] = []
    last = max(by_seq, default=start[0])
    for anchor in heads:
        if anchor.seq <= start[0]:
            continue  # before the retained chain: deleted by retention
        entry = by_seq.get(anchor.seq)
        if entry is None:
            what = "entrées de fin supprimées (troncature)" if anchor.seq > last else "entrée ou fichier supprimé"
            findings.append(f"l'ancrage de l'entrée {anchor.seq} ({anchor.day}) n'a pas d'entrée : {what}")
        elif entry.get("hash") != anchor.hash:
            findings.append(f"l'entrée {anchor.seq} ne correspond pas à son ancrage : journal réécrit (falsification)")
    if start[0] > 0 and (starts or any(a.seq <= start[0] for a in heads)) and \
            not any((a.seq, a.hash) == start for a in starts):
        findings.append(f"anchor.json (début à l'entrée {start[0] + 1}) ne correspond à aucune rotation ancrée : "
                        "entrées anciennes supprimées et début de chaîne falsifié")
    anchored = {a.seq for a in heads}
    missing = sorted(s for s in by_seq if s not in anchored)
    note = ""
    if missing:
        since = by_seq[missing[0]].get("time", "?")
        note = f"ancrage indisponible depuis {since} (entrée {missing[0]}) : journal système volatil, purgé ou absent"
    return findings, note
