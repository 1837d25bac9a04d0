"""The audit journal: hash chain, tamper detection, rotation, keyed patient references."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from kiosk.appliance.service.audit import AuditJournal, read_entries, verify_journal
from kiosk.domain.ins import parse_matricule

INS = parse_matricule("297022A02077878")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def fill(tmp_path, days: int = 3, per_day: int = 3) -> AuditJournal:
    j = AuditJournal(tmp_path, retention_days=30)
    for d in range(days):
        for i in range(per_day):
            j.record("insi_call", "CR 00", staff="3760021832/000000018", ins=INS, now=T0 + timedelta(days=d, minutes=i))
    return j


def test_chain_verifies_and_never_holds_the_ins(tmp_path) -> None:
    fill(tmp_path)
    count, problems = verify_journal(tmp_path)
    assert count == 9 and problems == []
    text = "".join(p.read_text() for p in tmp_path.glob("audit-*.jsonl"))
    assert "297022A020778" not in text and "2970" not in text
    assert (tmp_path / "patient-key").stat().st_mode & 0o077 == 0


def test_patient_reference_is_keyed_and_stable(tmp_path) -> None:
    j = fill(tmp_path)
    again = AuditJournal(tmp_path)
    assert again.patient_ref(INS) == j.patient_ref("297022A02077878") == next(read_entries(tmp_path))["patient"]
    assert AuditJournal(tmp_path / "other").patient_ref(INS) != j.patient_ref(INS)


def test_reopened_journal_continues_the_chain(tmp_path) -> None:
    fill(tmp_path, days=1)
    AuditJournal(tmp_path).record("desk_opened", "ok", staff="x", now=T0 + timedelta(hours=1))
    assert verify_journal(tmp_path) == (4, [])


def _lines(path):
    return path.read_text().splitlines(keepends=True)


def test_removed_altered_inserted_and_truncated_entries_are_detected(tmp_path) -> None:
    fill(tmp_path)
    day2 = sorted(tmp_path.glob("audit-*.jsonl"))[1]
    original = day2.read_text()
    lines = _lines(day2)
    day2.write_text(lines[0] + lines[2])  # removed
    assert any("supprimée" in p.message for p in verify_journal(tmp_path)[1])
    entry = json.loads(lines[1])
    entry["outcome"] = "CR 01"
    day2.write_text(lines[0] + json.dumps(entry) + "\n" + lines[2])  # altered
    assert any("modifiée" in p.message for p in verify_journal(tmp_path)[1])
    day2.write_text(original + "not json\n")
    assert any("illisible" in p.message for p in verify_journal(tmp_path)[1])
    day3 = sorted(tmp_path.glob("audit-*.jsonl"))[2]
    day2.write_text(original)
    day3.write_text("".join(_lines(day3)[:-1]))  # the last entry cut off
    assert any("fin supprimées" in p.message for p in verify_journal(tmp_path)[1])


def test_rotation_keeps_the_rest_verifiable(tmp_path) -> None:
    j = fill(tmp_path, days=5)
    j.retention_days = 3  # days 0 and 1 have 3 or more journal days after them; day 2 has only 2
    removed = j.rotate(now=T0 + timedelta(days=32))
    assert removed == ["audit-2026-11-01.jsonl", "audit-2026-11-02.jsonl"]
    assert verify_journal(tmp_path) == (9, [])
    j.record("desk_locked", "ok", now=T0 + timedelta(days=32))
    assert verify_journal(tmp_path) == (10, [])
    # deleting a whole kept day is still seen
    min(tmp_path.glob("audit-*.jsonl")).unlink()
    assert verify_journal(tmp_path)[1]


# ---- attack pass (issue 14, point 5) ------------------------------------------------------------------------------
def test_a_clock_two_years_ahead_deletes_nothing(tmp_path) -> None:
    j = fill(tmp_path, days=5)
    j.record("desk_opened", "ok", now=T0 + timedelta(days=730))  # the clock jumped
    assert j.rotate(now=T0 + timedelta(days=730)) == []
    assert verify_journal(tmp_path) == (16, [])


def test_a_clock_stepped_back_is_no_tampering(tmp_path) -> None:
    j = fill(tmp_path, days=3)
    j.record("desk_opened", "ok", now=T0 - timedelta(days=40))  # an earlier day file, later in the sequence
    j.record("desk_locked", "ok", now=T0 + timedelta(days=2, hours=1))
    assert verify_journal(tmp_path) == (11, [])
    assert [e["seq"] for e in read_entries(tmp_path)] == list(range(1, 12))


def test_malformed_journal_files_give_verdicts_not_tracebacks(tmp_path) -> None:
    fill(tmp_path, days=2)
    day = sorted(tmp_path.glob("audit-*.jsonl"))[1]
    lines = day.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[0])
    entry["seq"] = "quatre"
    day.write_bytes(json.dumps(entry).encode() + b"\n" + b"\xff\xfe\x00binaire\n" + b"".join(lines[1:]))
    (tmp_path / "audit-2026-10-01.jsonl").mkdir()  # a directory named like a day
    _count, problems = verify_journal(tmp_path)
    messages = " | ".join(p.message for p in problems)
    assert "numéro d'entrée invalide" in messages and "non UTF-8" in messages and "fichier illisible" in messages
    assert "supprimée ou insérée" in messages  # the entry whose seq was rewritten is missing from the chain


def test_a_damaged_head_opens_a_new_segment_and_the_service_starts(tmp_path) -> None:
    fill(tmp_path, days=1)
    (tmp_path / "head.json").write_text('{"seq": "x", "hash": 12}')
    j = AuditJournal(tmp_path, retention_days=30)  # no exception: the service starts
    assert j.segment_reason and "endommagée" in j.segment_reason
    j.record("desk_opened", "ok", now=T0 + timedelta(hours=1))
    count, problems = verify_journal(tmp_path)
    assert count == 5 and [p.message for p in problems if "segment" in p.message]
    assert not [p for p in problems if "supprimée" in p.message or "modifiée" in p.message]
    assert AuditJournal(tmp_path).segment_reason == ""  # the next start finds a sound head


def test_cutting_entries_off_the_end_and_head_is_seen_at_next_start(tmp_path) -> None:
    fill(tmp_path, days=1)
    day = next(tmp_path.glob("audit-*.jsonl"))
    day.write_bytes(b"".join(day.read_bytes().splitlines(keepends=True)[:2]))
    j = AuditJournal(tmp_path)
    assert "différente" in j.segment_reason
    assert any("segment" in p.message for p in verify_journal(tmp_path)[1])
