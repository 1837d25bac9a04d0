"""The organisation certificate: PKCS#12 opened with `cryptography`, the key held in memory only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from drivers.sim.pki import generate_pki
from kiosk.errors import ConfigError
from kiosk.teleservices.tlsclient import client_ssl_context, load_identity, read_password


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    return generate_pki(tmp_path_factory.mktemp("pki"))


def _holding(secret: bytes, *dirs: str) -> set[str]:
    """Files under `dirs` whose content includes `secret`."""
    out: set[str] = set()
    for d in dirs:
        for root, _, names in os.walk(d):
            for name in names:
                path = os.path.join(root, name)
                try:
                    if os.path.isfile(path) and os.path.getsize(path) < 1_000_000 and secret in Path(path).read_bytes():
                        out.add(path)
                except OSError:
                    continue
    return out


def test_pkcs12_opens_and_the_key_never_touches_a_filesystem(
    pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    identity = load_identity(str(pki.auth.pkcs12), str(pki.auth.password_file), "", "insi.pkcs12")
    assert identity.subject_cn == "INSI-AUTO" and identity.chain
    key_pem = identity.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    secret = key_pem.splitlines()[5]  # one line of the key's base64, as any written copy would hold
    watched = [
        d for d in (str(tmp_path), "/tmp", "/dev/shm", os.environ.get("XDG_RUNTIME_DIR", "")) if d and os.path.isdir(d)
    ]
    fds_before = set(os.listdir("/proc/self/fd"))
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(
        os, "open", lambda path, flags, *a, **k: opened.append(str(path)) or real_open(path, flags, *a, **k)
    )
    context = client_ssl_context(identity, str(pki.ca_bundle))
    monkeypatch.undo()
    assert opened == []  # no file opened from Python: the key went to an anonymous memory file
    assert not _holding(secret, *watched)  # and no copy of it anywhere we can see
    assert set(os.listdir("/proc/self/fd")) <= fds_before  # the memory file is closed
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname


def test_wrong_password_missing_file_and_no_key_are_config_errors(pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mot de passe incorrect"):
        load_identity(str(pki.auth.pkcs12), "", "not-the-password", "insi.pkcs12")
    with pytest.raises(ConfigError, match="insi.pkcs12 : .*illisible"):
        load_identity(str(tmp_path / "absent.p12"), "", "", "insi.pkcs12")
    with pytest.raises(ConfigError, match="fichier de mot de passe illisible"):
        load_identity(str(pki.auth.pkcs12), str(tmp_path / "absent.pass"), "", "insi.pkcs12")
    garbage = tmp_path / "garbage.p12"
    garbage.write_bytes(b"\x30\x82garbage")
    with pytest.raises(ConfigError, match="PKCS#12 illisible"):
        load_identity(str(garbage), "", "", "dmp.pkcs12")
    with pytest.raises(ConfigError, match="ca_bundle"):
        client_ssl_context(None, str(tmp_path / "absent.pem"))


def test_password_file_first_line_wins_over_inline(tmp_path: Path) -> None:
    f = tmp_path / "p"
    f.write_text("secret\nignored\n")
    assert read_password(str(f), "inline", "x") == b"secret"
    assert read_password("", "inline", "x") == b"inline"
    f.write_text("")
    assert read_password(str(f), "inline", "x") == b""
