"""`kiosk provision`: a provisioning file or French answers -> certificates and kiosk.toml, all validated first.

Certificates come from a throw-away IGC-Santé-shaped CA (drivers/sim/pki.py); every run goes through
the real CLI in a subprocess.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from drivers.sim.pki import ORG_CA_PROD, ORG_CA_TEST, Authority
from kiosk.teleservices.orgcert import open_certificate

TUF_ROOT = {"signed": {"_type": "root", "spec_version": "1.0.31", "version": 1, "keys": {}, "roles": {}},
            "signatures": []}


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority.create(ORG_CA_TEST)


@pytest.fixture
def bootfs(tmp_path: Path, ca: Authority) -> Path:
    """A boot partition as the technician prepares it: provisioning file, certificates, CA bundle, TUF root."""
    boot = tmp_path / "boot"
    boot.mkdir()
    ca.pkcs12_file(boot / "auth.p12", "INSI-AUTO", password="p12-secret")
    ca.pem_files(boot / "signing.pem", boot / "signing.key", "CH DE TEST SIGNATURE")
    (boot / "igc-sante.pem").write_bytes(ca.pem())
    (boot / "root.json").write_text(json.dumps(TUF_ROOT))
    (boot / "config.txt").write_text("# the Pi's own boot configuration, not ours\n")
    write_provisioning(boot)
    return boot


def write_provisioning(boot: Path, **changes: str) -> Path:
    text = textwrap.dedent("""
        environment = "test"
        [site]
        name = "CH de Test, accueil"
        finess = "750712184"
        [lps]
        oid = "1.2.250.1.999.1.1"
        insi_idam = "IDAM-TEST-1"
        dmp_homologation = "HOMOL-TEST-1"
        [certificates]
        auth = "auth.p12"
        auth_password = "p12-secret"
        signing = "signing.pem"
        signing_key = "signing.key"
        ca_bundle = "igc-sante.pem"
        [dmp]
        responsible_idnat = "3750712184/ACCUEIL01"
        responsible_name = "DUPONT Marie"
        [fleet]
        url = "https://flotte.example.org/kiosks"
        trusted_root = "root.json"
        device_id = "accueil-01"
        site_id = "ch-test"
    """)
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    path = boot / "kiosk-provision.toml"
    path.write_text(text)
    return path


def provision(run_kiosk, etc: Path, *args: str, input: str | None = None):
    return run_kiosk("provision", "--json", *args, config=etc / "kiosk.toml", input=input)


def provision_interactively(etc: Path, cwd: Path, answers: str) -> subprocess.CompletedProcess[str]:
    """Answers on stdin, not a tty (the prompts then go to stderr), from the directory holding the files."""
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "provision", "--config", str(etc / "kiosk.toml")],
        input=answers,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=False,
    )


def test_provisioning_file_installs_certificates_and_a_valid_configuration(run_kiosk, tmp_path, bootfs):
    etc = tmp_path / "etc"
    done = provision(run_kiosk, etc, "--from", str(bootfs / "kiosk-provision.toml"))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert {c["role"]: c["cn"] for c in summary["certificates"]} == {
        "auth": "INSI-AUTO",
        "signing": "CH DE TEST SIGNATURE",
    }

    config = tomllib.loads((etc / "kiosk.toml").read_text())
    assert config["environment"] == "test" and config["site"]["finess"] == "750712184"
    assert "certificates" not in config and "fleet" not in config
    assert config["insi"]["pkcs12"] == config["dmp"]["pkcs12"] == str(etc / "certs/auth.p12")
    assert config["insi"]["ca_bundle"] == str(etc / "certs/ca-bundle.pem")
    assert config["dmp"]["signing_pkcs12"] == str(etc / "certs/signing.p12")
    assert (config["dmp"]["responsible_idnat"], config["dmp"]["responsible_name"]) == (
        "3750712184/ACCUEIL01",
        "DUPONT Marie",
    )
    assert config["sync"] == {"enabled": True, "url": "https://flotte.example.org/kiosks", "device_id": "accueil-01",
                              "site_id": "ch-test", "trusted_root": str(etc / "fleet-root.json")}
    assert "p12-secret" not in (etc / "kiosk.toml").read_text()  # fresh passwords, in files
    for role in ("auth", "signing"):
        password = (etc / f"certs/{role}.pass").read_text().strip()
        assert open_certificate(etc / f"certs/{role}.p12", password).issuer_cn == ORG_CA_TEST
    for path in [etc / "kiosk.toml", *(etc / "certs").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    check = run_kiosk("config", "check", config=etc / "kiosk.toml")
    assert check.returncode == 0, check.stdout
    assert (bootfs / "kiosk-provision.toml").exists()  # kept without --remove-source


def test_remove_source_deletes_the_secrets_from_the_boot_partition_only(run_kiosk, tmp_path, bootfs):
    done = provision(run_kiosk, tmp_path / "etc", "--from", str(bootfs / "kiosk-provision.toml"), "--remove-source")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in bootfs.iterdir()) == ["config.txt", "igc-sante.pem", "root.json"]
    assert len(json.loads(done.stdout)["removed"]) == 4


def test_dry_run_validates_and_writes_nothing(run_kiosk, tmp_path, bootfs):
    done = provision(run_kiosk, tmp_path / "etc", "--from", str(bootfs / "kiosk-provision.toml"), "--dry-run")
    assert done.returncode == 0 and json.loads(done.stdout)["dry_run"] is True
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize("change, message", [
    ({'finess = "750712184"': 'finess = "75071218"'}, "site.finess"),
    ({'url = "https://flotte.example.org/kiosks"': 'url = "http://flotte.example.org/kiosks"'}, "fleet.url : URL https://"),
    ({'auth_password = "p12-secret"': 'auth_password = "faux"'}, "mot de passe incorrect"),
    ({'environment = "test"': 'environment = "prod"'}, f"attendu : {ORG_CA_PROD}"),
    ({'signing_key = "signing.key"': 'signing_key = "auth.key"'}, "clé privée"),
    ({'trusted_root = "root.json"': 'trusted_root = "igc-sante.pem"'}, "pas du JSON valide"),
    ({'[lps]': '[insi]\nendpoint = "https://insi example"\n[lps]'}, "insi.endpoint : URL sans nom d'hôte"),
    ({'signing = "signing.pem"': '', 'signing_key = "signing.key"': ''},
     ("certificates.signing : certificat de signature VIHF de l'organisation obligatoire pour le DMP "
      "(ou [dmp] enabled = false pour une borne INSi seule)")),
    ({'responsible_name = "DUPONT Marie"': ''}, "dmp.responsible_name : « NOM Prénom » de la personne responsable"),
    ({'[dmp]': '[dmp]\nenabled = false'}, "certificates.signing : certificat DMP inutile avec [dmp] enabled = false"),
])
def test_bad_input_is_refused_and_the_running_configuration_untouched(run_kiosk, tmp_path, bootfs, ca, change, message):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "kiosk.toml").write_text('environment = "demo"\n')
    ca.pem_files(bootfs / "auth.pem", bootfs / "auth.key", "INSI-AUTO")  # a key that is not the signing one
    source = write_provisioning(bootfs, **change)
    done = provision(run_kiosk, etc, "--from", str(source), "--remove-source")
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and "rien n'a été écrit" in done.stderr
    assert (etc / "kiosk.toml").read_text() == 'environment = "demo"\n'
    assert not (etc / "certs").exists() and source.exists()


def test_without_a_signing_certificate_the_file_says_insi_only_and_gets_no_dmp(run_kiosk, tmp_path, bootfs):
    source = write_provisioning(bootfs, **{'signing = "signing.pem"': '', 'signing_key = "signing.key"': '',
                                           'responsible_idnat = "3750712184/ACCUEIL01"': 'enabled = false',
                                           'responsible_name = "DUPONT Marie"': '',
                                           'dmp_homologation = "HOMOL-TEST-1"': ''})  # a DMP number, not needed
    etc = tmp_path / "etc"
    done = provision(run_kiosk, etc, "--from", str(source))
    assert done.returncode == 0, done.stderr
    assert [c["role"] for c in json.loads(done.stdout)["certificates"]] == ["auth"]
    config = tomllib.loads((etc / "kiosk.toml").read_text())
    assert config["dmp"] == {"enabled": False}  # no DMP certificate, bundle or person written for an unused DMP
    check = run_kiosk("config", "check", config=etc / "kiosk.toml")
    assert check.returncode == 0, check.stdout


@pytest.mark.parametrize("cn, kwargs, message", [
    ("ACCUEIL-AUTO", {}, "DESIR_560"),
    ("INSI-AUTO", {"days": -2, "start_days": -300}, "certificat expiré le"),
    ("INSI-AUTO", {"days": 300, "start_days": 3}, "valable seulement à partir du"),
])
def test_certificate_cn_and_dates_are_checked(run_kiosk, tmp_path, bootfs, ca, cn, kwargs, message):
    ca.pkcs12_file(bootfs / "auth.p12", cn, password="p12-secret", **kwargs)
    done = provision(run_kiosk, tmp_path / "etc", "--from", str(bootfs / "kiosk-provision.toml"))
    assert done.returncode == 2 and message in done.stderr
    assert not (tmp_path / "etc").exists()


def test_a_certificate_from_another_ca_named_like_igc_sante_is_refused(run_kiosk, tmp_path, bootfs):
    impostor = Authority.create(ORG_CA_TEST)  # same name, other key: the bundle's CA did not sign it
    impostor.pkcs12_file(bootfs / "auth.p12", "INSI-AUTO", password="p12-secret")
    done = provision(run_kiosk, tmp_path / "etc", "--from", str(bootfs / "kiosk-provision.toml"))
    assert done.returncode == 2 and "signature invalide" in done.stderr


def test_every_problem_is_listed_at_once(run_kiosk, tmp_path, bootfs):
    source = write_provisioning(bootfs, **{'finess = "750712184"': 'finess = "ABC"',
                                           'auth_password = "p12-secret"': 'auth_password = "faux"',
                                           'device_id = "accueil-01"': 'device_id = "../../etc"'})
    done = provision(run_kiosk, tmp_path / "etc", "--from", str(source))
    assert done.returncode == 2
    for part in ("site.finess", "certificates.auth", "sync.device_id"):
        assert part in done.stderr, done.stderr


def test_expiring_certificate_is_installed_with_a_warning(run_kiosk, tmp_path, bootfs, ca):
    ca.pkcs12_file(bootfs / "auth.p12", "INSI-MANU", password="p12-secret", days=10)
    done = provision(run_kiosk, tmp_path / "etc", "--from", str(bootfs / "kiosk-provision.toml"))
    assert done.returncode == 0
    assert any("expire dans 9 jour(s)" in w for w in json.loads(done.stdout)["warnings"])


def test_existing_settings_outside_the_provisioned_sections_are_kept(run_kiosk, tmp_path, bootfs):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "kiosk.toml").write_text('[ui]\ntheme = "plain"\n[insi]\ntimeout_s = 30.0\n')
    assert provision(run_kiosk, etc, "--from", str(bootfs / "kiosk-provision.toml")).returncode == 0
    config = tomllib.loads((etc / "kiosk.toml").read_text())
    assert config["ui"]["theme"] == "plain" and config["insi"]["timeout_s"] == 30.0
    assert config["insi"]["pkcs12"].endswith("certs/auth.p12")


def test_interactive_french_prompts_ask_again_on_a_bad_answer(run_kiosk, tmp_path, bootfs):
    answers = "\n".join([  # noqa: FLY002 - one commented answer per line
        "test",                      # environnement
        "Accueil principal",         # nom du site
        "12345",                     # FINESS invalide -> redemandé
        "750712184",
        "1.2.250.1.999.1.1", "IDAM-TEST-1", "HOMOL-TEST-1",
        "absent.p12",                # fichier introuvable -> redemandé
        "auth.p12", "p12-secret",
        "peut-être",                 # DMP : oui ou non -> redemandé
        "non",                       # borne INSi seule : ni certificat de signature ni responsable demandés
        "igc-sante.pem",
        "",                          # pas de flotte
    ]) + "\n"
    etc = tmp_path / "etc"
    done = provision_interactively(etc, bootfs, answers)
    assert done.returncode == 0, done.stderr
    assert "Numéro FINESS de l'établissement" in done.stderr and "✗" in done.stderr
    assert "fichier introuvable" in done.stderr
    config = tomllib.loads((etc / "kiosk.toml").read_text())
    assert config["site"] == {"name": "Accueil principal", "finess": "750712184"}
    assert "sync" not in config and config["dmp"] == {"enabled": False}
    assert "Certificat de signature VIHF" not in done.stderr


def test_interactive_dmp_kiosk_asks_for_the_signing_certificate_and_the_responsible_person(run_kiosk, tmp_path, bootfs):
    answers = "\n".join([  # noqa: FLY002 - one commented answer per line
        "test", "Accueil principal", "750712184",
        "1.2.250.1.999.1.1", "IDAM-TEST-1", "HOMOL-TEST-1",
        "auth.p12", "p12-secret",
        "",                          # DMP : oui (proposé)
        "",                          # certificat de signature obligatoire -> redemandé
        "signing.pem", "signing.key", "",
        "3750712184/ACCUEIL01", "DUPONT Marie",
        "igc-sante.pem",
        "",                          # pas de flotte
    ]) + "\n"
    etc = tmp_path / "etc"
    done = provision_interactively(etc, bootfs, answers)
    assert done.returncode == 0, done.stderr
    assert "Certificat de signature VIHF" in done.stderr and "réponse obligatoire" in done.stderr
    config = tomllib.loads((etc / "kiosk.toml").read_text())
    assert config["dmp"]["signing_pkcs12"] == str(etc / "certs/signing.p12")
    assert config["dmp"]["responsible_name"] == "DUPONT Marie" and "enabled" not in config["dmp"]


def test_interactive_input_ending_early_writes_nothing(run_kiosk, tmp_path):
    done = provision(run_kiosk, tmp_path / "etc", input="test\n")
    assert done.returncode == 2 and "rien n'a été écrit" in done.stderr
    assert not (tmp_path / "etc").exists()
