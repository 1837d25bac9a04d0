"""The desk's audit journal: which staff card did what, when, with what outcome — tamper-evident.

Append-only JSON lines, one file per UTC day under `<state_dir>/audit/`. Each entry carries the hash of
the previous one (`prev`) and its own (`hash` = SHA-256 over `prev` and the entry's canonical JSON), so a
removed, inserted or altered entry breaks the chain; `head.json` (rewritten atomically after each entry)
holds the last sequence number and hash, so cutting entries off the end is detected too. Files older than
the retention period are deleted whole, and `anchor.json` records where the retained chain now starts.

The patient is referenced by a keyed hash of the INS (HMAC-SHA-256 with a per-kiosk secret key kept beside
the journal, mode 0600), never in clear: an identity-vigilance officer who knows an INS can find its
entries (`kiosk audit show --ins`), nobody can read an INS out of the journal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.appliance.service.anchor import Anchor, Anchors, JournalAnchor, anchor_scope, check_anchors
from kiosk.atomicfile import atomic_write
from kiosk.domain.ins import InsMatricule

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["AuditJournal", "AuditProblem", "audit_dir", "verify_anchors", "verify_journal"]

GENESIS = "0" * 64


def audit_dir(config: Config) -> Path:
    """`<state_dir>/audit`: `state_dir` from the configuration, else $STATE_DIRECTORY, else /var/lib/kiosk."""
    base = getattr(config, "state_dir", "") or os.environ.get("STATE_DIRECTORY", "").split(":")[0] or "/var/lib/kiosk"
    return Path(base) / "audit"


def chain_digest(prev: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + canonical).encode()).hexdigest()


@dataclass(frozen=True)
class AuditProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (FileNotFoundError, ValueError):
        return None


class AuditJournal:
    def __init__(
        self, directory: Path, retention_days: int = 365, anchor: JournalAnchor | Anchors | None = None
    ) -> None:
        self.directory = Path(directory)
        self.anchor = anchor  # each new head also goes to the system journal (kiosk/appliance/service/anchor.py)
        self._scope = anchor_scope(self.directory)  # names this chain among the anchors of the system journal
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        self._key = self._load_key()
        self.segment_reason = ""  # set when this run had to open a new segment (damaged head)
        head_path = self.directory / "head.json"
        head = _valid_head(
            _read_json(head_path) if head_path.exists() else _read_json(self.directory / "anchor.json") or {}
        )
        last = _last_entry(self.directory)
        if head is not None and (last is None or (last.get("seq"), last.get("hash")) == head):
            self._seq, self._prev = head
        elif head is None and not head_path.exists() and last is None:
            self._seq, self._prev = 0, GENESIS
        else:
            # head.json unreadable, or not the last entry written (damaged, or entries cut off): the service
            # must start anyway. A new segment restarts the chain after the highest sequence number seen, says
            # why in its first entry, and `kiosk audit verify` reports the break.
            self.segment_reason = (
                "tête du journal endommagée" if head is None else "tête du journal différente de la dernière entrée"
            )
            self._seq = max(int(last["seq"]) if last else 0, head[0] if head else 0)
            self._prev = GENESIS
            self.record("segment_started", "new_segment", reason=self.segment_reason)

    def patient_ref(self, ins: InsMatricule | str | None) -> str:
        return patient_ref(self._key, ins)

    def record(self, action: str, outcome: str, *, staff: str = "", ins: InsMatricule | None = None,
               now: datetime | None = None, **detail: Any) -> dict[str, Any]:
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        with self._lock:
            body: dict[str, Any] = {
                "seq": self._seq + 1,
                "time": moment.isoformat(timespec="milliseconds"),
                "staff": staff,
                "action": action,
                "outcome": outcome,
                "patient": self.patient_ref(ins),
                "detail": {k: v for k, v in detail.items() if v is not None},
                "prev": self._prev,
            }
            entry = {**body, "hash": chain_digest(self._prev, body)}
            path = self.directory / f"audit-{moment:%Y-%m-%d}.jsonl"
            line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            self._seq, self._prev = body["seq"], entry["hash"]
            atomic_write(
                self.directory / "head.json", json.dumps({"seq": self._seq, "hash": self._prev}).encode(), 0o640
            )
            if self.anchor is not None:
                self.anchor.send(self._seq, f"{moment:%Y-%m-%d}", self._prev, directory=self._scope)
            return entry

    def writable(self, now: datetime | None = None) -> bool:
        """Can an entry be appended now? Opens (creates) today's file without writing: before a patient
        action, so that an action whose entry would be lost is refused rather than done untraced."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        try:
            os.close(
                os.open(
                    self.directory / f"audit-{moment:%Y-%m-%d}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640
                )
            )
        except OSError:
            return False
        return True

    def rotate(self, now: datetime | None = None) -> list[str]:
        """Delete whole days past the retention period; move the anchor to the first entry kept.

        A day goes only when the clock says it is old AND at least `retention_days` later journal days follow
        it in sequence order: a clock set two years ahead deletes nothing (one new day follows), a kiosk idle
        on some days keeps a little longer than the period, never less."""
        cutoff = (now or datetime.now(UTC)).date() - timedelta(days=self.retention_days)
        removed = []
        with self._lock:
            days = sorted((_max_seq(f), f) for f in journal_files(self.directory) if f.is_file())
            old = [f for rank, (_, f) in enumerate(days)
                   if _day(f) < cutoff and len(days) - rank - 1 >= self.retention_days]
            kept = [f for _, f in days if f not in old]
            if not old:
                return []
            firsts = [e for f in kept for _, e in _entries(f) if isinstance(e.get("seq"), int) and "prev" in e]
            if firsts:
                first = min(firsts, key=lambda e: e["seq"])
                anchor = {"seq": first["seq"] - 1, "hash": first["prev"]}
            else:
                anchor = {"seq": self._seq, "hash": self._prev}
            atomic_write(self.directory / "anchor.json", json.dumps(anchor).encode(), 0o640)
            if self.anchor is not None:
                self.anchor.send(int(anchor["seq"]), "", str(anchor["hash"]), kind="start",
                                 directory=self._scope)
            for f in old:
                f.unlink()
                removed.append(f.name)
        return removed

    def _load_key(self) -> bytes:
        from kiosk.appliance.service.auditkey import load_key

        return load_key(self.directory, has_entries(self.directory))


def patient_ref(key: bytes, ins: InsMatricule | str | None) -> str:
    """The journal's name for a patient: HMAC-SHA-256 of the INS under the kiosk's key, truncated."""
    if ins is None:
        return ""
    value = ins.value if isinstance(ins, InsMatricule) else "".join(str(ins).split()).upper()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def _valid_head(data: dict[str, Any] | None) -> tuple[int, str] | None:
    if not isinstance(data, dict):
        return None
    seq, digest = data.get("seq"), data.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or not isinstance(digest, str) or \
            len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return seq, digest


def _day(path: Path) -> Any:
    try:
        return datetime.strptime(path.name, "audit-%Y-%m-%d.jsonl").date()
    except ValueError:
        return None


def journal_files(directory: Path) -> list[Path]:
    """Every name that looks like a day file, directories included (verify reports those)."""
    return sorted(p for p in Path(directory).glob("audit-*.jsonl") if _day(p) is not None)


def _entries(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, entry); an unreadable line comes back as {"_bad": reason}, never as an exception."""
    try:
        f = path.open("rb")
    except OSError as e:
        yield 0, {"_bad": f"fichier illisible ({e.strerror or e})"}
        return
    with f:
        try:
            for number, raw in enumerate(f, start=1):
                try:
                    entry = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError, RecursionError):
                    yield number, {"_bad": "ligne illisible (JSON invalide ou octets non UTF-8)"}
                    continue
                if not isinstance(entry, dict):
                    yield number, {"_bad": "ligne illisible (objet JSON attendu)"}
                elif not isinstance(entry.get("seq"), int) or isinstance(entry.get("seq"), bool):
                    yield number, {"_bad": f"numéro d'entrée invalide ({str(entry.get('seq'))[:20]!r})"}
                else:
                    yield number, entry
        except OSError as e:  # e.g. a directory named like a day file
            yield 0, {"_bad": f"fichier illisible ({e.strerror or e})"}


def has_entries(directory: Path) -> bool:
    return any(f.is_file() and f.stat().st_size > 0 for f in journal_files(directory))


def _max_seq(path: Path) -> int:
    return max((e["seq"] for _, e in _entries(path) if "_bad" not in e), default=-1)


def _last_entry(directory: Path) -> dict[str, Any] | None:
    entries = [e for f in journal_files(directory) if f.is_file() for _, e in _entries(f) if "_bad" not in e]
    return max(entries, key=lambda e: e["seq"]) if entries else None


def read_entries(directory: Path) -> Iterator[dict[str, Any]]:
    """Readable entries in sequence order (the sequence is the order; the time is information)."""
    entries = [e for path in journal_files(directory) for _, e in _entries(path) if "_bad" not in e]
    yield from sorted(entries, key=lambda e: e["seq"])


def verify_journal(directory: Path) -> tuple[int, list[AuditProblem]]:
    """Walk the chain from the anchor to the head in sequence order: (entries checked, problems)."""
    directory = Path(directory)
    anchor = _valid_head(_read_json(directory / "anchor.json")) or (0, GENESIS)
    head_path = directory / "head.json"
    head = _valid_head(_read_json(head_path)) if head_path.exists() else None
    problems: list[AuditProblem] = []
    if head_path.exists() and head is None:
        problems.append(AuditProblem("head.json", 0, "tête du journal illisible ou malformée"))
    located: list[tuple[int, str, int, dict[str, Any]]] = []
    for path in journal_files(directory):
        for number, entry in _entries(path):
            if "_bad" in entry:
                problems.append(AuditProblem(path.name, number, entry["_bad"]))
            else:
                located.append((entry["seq"], path.name, number, entry))
    located.sort(key=lambda item: item[0])
    seq, prev = anchor
    count = 0
    last_file, last_line = "", 0
    for _, name, number, entry in located:
        count += 1
        last_file, last_line = name, number
        body = {k: v for k, v in entry.items() if k != "hash"}
        if entry.get("action") == "segment_started" and entry.get("prev") == GENESIS:
            problems.append(
                AuditProblem(
                    name,
                    number,
                    f"nouveau segment ouvert à l'entrée {entry['seq']} "
                    f"({entry.get('detail', {}).get('reason', '?')}) : continuité non prouvée",
                )
            )
            seq, prev = entry["seq"] - 1, GENESIS
        if entry["seq"] != seq + 1:
            what = "entrée en double" if entry["seq"] <= seq else "entrée supprimée ou insérée"
            problems.append(AuditProblem(name, number, f"numéro {entry['seq']} au lieu de {seq + 1} : {what}"))
        if entry.get("prev") != prev:
            problems.append(
                AuditProblem(name, number, "chaînage rompu : l'entrée précédente a été supprimée ou modifiée")
            )
        if chain_digest(str(entry.get("prev", "")), body) != entry.get("hash"):
            problems.append(AuditProblem(name, number, "empreinte invalide : entrée modifiée"))
        seq, prev = entry["seq"], str(entry.get("hash", ""))
    if head is not None and head != (seq, prev):
        problems.append(
            AuditProblem(
                last_file or "head.json",
                last_line,
                f"le journal s'arrête à l'entrée {seq} mais la dernière écrite est la {head[0]} : entrées de fin "
                "supprimées",
            )
        )
    return count, problems


def verify_anchors(directory: Path, anchors: list[Anchor]) -> tuple[list[AuditProblem], str]:
    """The chain against the system journal's anchors: (tampering findings, "ancrage indisponible" note)."""
    start = _valid_head(_read_json(Path(directory) / "anchor.json")) or (0, GENESIS)
    # The system journal outlives state directories (a demo, a reinstalled kiosk): this chain's anchors only,
    # and only as sent by the journal's writer (the directory's owner) or root: any local user can send to
    # journald, but not under another uid, so someone else's "anchors" cannot fake a tampering verdict.
    scope = anchor_scope(Path(directory))
    writers = {0, Path(directory).stat().st_uid} if Path(directory).exists() else {0}
    ours = [a for a in anchors if a.directory in ("", scope) and (a.uid is None or a.uid in writers)]
    findings, note = check_anchors(list(read_entries(directory)), ours, start)
    return [AuditProblem("ancrage", 0, f) for f in findings], note
