"""The audit chain anchored outside the state directory (issue 14, point 5).

Every scenario runs against Debian's real systemd-journald (a private daemon per test, `tests/support/journald.py`:
the kiosk sends to its native socket, the anchors come back through the real `journalctl -o json`), and against a
stand-in socket that keeps the datagrams as journalctl's JSON lines (the same checks where journald cannot run: not
root). `kiosk audit verify` then checks the state directory against them. The last tests are journald's own: a
vacuumed journal, and the service's default socket and `journalctl` as on a kiosk."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.appliance.service.anchor import Anchor, JournalAnchor, read_anchors
from kiosk.appliance.service.audit import AuditJournal, chain_digest, verify_anchors
from tests.support import journald as real

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class StandInJournal:
    """Receives native-protocol datagrams and keeps them as journalctl's JSON lines in `self.file`."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "journal.socket"
        self.file = directory / "journal.json"
        self.source = str(self.file)  # what `audit verify --anchors` reads
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

    def close(self) -> None:
        self.sock.close()


class RealJournal:
    """The same interface on a private systemd-journald: its native socket, its files read by `journalctl -D`."""

    def __init__(self) -> None:
        self.daemon = real.Journald()
        self.daemon.start()
        self.path = self.daemon.socket
        self.source = str(self.daemon.files)

    def wait(self, count: int) -> None:
        self.daemon.wait_records(count, "SYSLOG_IDENTIFIER=kiosk-audit")

    def close(self) -> None:
        self.daemon.stop()


def _journal(kind: str, directory: Path) -> StandInJournal | RealJournal:
    if kind == "stand-in":
        return StandInJournal(directory)
    reason = real.unavailable_reason()
    if reason:
        pytest.skip(reason)
    try:
        return RealJournal()
    except real.CannotStart as e:
        pytest.skip(str(e))


@pytest.fixture(params=["journald", "stand-in"])
def journal(request, tmp_path) -> Iterator[StandInJournal | RealJournal]:
    j = _journal(request.param, tmp_path)
    yield j
    j.close()


@pytest.fixture
def journald() -> Iterator[real.Journald]:
    reason = real.unavailable_reason()
    if reason:
        pytest.skip(reason)
    daemon = real.Journald()
    try:
        daemon.start()
    except real.CannotStart as e:
        pytest.skip(str(e))
    yield daemon
    daemon.stop()


@pytest.fixture
def anchored(journal, tmp_path):
    audit = tmp_path / "audit"
    j = AuditJournal(audit, retention_days=2, anchor=JournalAnchor(str(journal.path)))
    for d in range(4):
        for i in range(3):
            j.record("insi_call", "CR 00", staff="x", now=T0 + timedelta(days=d, minutes=i))
    journal.wait(12)
    return j, audit, journal


def _findings(audit: Path, journal: StandInJournal | RealJournal) -> tuple[list[str], str]:
    problems, note = verify_anchors(audit, read_anchors(journal.source))
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
    from kiosk.appliance.service.audit import read_entries, verify_journal

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


def test_real_rotation_is_anchored(journal, tmp_path) -> None:
    audit = tmp_path / "audit"
    j = AuditJournal(audit, retention_days=2, anchor=JournalAnchor(str(journal.path)))
    for d in range(5):
        j.record("insi_call", "CR 00", staff="x", now=T0 + timedelta(days=d))
    assert j.rotate(now=T0 + timedelta(days=30))
    journal.wait(6)
    assert _findings(audit, journal) == ([], "")


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
    ok = run_kiosk("audit", "verify", "--anchors", journal.source, config=config)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    max(audit.glob("audit-*.jsonl")).unlink()
    (audit / "head.json").unlink()
    bad = run_kiosk("audit", "verify", "--anchors", journal.source, config=config)
    assert bad.returncode == 1 and "ancrage" in bad.stdout and "Traceback" not in bad.stderr


def test_anchors_also_go_to_a_tls_syslog_collector(tmp_path, pki) -> None:
    """The optional RFC 5424 over TLS (RFC 5425 framing) copy of every anchor, to a loopback collector that
    presents the test PKI's server certificate."""
    import ssl

    from kiosk.appliance.service.anchor import Anchors, SyslogAnchor

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


def _verify_inside(daemon: real.Journald, state: Path) -> tuple[int, str]:
    """`kiosk audit verify` in journald's namespace, without --anchors: the real `journalctl` reads the anchors, as
    a technician's verify does on a kiosk."""
    config = state / "kiosk.toml"
    config.write_text(f'state_dir = "{state}"\n')
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    done = daemon.run_inside([sys.executable, "-m", "kiosk", "audit", "verify"],
                             env=dict(env, KIOSK_CONFIG=str(config)), cwd=str(ROOT))
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


# The writer as the service builds it (runtime.py: JournalAnchor() with no path), run in journald's namespace.
WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from kiosk.appliance.service.anchor import JournalAnchor
from kiosk.appliance.service.audit import AuditJournal
j = AuditJournal(__import__("pathlib").Path(sys.argv[1]), anchor=JournalAnchor())
t0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
for d in range(int(sys.argv[2]), int(sys.argv[3])):
    j.record("insi_call", "CR 00", staff="x", now=t0 + timedelta(days=d))
assert j.anchor is not None and j.anchor.unavailable_since is None, "journald refused an anchor"
"""


def _write_inside(daemon: real.Journald, audit: Path, first_day: int, end_day: int) -> None:
    done = daemon.run_inside([sys.executable, "-c", WRITER, str(audit), str(first_day), str(end_day)], cwd=str(ROOT))
    assert done.returncode == 0, done.stderr


def test_the_service_default_socket_and_journalctl_on_the_real_journald(journald, tmp_path) -> None:
    """No path given anywhere: the anchors go to /run/systemd/journal/socket and come back from plain `journalctl`
    (here journald's own, in its namespace), with journald's trusted fields beside the kiosk's."""
    audit = tmp_path / "audit"
    _write_inside(journald, audit, 0, 3)
    records = [json.loads(r) for r in journald.wait_records(3, "SYSLOG_IDENTIFIER=kiosk-audit")]
    assert [r["KIOSK_AUDIT_SEQ"] for r in records] == ["1", "2", "3"]
    assert all(r["_TRANSPORT"] == "journal" and r["_UID"] == str(os.geteuid()) for r in records)
    assert records[0]["MESSAGE"] == "journal d'audit : entrée 1"  # UTF-8 kept as text by journalctl -o json
    assert _verify_inside(journald, tmp_path) == (0, f"{audit} : 3 entrée(s) vérifiée(s)\n  chaîne intacte\n")
    last = max(audit.glob("audit-*.jsonl"))
    last.unlink()
    (audit / "head.json").unlink()
    code, out = _verify_inside(journald, tmp_path)
    assert code == 1 and "troncature" in out, out


def test_a_vacuumed_journal_says_anchors_unavailable_not_tampering(journald, tmp_path) -> None:
    """The journal's older files rotated then vacuumed (`journalctl --vacuum-files`): the older entries have no
    anchors any more. Verify says "ancrage indisponible depuis" the first of them, exit 0; the later ones are
    still checked, and tampering with them is still seen."""
    audit = tmp_path / "audit"
    _write_inside(journald, audit, 0, 2)
    journald.wait_records(2, "SYSLOG_IDENTIFIER=kiosk-audit")
    journald.rotate()
    _write_inside(journald, audit, 2, 4)
    journald.wait_records(4, "SYSLOG_IDENTIFIER=kiosk-audit")
    vacuum = journald.journalctl("--vacuum-files=1")
    assert vacuum.returncode == 0 and "Deleted archived journal" in vacuum.stderr, vacuum.stderr
    assert [json.loads(r)["KIOSK_AUDIT_SEQ"] for r in journald.records("SYSLOG_IDENTIFIER=kiosk-audit")] == ["3", "4"]
    code, out = _verify_inside(journald, tmp_path)
    assert code == 0 and "chaîne intacte" in out and "ancrage indisponible depuis 2026-11-01" in out, out
    last = max(audit.glob("audit-*.jsonl"))
    entry = json.loads(last.read_text())
    last.write_text(json.dumps(dict(entry, outcome="CR 01"), sort_keys=True) + "\n")
    code, out = _verify_inside(journald, tmp_path)
    assert code == 1, out


def test_another_journal_anchored_in_the_same_journald_is_not_tampering(journald, tmp_path) -> None:
    """The system journal outlives state directories: `kiosk demo` on the kiosk, or a test journal, anchors its own
    sequence 1, 2, ... there too. Verify compares the kiosk's chain with its own anchors only (the directory travels
    with each anchor), so another chain's anchors are neither tampering nor hide it."""
    kiosk, demo = tmp_path / "kiosk" / "audit", tmp_path / "demo" / "audit"
    _write_inside(journald, demo, 5, 8)  # other days: other hashes for the same sequence numbers
    _write_inside(journald, kiosk, 0, 3)
    journald.wait_records(6, "SYSLOG_IDENTIFIER=kiosk-audit")
    assert _verify_inside(journald, tmp_path / "kiosk")[0] == 0
    max(kiosk.glob("audit-*.jsonl")).unlink()
    (kiosk / "head.json").unlink()
    code, out = _verify_inside(journald, tmp_path / "kiosk")
    assert code == 1 and "troncature" in out, out


def test_a_value_with_a_newline_uses_the_binary_safe_form(journald) -> None:
    """journald's native protocol: a value holding a newline goes as NAME, its 64-bit length, the bytes (an
    audit directory so named must not cut the anchor into bogus fields)."""
    odd = "/var/lib/kiosk\nKIOSK_AUDIT_SEQ=999/audit"
    assert JournalAnchor(str(journald.socket)).send(1, "2026-11-01", "ab" * 32, directory=odd)
    journald.wait_records(1, "SYSLOG_IDENTIFIER=kiosk-audit")
    assert read_anchors(str(journald.files)) == [Anchor(1, "ab" * 32, "2026-11-01", "head", odd, os.geteuid())]


# Another local user (nobody) sending "anchors" for the kiosk's chain: the system Python, outside /root.
FORGER = """
import socket, sys
fields = {"SYSLOG_IDENTIFIER": "kiosk-audit", "KIOSK_AUDIT_KIND": "head", "KIOSK_AUDIT_SEQ": "2",
          "KIOSK_AUDIT_DAY": "2026-11-02", "KIOSK_AUDIT_HASH": "00" * 32, "KIOSK_AUDIT_DIR": sys.argv[1]}
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto("".join(f"{k}={v}\\n" for k, v in fields.items()).encode(), "/run/systemd/journal/socket")
"""


def test_anchors_sent_by_another_user_are_ignored(journald, tmp_path) -> None:
    """Any local user may send to journald, but journald stamps the sender's uid (_UID): verify keeps the anchors
    of the journal's owner (and root) only, so a forged anchor cannot turn an intact journal into "falsifié"."""
    audit = tmp_path / "audit"
    _write_inside(journald, audit, 0, 3)
    done = journald.run_inside(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                                "-c", FORGER, str(audit.resolve())], cwd="/")
    assert done.returncode == 0, done.stderr
    records = [json.loads(r) for r in journald.wait_records(4, "SYSLOG_IDENTIFIER=kiosk-audit")]
    assert records[-1]["_UID"] == "65534" and records[-1]["KIOSK_AUDIT_HASH"] == "00" * 32
    assert _verify_inside(journald, tmp_path) == (0, f"{audit} : 3 entrée(s) vérifiée(s)\n  chaîne intacte\n")
