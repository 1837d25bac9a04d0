"""`kiosk fleet` verbs: the real CLI in a subprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_cli_verbs_with_json_and_exit_codes(tmp_path: Path, run_kiosk: Any) -> None:
    import json

    ws = str(tmp_path / "fleet")
    done = run_kiosk("fleet", "init", "-w", ws, "--root-keys", "2", "--root-threshold", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["versions"] == {"root": 1, "targets": 1, "snapshot": 1, "timestamp": 1}
    assert run_kiosk("fleet", "add-site", "-w", ws, "ch-lyon", "--json").returncode == 0
    done = run_kiosk("fleet", "set", "-w", ws, "--site", "ch-lyon", "--device", "accueil-01", "ui.lock_after_s", "300")
    assert done.returncode == 0 and "accueil-01.toml" in done.stdout
    done = run_kiosk("fleet", "set", "-w", ws, "ui.lock_after_s", "-5", "--json")
    assert done.returncode == 2 and "ui.lock_after_s" in json.loads(done.stdout)["message"]
    done = run_kiosk("fleet", "publish", "-w", ws, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["signed"] == ["targets", "snapshot", "timestamp"]
    assert out["targets"] == ["defaults.toml", "sites/ch-lyon/devices/accueil-01.toml", "sites/ch-lyon/site.toml"]
    assert run_kiosk("fleet", "publish", "-w", str(tmp_path / "nowhere")).returncode == 2


def test_keys_encrypted_with_a_passphrase(tmp_path: Path, run_kiosk: Any) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text("correct horse battery staple\n")
    ws = str(tmp_path / "fleet")
    done = run_kiosk("fleet", "init", "-w", ws, "--passphrase-file", str(secret))
    assert done.returncode == 0, done.stderr
    assert all(b"ENCRYPTED PRIVATE KEY" in p.read_bytes() for p in (tmp_path / "fleet" / "keys").glob("*.pem"))
    done = run_kiosk("fleet", "publish", "-w", ws)
    assert done.returncode == 2 and "phrase de passe" in done.stderr
    secret.write_text("wrong\n")
    done = run_kiosk("fleet", "publish", "-w", ws, "--passphrase-file", str(secret))
    assert done.returncode == 2 and "phrase de passe fausse" in done.stderr
    secret.write_text("correct horse battery staple\n")
    assert run_kiosk("fleet", "publish", "-w", ws, "--passphrase-file", str(secret)).returncode == 0
