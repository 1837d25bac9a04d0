"""The audit journal's HMAC key (issue 14, point 6): read from the systemd credential when the service has one,
never silently empty or new once the journal has entries, sealed (migration) without changing its value.

Sealing runs Debian's real `systemd-creds` (systemd 252) on a private host (`tests/support/hostkey.py`): its host
key /var/lib/systemd/credential.secret and /etc/kiosk live in the test's directories, not on the machine; no TPM2
here, so `--with-key=auto` binds to the host key."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.appliance.service.audit import AuditJournal
from kiosk.appliance.service.auditkey import AuditKeyError
from kiosk.domain.ins import parse_matricule
from tests.support import hostkey

ROOT = Path(__file__).resolve().parents[2]
INS = parse_matricule("297022A02077878")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
KEY = "ab" * 32
CRED = "/etc/kiosk/audit-key.cred"


def test_the_service_credential_is_the_key(tmp_path, monkeypatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "kiosk-audit-key").write_text(KEY)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    j = AuditJournal(tmp_path / "audit")
    assert not (tmp_path / "audit" / "patient-key").exists()  # nothing in the clear beside the journal
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


def _private_host(directory: Path, tmpfs: bool = False) -> hostkey.PrivateHost:
    reason = hostkey.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return hostkey.PrivateHost(directory, tmpfs=tmpfs)


class Kiosk:
    """The kiosk's commands on the private host, as root (the technician, `kiosk-firstboot`) or as the service."""

    def __init__(self, host: hostkey.PrivateHost, state: Path) -> None:
        self.host, self.state, self.audit = host, state, state / "audit"
        state.mkdir(exist_ok=True)
        config = state / "kiosk.toml"
        config.write_text(f'state_dir = "{state}"\n')
        self.env = {k: v for k, v in os.environ.items() if k not in ("CREDENTIALS_DIRECTORY", "JOURNAL_STREAM")}
        self.env["KIOSK_CONFIG"] = str(config)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self.host.run([sys.executable, "-m", "kiosk", *args], env=self.env, cwd=str(ROOT))
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def creds(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.host.run(["systemd-creds", *args], env=self.env)

    def service_records(self) -> subprocess.CompletedProcess[str]:
        """What the unit does: PID 1 decrypts the credential (LoadCredentialEncrypted=) into a private directory,
        then the service reads $CREDENTIALS_DIRECTORY/kiosk-audit-key and journals a patient action."""
        creds = self.state / "credentials"
        creds.mkdir(mode=0o700, exist_ok=True)
        decrypted = self.creds("decrypt", "--name=kiosk-audit-key", CRED, str(creds / "kiosk-audit-key"))
        if decrypted.returncode != 0:
            return decrypted
        write = ("import sys, pathlib; from kiosk.appliance.service.audit import AuditJournal; "
                 "from kiosk.domain.ins import parse_matricule; AuditJournal(pathlib.Path(sys.argv[1]))"
                 ".record('insi_call', 'CR 00', ins=parse_matricule(sys.argv[2]))")
        return self.host.run([sys.executable, "-c", write, str(self.audit), INS.value],
                             env=dict(self.env, CREDENTIALS_DIRECTORY=str(creds)), cwd=str(ROOT))

    def found_by_ins(self) -> bool:
        """`kiosk audit show --ins` from a technician's shell: it decrypts /etc/kiosk/audit-key.cred itself."""
        done = self.cli("audit", "show", "--ins", INS.value)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        return done.returncode == 0 and "insi_call" in done.stdout


def test_first_boot_seals_a_new_key_with_the_real_systemd_creds(tmp_path) -> None:
    host = _private_host(tmp_path / "host")
    kiosk = Kiosk(host, tmp_path / "state")
    done = kiosk.cli("audit", "seal-key", "--generate")
    assert done.returncode == 0 and "scellée" in done.stdout, done.stdout + done.stderr
    sealed = host.etc_kiosk / "audit-key.cred"
    assert (sealed.stat().st_mode & 0o777) == 0o600 and not (kiosk.audit / "patient-key").exists()
    assert (host.host_key.stat().st_mode & 0o777) == 0o400  # made by systemd-creds on first use
    key = kiosk.creds("decrypt", "--name=kiosk-audit-key", CRED, "-")
    assert key.returncode == 0 and len(bytes.fromhex(key.stdout)) == 32, key.stderr
    assert key.stdout.encode() not in sealed.read_bytes()  # encrypted, not merely encoded
    assert kiosk.creds("decrypt", "--name=another", CRED, "-").returncode != 0  # the name is sealed in
    written = kiosk.service_records()
    assert written.returncode == 0, written.stderr
    assert not (kiosk.audit / "patient-key").exists()
    assert kiosk.found_by_ins()  # the technician's shell decrypts the same key
    again = kiosk.cli("audit", "seal-key", "--generate")  # first boot run twice: the sealed key stays
    assert again.returncode == 0 and "déjà scellée" in again.stdout, again.stdout + again.stderr
    assert kiosk.creds("decrypt", "--name=kiosk-audit-key", CRED, "-").stdout == key.stdout


def test_migration_seals_the_same_key_then_deletes_the_clear_copy(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    host = _private_host(tmp_path / "host")
    kiosk = Kiosk(host, tmp_path / "state")
    AuditJournal(kiosk.audit).record("insi_call", "CR 00", ins=INS, now=T0)  # an older kiosk: key in the clear
    clear = (kiosk.audit / "patient-key").read_text()
    done = kiosk.cli("audit", "seal-key")
    assert done.returncode == 0 and "copie en clair supprimée" in done.stdout, done.stdout + done.stderr
    assert not (kiosk.audit / "patient-key").exists()
    assert kiosk.creds("decrypt", "--name=kiosk-audit-key", CRED, "-").stdout == clear
    assert kiosk.found_by_ins()  # entries written before the migration are still found by INS
    nothing = kiosk.cli("audit", "seal-key", "--generate", "--out", str(tmp_path / "other.cred"))
    assert nothing.returncode == 2 and "le journal a des entrées" in nothing.stderr, nothing.stderr


def test_a_damaged_credential_or_another_host_key_is_refused_in_french(tmp_path) -> None:
    host = _private_host(tmp_path / "host")
    kiosk = Kiosk(host, tmp_path / "state")
    assert kiosk.cli("audit", "seal-key", "--generate").returncode == 0
    assert kiosk.service_records().returncode == 0
    sealed = host.etc_kiosk / "audit-key.cred"
    good = sealed.read_bytes()
    middle = next(i for i in range(len(good) // 2, len(good)) if chr(good[i]).isalnum())
    altered = good[:middle] + (b"B" if good[middle:middle + 1] == b"A" else b"A") + good[middle + 1:]
    for content in (altered, good[: len(good) // 2], b""):  # one base64 letter of the payload, cut, emptied
        sealed.write_bytes(content)
        done = kiosk.cli("audit", "show", "--ins", INS.value)
        assert done.returncode == 2 and "déchiffrement refusé" in done.stderr, done.stdout + done.stderr
        assert kiosk.service_records().returncode != 0  # nor would the unit get its credential
    sealed.write_bytes(good)
    assert kiosk.found_by_ins()
    host.host_key.unlink()  # a re-imaged kiosk: a new host key, the old credential no longer opens
    assert kiosk.creds("encrypt", "--name=x", "--with-key=host", "-", "-").returncode == 0
    done = kiosk.cli("audit", "show", "--ins", INS.value)
    assert done.returncode == 2 and "déchiffrement refusé" in done.stderr, done.stdout + done.stderr


def test_a_host_key_on_a_temporary_file_system_is_refused(tmp_path, monkeypatch) -> None:
    """A host key on tmpfs would be gone at the next boot, and the journal's key with it: systemd-creds refuses it
    (`--with-key=auto` without a TPM2); seal-key says so (exit 2) and keeps the clear copy."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    kiosk = Kiosk(_private_host(tmp_path / "host", tmpfs=True), tmp_path / "state")
    AuditJournal(kiosk.audit).record("insi_call", "CR 00", ins=INS, now=T0)
    done = kiosk.cli("audit", "seal-key")
    assert done.returncode == 2 and "scellement refusé par systemd-creds" in done.stderr, done.stderr
    assert (kiosk.audit / "patient-key").exists()
