"""The audit journal's HMAC key (issue 14, point 6): read from the systemd credential when the service has one,
never silently empty or new once the journal has entries, sealed (migration) without changing its value.

`systemd-creds` needs a host key under /var/lib/systemd (not to be created on a build machine): a stand-in
`systemd-creds` on PATH seals by base64 and checks the credential name, enough to drive the migration's
order (seal, decrypt to check, only then delete the clear copy). The real one runs in the qemu boot."""

from __future__ import annotations

import base64
import os
import sys
from datetime import UTC, datetime

import pytest

from kiosk.ins import parse_matricule
from kiosk.service.audit import AuditJournal, has_entries
from kiosk.service.auditkey import AuditKeyError, seal_key

INS = parse_matricule("297022A02077878")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
KEY = "ab" * 32

STAND_IN = f"""#!{sys.executable}
import base64, sys
verb, name, src, dst = sys.argv[1], sys.argv[2], sys.argv[-2], sys.argv[-1]
assert name == "--name=kiosk-audit-key", name
if verb == "encrypt":
    open(dst, "wb").write(b"SEALED:" + base64.b64encode(sys.stdin.read().encode()))
else:
    data = open(src, "rb").read()
    assert data.startswith(b"SEALED:")
    sys.stdout.write(base64.b64decode(data[7:]).decode())
"""


def test_the_service_credential_is_the_key(tmp_path, monkeypatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "kiosk-audit-key").write_text(KEY)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    j = AuditJournal(tmp_path / "audit")
    assert not (tmp_path / "audit" / "patient-key").exists()  # nothing in the clear beside the journal
    import hashlib
    import hmac

    assert j.patient_ref(INS) == hmac.new(bytes.fromhex(KEY), INS.value.encode(), hashlib.sha256).hexdigest()[:32]


@pytest.mark.parametrize("content", ["", "   \n", "abcd", "zz" * 32])
def test_an_empty_or_bad_credential_is_an_error(tmp_path, monkeypatch, content: str) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "kiosk-audit-key").write_text(content)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    with pytest.raises(AuditKeyError):
        AuditJournal(tmp_path / "audit")


def test_a_lost_key_with_entries_is_an_error_not_a_new_key(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    j = AuditJournal(tmp_path)
    j.record("desk_opened", "ok", now=T0)
    (tmp_path / "patient-key").unlink()
    with pytest.raises(AuditKeyError, match="introuvable"):
        AuditJournal(tmp_path)
    assert not (tmp_path / "patient-key").exists()


def test_migration_seals_the_same_key_then_deletes_the_clear_copy(tmp_path, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "systemd-creds"
    tool.write_text(STAND_IN)
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    audit = tmp_path / "audit"
    j = AuditJournal(audit)
    j.record("insi_call", "CR 00", ins=INS, now=T0)
    before = j.patient_ref(INS)
    sealed = tmp_path / "etc" / "audit-key.cred"
    message = seal_key(audit, sealed, journal_has_entries=has_entries(audit))
    assert "scellée" in message and not (audit / "patient-key").exists()
    assert sealed.read_bytes().startswith(b"SEALED:") and (sealed.stat().st_mode & 0o777) == 0o600
    clear = base64.b64decode(sealed.read_bytes()[7:]).decode()
    creds = tmp_path / "creds"  # what LoadCredentialEncrypted= hands the service
    creds.mkdir()
    (creds / "kiosk-audit-key").write_text(clear)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert AuditJournal(audit).patient_ref(INS) == before  # existing entries still found by INS
    with pytest.raises(AuditKeyError):  # nothing left to seal, and no new key over a journal with entries
        seal_key(audit, tmp_path / "other.cred", generate=True, journal_has_entries=True)
