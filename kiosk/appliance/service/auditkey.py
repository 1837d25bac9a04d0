"""The audit journal's HMAC key (the patient is named in the journal by HMAC(key, INS)): sealed, not beside it.

Whoever holds the key and a copy of the state directory can test INS values against the journal, so the key
is not kept in the clear next to it. It is a systemd credential, `kiosk-audit-key`, encrypted with
`systemd-creds` (bound to the host key in /var/lib/systemd/credential.secret, or to a TPM2 where present),
stored as /etc/kiosk/audit-key.cred and handed decrypted to the service by `LoadCredentialEncrypted=`
($CREDENTIALS_DIRECTORY/kiosk-audit-key, in memory, readable by the service only). First boot generates it
(`kiosk audit seal-key --generate`), so no image carries one. Older kiosks kept `<state>/audit/patient-key`
in the clear: `kiosk audit seal-key` seals that same key (entries keep matching) and deletes the clear copy.

An empty, short or unreadable key is an error, and so is a missing key once the journal has entries: never
silently an empty key or a new one (which would orphan every entry written before).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

from kiosk.atomicfile import atomic_write
from kiosk.errors import ConfigError

__all__ = ["CREDENTIAL", "SEALED_PATH", "AuditKeyError", "load_key", "seal_key"]

CREDENTIAL = "kiosk-audit-key"
SEALED_PATH = Path("/etc/kiosk/audit-key.cred")  # on the state partition; its key, the host key, is not
KEY_BYTES = 32


class AuditKeyError(ConfigError):
    """The journal's key is missing, empty or unreadable (exit 2: the technician restores or seals it)."""


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise AuditKeyError(f"clé du journal d'audit illisible ({where}) : 64 chiffres hexadécimaux attendus") from None
    if len(key) < KEY_BYTES:
        raise AuditKeyError(f"clé du journal d'audit vide ou trop courte ({where}) : refusée")
    return key


def _credential() -> bytes | None:
    directory = os.environ.get("CREDENTIALS_DIRECTORY", "")
    path = Path(directory) / CREDENTIAL if directory else None
    if path is not None and path.exists():
        return _parse(path.read_text(encoding="ascii", errors="replace"), f"credential {CREDENTIAL}")
    if SEALED_PATH.exists():  # a technician's shell (kiosk audit show --ins): decrypt it here, as root
        try:
            done = subprocess.run(["systemd-creds", "decrypt", f"--name={CREDENTIAL}", str(SEALED_PATH), "-"],
                                  capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise AuditKeyError(f"clé du journal d'audit : systemd-creds indisponible ({e})") from e
        if done.returncode != 0:
            raise AuditKeyError(f"clé du journal d'audit : déchiffrement refusé ({done.stderr.strip()[:200]})")
        return _parse(done.stdout, str(SEALED_PATH))
    return None


def load_key(directory: Path, journal_has_entries: bool) -> bytes:
    sealed = _credential()
    if sealed is not None:
        return sealed
    clear = directory / "patient-key"
    if clear.exists():  # not migrated yet (README: `kiosk audit seal-key`)
        return _parse(clear.read_text(encoding="ascii", errors="replace"), str(clear))
    if journal_has_entries:
        raise AuditKeyError(
            f"clé du journal d'audit introuvable (credential {CREDENTIAL}, {SEALED_PATH} ou {clear}) alors que le "
            "journal a des entrées : restaurez la clé ; une nouvelle clé rendrait ces entrées introuvables par INS")
    key = secrets.token_bytes(KEY_BYTES)  # a journal without entries (demo, tests, an unsealed first start)
    atomic_write(clear, key.hex().encode(), 0o600)
    return key


def seal_key(directory: Path, out: Path = SEALED_PATH, *, generate: bool = False, journal_has_entries: bool) -> str:
    """Seal the key with systemd-creds into `out`; the clear copy is deleted once the sealed one decrypts."""
    clear = directory / "patient-key"
    if clear.exists():
        key = _parse(clear.read_text(encoding="ascii", errors="replace"), str(clear))
    elif generate and not journal_has_entries:
        key = secrets.token_bytes(KEY_BYTES)
    elif out.exists():
        return f"clé déjà scellée dans {out}"
    else:
        raise AuditKeyError(
            f"aucune clé à sceller ({clear} absent){' : le journal a des entrées' if journal_has_entries else ''}"
        )
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        done = subprocess.run(["systemd-creds", "encrypt", f"--name={CREDENTIAL}", "--with-key=auto", "-", str(out)],
                              input=key.hex(), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise AuditKeyError(f"systemd-creds indisponible ({e})") from e
    if done.returncode != 0:
        raise AuditKeyError(f"scellement refusé par systemd-creds ({done.stderr.strip()[:200]})")
    os.chmod(out, 0o600)
    check = subprocess.run(["systemd-creds", "decrypt", f"--name={CREDENTIAL}", str(out), "-"],
                           capture_output=True, text=True, timeout=60, check=False)
    if check.returncode != 0 or check.stdout.strip() != key.hex():
        raise AuditKeyError("la clé scellée ne se relit pas : la copie en clair est conservée")
    if clear.exists():
        clear.unlink()
    return f"clé scellée dans {out} (systemd-creds) ; copie en clair supprimée"
