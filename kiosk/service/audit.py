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
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.atomicfile import atomic_write
from kiosk.ins import InsMatricule

__all__ = ["AuditJournal", "AuditProblem", "audit_dir", "verify_journal"]

GENESIS = "0" * 64


def audit_dir(config: Any) -> Path:
    """`<state_dir>/audit`: `state_dir` from the configuration, else $STATE_DIRECTORY, else /var/lib/kiosk."""
    base = getattr(config, "state_dir", "") or os.environ.get("STATE_DIRECTORY", "").split(":")[0] or "/var/lib/kiosk"
    return Path(base) / "audit"


def _digest(prev: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + canonical).encode()).hexdigest()


@dataclass(frozen=True)
class AuditProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class AuditJournal:
    def __init__(self, directory: Path, retention_days: int = 365) -> None:
        self.directory = Path(directory)
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        self._key = self._load_key()
        head = self._read_json(self.directory / "head.json") or self._read_json(self.directory / "anchor.json") or {}
        self._seq = int(head.get("seq", 0))
        self._prev = str(head.get("hash", GENESIS))

    def patient_ref(self, ins: InsMatricule | str | None) -> str:
        if ins is None:
            return ""
        value = ins.value if isinstance(ins, InsMatricule) else "".join(str(ins).split()).upper()
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:32]

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
            entry = {**body, "hash": _digest(self._prev, body)}
            path = self.directory / f"audit-{moment:%Y-%m-%d}.jsonl"
            line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            self._seq, self._prev = body["seq"], entry["hash"]
            atomic_write(self.directory / "head.json", json.dumps({"seq": self._seq, "hash": self._prev}).encode(), 0o640)
            return entry

    def writable(self, now: datetime | None = None) -> bool:
        """Can an entry be appended now? Opens (creates) today's file without writing: before a patient
        action, so that an action whose entry would be lost is refused rather than done untraced."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        try:
            os.close(os.open(self.directory / f"audit-{moment:%Y-%m-%d}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640))
        except OSError:
            return False
        return True

    def rotate(self, now: datetime | None = None) -> list[str]:
        """Delete whole days older than the retention period; move the anchor to the first day kept."""
        cutoff = (now or datetime.now(UTC)).date() - timedelta(days=self.retention_days)
        removed = []
        with self._lock:
            files = journal_files(self.directory)
            old = [f for f in files if _day(f) is not None and _day(f) < cutoff]  # type: ignore[operator]
            kept = [f for f in files if f not in old]
            if not old:
                return []
            if kept:
                first = next(iter(_entries(kept[0])), None)
                anchor = {"seq": first[1]["seq"] - 1, "hash": first[1]["prev"]} if first else None
            else:
                anchor = {"seq": self._seq, "hash": self._prev}
            if anchor is not None:
                atomic_write(self.directory / "anchor.json", json.dumps(anchor).encode(), 0o640)
            for f in old:
                f.unlink()
                removed.append(f.name)
        return removed

    def _load_key(self) -> bytes:
        path = self.directory / "patient-key"
        try:
            return bytes.fromhex(path.read_text().strip())
        except FileNotFoundError:
            key = secrets.token_bytes(32)
            atomic_write(path, key.hex().encode(), 0o600)
            return key

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text())
            return data if isinstance(data, dict) else None
        except (FileNotFoundError, ValueError):
            return None


def _day(path: Path) -> Any:
    try:
        return datetime.strptime(path.name, "audit-%Y-%m-%d.jsonl").date()
    except ValueError:
        return None


def journal_files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("audit-*.jsonl") if _day(p) is not None)


def _entries(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"_bad": line}
            yield number, entry if isinstance(entry, dict) else {"_bad": line}


def read_entries(directory: Path) -> Iterator[dict[str, Any]]:
    for path in journal_files(directory):
        for _, entry in _entries(path):
            if "_bad" not in entry:
                yield entry


def verify_journal(directory: Path) -> tuple[int, list[AuditProblem]]:
    """Walk the chain from the anchor to the head: (entries checked, problems)."""
    directory = Path(directory)
    anchor = AuditJournal._read_json(directory / "anchor.json") or {"seq": 0, "hash": GENESIS}
    head = AuditJournal._read_json(directory / "head.json")
    seq, prev = int(anchor.get("seq", 0)), str(anchor.get("hash", GENESIS))
    problems: list[AuditProblem] = []
    count = 0
    last_file, last_line = "", 0
    for path in journal_files(directory):
        for number, entry in _entries(path):
            count += 1
            last_file, last_line = path.name, number
            if "_bad" in entry:
                problems.append(AuditProblem(path.name, number, "ligne illisible (JSON invalide)"))
                continue
            body = {k: v for k, v in entry.items() if k != "hash"}
            if entry.get("seq") != seq + 1:
                problems.append(AuditProblem(path.name, number, f"numéro {entry.get('seq')} au lieu de {seq + 1} : entrée supprimée ou insérée"))
            if entry.get("prev") != prev:
                problems.append(AuditProblem(path.name, number, "chaînage rompu : l'entrée précédente a été supprimée ou modifiée"))
            if _digest(str(entry.get("prev", "")), body) != entry.get("hash"):
                problems.append(AuditProblem(path.name, number, "empreinte invalide : entrée modifiée"))
            seq, prev = int(entry.get("seq", seq + 1)), str(entry.get("hash", ""))
    if head is not None and (head.get("seq") != seq or head.get("hash") != prev):
        problems.append(AuditProblem(last_file or "head.json", last_line,
                                     f"le journal s'arrête à l'entrée {seq} mais la dernière écrite est la {head.get('seq')} : entrées de fin supprimées"))
    return count, problems
