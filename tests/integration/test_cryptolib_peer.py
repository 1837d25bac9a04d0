"""The official ANS Cryptolib CPS 5.2.2 (../shared/peers/, a PKCS#11 library derived from OpenSC) reads every
virtual CPx card of the project through pcscd + vpcd, as it would read real cards on a workstation: the peer that
proves the virtual cards behave like real ones (what the project's own reader and the simulators could otherwise
agree on wrongly together).

The library keeps its configuration under /etc/opt/santesocial and its traces and cache under /var/opt/santesocial:
each read runs in a private mount namespace where both are tmpfs, the RPM's default configuration copied in (traces
switched on: they are attached to a failure).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.sim.pki import holder_certificate
from drivers.sim.readers.vpcd import VpcdCard
from drivers.sim.virtual_cards import catalogue as cards
from drivers.sim.virtual_cards.cpx_card import VirtualCpx
from tests.integration.pcsc_support import wait_empty

pytestmark = [pytest.mark.pcscd, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RPM_NAME = "CryptolibCPS-5.2.2-1.x86_64.rpm"
LIBRARY = "opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so"
CLIENT = ROOT / "tests" / "support" / "cryptolib_client.py"
TRACES = "Traces\n{\n\tactive = true;\n\tdebug = 3;\n}\n"

# namespace script: $1 extracted RPM root, $2 where to copy the traces; the rest is the client's command line
NAMESPACE_SCRIPT = r"""
set -e
root="$1"; traces="$2"; shift 2
mount -t tmpfs kiosk-etc-opt /etc/opt
mount -t tmpfs kiosk-var-opt /var/opt
cp -a "$root/etc/opt/santesocial" /etc/opt/
mkdir -p /var/opt/santesocial
printf '%s' "$CRYPTOLIB_TRACES" > /etc/opt/santesocial/CPS/cps3_pkcs11.conf
rc=0
"$@" || rc=$?
cp -r /var/opt/santesocial "$traces" 2>/dev/null || true
exit $rc
"""


def _rpm_candidates() -> list[Path]:
    env = os.environ.get("KIOSK_CRYPTOLIB_RPM")
    return [Path(env)] if env else [up / "shared" / "peers" / RPM_NAME for up in ROOT.parents]


@pytest.fixture(scope="module")
def cryptolib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RPM's files, extracted with Debian's rpm2cpio + cpio."""
    if os.uname().machine != "x86_64":
        pytest.skip("the Cryptolib is built for x86_64 only")
    rpm = next((p for p in _rpm_candidates() if p.exists()), None)
    if rpm is None:
        pytest.skip("the Cryptolib RPM (../shared/peers/) is not on this machine")
    missing = [tool for tool in ("rpm2cpio", "cpio", "unshare") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (./run installs them as root)")
    if os.geteuid() != 0:
        pytest.skip("mounting tmpfs on /etc/opt and /var/opt in a private namespace needs root")
    pytest.importorskip("PyKCS11")
    if not (Path("/etc/opt").is_dir() and Path("/var/opt").is_dir()):
        pytest.skip("/etc/opt or /var/opt missing (mount points of the private tmpfs)")
    root = tmp_path_factory.mktemp("cryptolib")
    payload = subprocess.run(["rpm2cpio", str(rpm)], capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=payload, cwd=root, check=True, capture_output=True)
    assert (root / LIBRARY).exists()
    return root


@pytest.fixture
def vpcd():
    inserted: list[VpcdCard] = []

    def insert(card) -> VpcdCard:
        v = VpcdCard(card, port=35963)
        v.insert()
        assert v.wait_until_served(20)
        inserted.append(v)
        return v

    yield insert
    for v in inserted:
        v.remove()
    wait_empty(0, timeout=20)


def _read_with_cryptolib(root: Path, traces: Path, wrong: str, right: str) -> dict:
    env = dict(os.environ, CRYPTOLIB_TRACES=TRACES)
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", NAMESPACE_SCRIPT, "sh", str(root),
           str(traces), sys.executable, str(CLIENT), str(root / LIBRARY), wrong, right]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=240, env=env)
    if done.returncode != 0:
        logs = "\n".join(p.read_text(errors="replace")[-4000:] for p in traces.rglob("*.log"))
        pytest.fail(f"the Cryptolib client failed ({done.returncode}): {done.stderr[-2000:]}\n{logs}")
    return json.loads(done.stdout.strip().splitlines()[-1])


PROFILES = [("cps", "medecin"), ("cps", "gip"), ("cpe", "accueil"), ("cpe", "service"), ("cpf", "interne"),
            ("cps4", "accueil"), ("cps4", "rc"), ("cps4", "t0")]


@pytest.mark.parametrize("kind,profile", PROFILES, ids=[f"{k}-{p}" for k, p in PROFILES])
def test_cryptolib_reads_the_virtual_card(
    cryptolib: Path, vpcd, pcscd, tmp_path: Path, kind: str, profile: str
) -> None:
    card = cards.make_card(kind, profile)
    assert isinstance(card, VirtualCpx)
    served = vpcd(card)
    seen = _read_with_cryptolib(cryptolib, tmp_path / "traces", "0000", card.pin)
    tokens = [t for t in seen["tokens"] if t["reader"].startswith("Virtual PCD 00 00")]
    assert len(tokens) == 1, (seen, [a.hex() for _, a in served.apdus])
    token = tokens[0]
    assert token["serial"] == card.serial and token["model"] == "IAS ECC"
    labels = {c["label"]: bytes.fromhex(c["der"]) for c in token["certificates"]}
    assert labels["Certificat d'Authentification CPS"] == holder_certificate(card.holder)
    assert "Certificat de Signature CPS" in labels
    assert token["wrong_pin"] == "CKR_PIN_INCORRECT" and token["right_pin"] == "CKR_OK"
    assert card.tries_left == 3  # the right PIN reset the counter the wrong one spent


def test_cryptolib_reads_the_contactless_cps3(cryptolib: Path, vpcd, pcscd, tmp_path: Path) -> None:
    card = cards.test_cps_contactless()
    vpcd(card)
    seen = _read_with_cryptolib(cryptolib, tmp_path / "traces", "0000", card.pin)
    token = next(t for t in seen["tokens"] if t["reader"].startswith("Virtual PCD 00 00"))
    assert token["serial"] == card.serial
    assert [c["label"] for c in token["certificates"]] == ["Certificat Technique CPS"]
    assert "CKF_LOGIN_REQUIRED" not in token["flags"]  # no PIN on the contactless interface
    assert token["right_pin"] == "CKR_USER_PIN_NOT_INITIALIZED"
