"""The organisation certificate: PKCS#12 opened with `cryptography`, the key held in memory only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.errors import ConfigError
from kiosk.sim.pki import generate_pki
from kiosk.tlsclient import client_ssl_context, load_identity, read_password


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    return generate_pki(tmp_path_factory.mktemp("pki"))


def _files(*dirs: str) -> set[str]:
    out: set[str] = set()
    for d in dirs:
        if os.path.isdir(d):
            for root, _, names in os.walk(d):
                out.update(os.path.join(root, n) for n in names)
    return out


def test_pkcs12_opens_and_the_key_never_touches_a_filesystem(pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    identity = load_identity(str(pki.auth.pkcs12), str(pki.auth.password_file), "", "insi.pkcs12")
    assert identity.subject_cn == "INSI-AUTO" and identity.chain
    watched = [str(tmp_path), "/tmp", "/dev/shm", os.environ.get("XDG_RUNTIME_DIR", "/run/user/0")]
    before, fds_before = _files(*watched), set(os.listdir("/proc/self/fd"))
    context = client_ssl_context(identity, str(pki.ca_bundle))
    assert _files(*watched) == before  # nothing written anywhere we can see
    assert set(os.listdir("/proc/self/fd")) <= fds_before  # the memory file is closed
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname


def test_wrong_password_missing_file_and_no_key_are_config_errors(pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mot de passe incorrect"):
        load_identity(str(pki.auth.pkcs12), "", "not-the-password", "insi.pkcs12")
    with pytest.raises(ConfigError, match="insi.pkcs12 : fichier PKCS#12 illisible"):
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
