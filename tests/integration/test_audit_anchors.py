"""The audit chain anchored outside the state directory (issue 14, point 5).

These machines have no systemd as PID 1: a stand-in journal socket (a Unix datagram socket speaking journald's
native protocol, `FIELD=value` lines) records what the kiosk sends, as `journalctl -o json` would give it back;
`kiosk audit verify --anchors FILE` then checks the state directory against it. The opt-in qemu boot is where
the real journald takes its place."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.service.anchor import JournalAnchor, read_anchors
from kiosk.service.audit import AuditJournal, chain_digest, verify_anchors

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class StandInJournal:
    """Receives native-protocol datagrams and keeps them as journalctl's JSON lines in `self.file`."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "journal.socket"
        self.file = directory / "journal.json"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.count = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            record = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self.file.open("a") as f:
                f.write(json.dumps(record) + "\n")
            with self.cond:
                self.count += 1
                self.cond.notify_all()

    def wait(self, count: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.count >= count, 60), "anchors not received"


@pytest.fixture
def anchored(tmp_path):
    journal = StandInJournal(tmp_path)
    audit = tmp_path / "audit"
    j = AuditJournal(audit, retention_days=2, anchor=JournalAnchor(str(journal.path)))
    for d in range(4):
        for i in range(3):
            j.record("insi_call", "CR 00", staff="x", now=T0 + timedelta(days=d, minutes=i))
    journal.wait(12)
    yield j, audit, journal
    journal.sock.close()


def _findings(audit: Path, journal: StandInJournal) -> tuple[list[str], str]:
    problems, note = verify_anchors(audit, read_anchors(str(journal.file)))
    return [p.message for p in problems], note


def test_an_intact_journal_matches_its_anchors(anchored) -> None:
    _, audit, journal = anchored
    assert _findings(audit, journal) == ([], "")


def test_truncation_with_head_rewritten_is_seen(anchored) -> None:
    _, audit, journal = anchored
    last = max(audit.glob("audit-*.jsonl"))
    kept = last.read_bytes().splitlines(keepends=True)[:1]
    last.write_bytes(b"".join(kept))
    entry = json.loads(kept[0])
    (audit / "head.json").write_text(json.dumps({"seq": entry["seq"], "hash": entry["hash"]}))
    findings, _ = _findings(audit, journal)
    assert any("troncature" in f for f in findings)


def test_a_rechained_forgery_is_seen(anchored) -> None:
    """The attacker rewrites an entry and recomputes every hash after it, and head.json: the chain alone
    verifies, the anchors do not."""
    from kiosk.service.audit import read_entries, verify_journal

    _, audit, journal = anchored
    entries = list(read_entries(audit))
    entries[4]["outcome"] = "CR 01"
    prev = entries[3]["hash"]
    for e in entries[4:]:
        e["prev"] = prev
        body = {k: v for k, v in e.items() if k != "hash"}
        e["hash"] = prev = chain_digest(prev, body)
    for path in audit.glob("audit-*.jsonl"):
        path.unlink()
    for e in entries:
        with (audit / f"audit-{e['time'][:10]}.jsonl").open("a") as f:
            f.write(json.dumps(e, sort_keys=True) + "\n")
    (audit / "head.json").write_text(json.dumps({"seq": entries[-1]["seq"], "hash": entries[-1]["hash"]}))
    assert verify_journal(audit)[1] == []  # the forgery is self-consistent
    findings, _ = _findings(audit, journal)
    assert any("falsification" in f for f in findings)


def test_deleted_day_file_is_seen(anchored) -> None:
    _, audit, journal = anchored
    sorted(audit.glob("audit-*.jsonl"))[1].unlink()
    assert any("supprimé" in f for f in _findings(audit, journal)[0])


def test_a_forged_anchor_json_is_seen(anchored) -> None:
    _, audit, journal = anchored
    first = min(audit.glob("audit-*.jsonl"))
    entries = [json.loads(line) for line in sorted(audit.glob("audit-*.jsonl"))[1].read_text().splitlines()]
    first.unlink()  # hide the first day, and make anchor.json start after it
    (audit / "anchor.json").write_text(json.dumps({"seq": entries[0]["seq"] - 1, "hash": entries[0]["prev"]}))
    assert any("anchor.json" in f for f in _findings(audit, journal)[0])


def test_real_rotation_is_anchored(tmp_path) -> None:
    journal = StandInJournal(tmp_path)
    audit = tmp_path / "audit"
    j = AuditJournal(audit, retention_days=2, anchor=JournalAnchor(str(journal.path)))
    for d in range(5):
        j.record("insi_call", "CR 00", staff="x", now=T0 + timedelta(days=d))
    assert j.rotate(now=T0 + timedelta(days=30))
    journal.wait(6)
    assert _findings(audit, journal) == ([], "")
    journal.sock.close()


def test_anchors_unavailable_is_not_tampering(tmp_path) -> None:
    """A volatile or vacuumed journal: no anchors from some point on. Verify says so, and finds nothing wrong."""
    audit = tmp_path / "audit"
    j = AuditJournal(audit, anchor=JournalAnchor(str(tmp_path / "absent.socket")))
    j.record("desk_opened", "ok", staff="x", now=T0)
    assert j.anchor is not None and j.anchor.unavailable_since is not None
    (tmp_path / "none.json").write_text("")
    problems, note = verify_anchors(audit, read_anchors(str(tmp_path / "none.json")))
    assert problems == [] and note.startswith("ancrage indisponible depuis 2026-11-01")


def test_cli_verify_with_anchors(anchored, run_kiosk, tmp_path) -> None:
    _, audit, journal = anchored
    config = tmp_path / "kiosk.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n')
    ok = run_kiosk("audit", "verify", "--anchors", str(journal.file), config=config)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    max(audit.glob("audit-*.jsonl")).unlink()
    (audit / "head.json").unlink()
    bad = run_kiosk("audit", "verify", "--anchors", str(journal.file), config=config)
    assert bad.returncode == 1 and "ancrage" in bad.stdout and "Traceback" not in bad.stderr


def test_anchors_also_go_to_a_tls_syslog_collector(tmp_path, pki) -> None:
    """The optional RFC 5424 over TLS (RFC 5425 framing) copy of every anchor, to a loopback collector that
    presents the test PKI's server certificate."""
    import ssl

    from kiosk.service.anchor import Anchors, SyslogAnchor

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []
    done = threading.Event()

    def collect() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            data = b""
            while len(received) < 3:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
                while b" " in data:
                    size, _, rest = data.partition(b" ")
                    if len(rest) < int(size):
                        break
                    received.append(rest[: int(size)])
                    data = rest[int(size):]
        done.set()

    threading.Thread(target=collect, daemon=True).start()
    syslog = SyslogAnchor(f"127.0.0.1:{listener.getsockname()[1]}", str(pki.ca_bundle))
    j = AuditJournal(tmp_path / "audit", anchor=Anchors(syslog))
    for i in range(3):
        j.record("desk_opened", "ok", now=T0 + timedelta(minutes=i))
    assert done.wait(60)
    assert all(m.startswith(b"<110>1 ") and b"kiosk-audit@32473" in m for m in received)
    assert [int(m.split(b'seq="')[1].split(b'"')[0]) for m in received] == [1, 2, 3]
    listener.close()
    syslog.close()
