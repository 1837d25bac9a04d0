"""`kiosk insi traits` and `kiosk insi vitale` end to end: the real CLI in a subprocess, real HTTPS simulators,
and for `vitale` a real pcscd with a virtual Vitale card behind vpcd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import teleservice_fixtures

sims = teleservice_fixtures.sims
simulators = teleservice_fixtures.simulators

CORSE = ("insi", "traits", "--nom", "CORSE", "--prenom", "ANTHONY", "--sexe", "M", "--naissance", "1980-03-02")


def test_traits_on_the_embedded_demo_simulator(run_kiosk) -> None:
    done = run_kiosk("insi", "traits", "--nom", "ecetinsi", "--prenom", "pierre-alain", "--sexe", "M",
                     "--naissance", "14/07/2009", "--lieu", "63220", "--json", "--reveal")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["code_cr"] == "00" and data["ins_actif"]["ins"] == "109076322083489"
    assert data["status"] == "récupérée" and len(data["ins_historiques"]) == 2
    masked = run_kiosk(
        "insi", "traits", "--nom", "ECETINSI", "--prenom", "PIERRE-ALAIN", "--sexe", "M", "--naissance", "2009-07-14"
    )
    assert (
        masked.returncode == 0
        and "1090...89" in masked.stdout
        and "109076322083489" not in masked.stdout + masked.stderr
    )
    assert "récupérée" in masked.stdout


def test_cnda_answers_through_the_cli(run_kiosk) -> None:
    """The NIA (OID .9, matricule starting with 1), Corsica 2B and ECETINSI without Prenom, as the CNDA answers them."""
    nia = run_kiosk(
        "insi",
        "traits",
        "--nom",
        "PROVISOIRE",
        "--prenom",
        "MATRICULE",
        "--sexe",
        "M",
        "--naissance",
        "2009-07-01",
        "--json",
        "--reveal",
    )
    assert nia.returncode == 0, nia.stderr
    active = json.loads(nia.stdout)["ins_actif"]
    assert (active["ins"], active["oid"], active["kind"]) == ("109076322088835", "1.2.250.1.213.1.4.9", "NIA")
    human = run_kiosk(
        "insi", "traits", "--nom", "PROVISOIRE", "--prenom", "MATRICULE", "--sexe", "M", "--naissance", "2009-07-01"
    )
    assert "(NIA, OID 1.2.250.1.213.1.4.9)" in human.stdout
    link = run_kiosk("link", "DossierPatient", "--ins", "109076322088835", "--oid", "1.2.250.1.213.1.4.9")
    assert link.returncode == 0 and 'value="1.2.250.1.213.1.4.9"' in link.stdout.replace("'", '"')
    corsica = run_kiosk(*CORSE, "--lieu", "2B020", "--json", "--reveal")
    data = json.loads(corsica.stdout)
    assert data["ins_actif"]["ins"] == "180032B02040123" and data["traits"]["lieu_naissance"] == "2B020"
    ecetinsi = run_kiosk(
        "insi",
        "traits",
        "--nom",
        "ECETINSI",
        "--prenom",
        "PIERRE-ALAIN",
        "--sexe",
        "M",
        "--naissance",
        "2009-07-14",
        "--json",
        "--reveal",
    )
    data = json.loads(ecetinsi.stdout)
    assert data["traits"]["prenom"] == "" and data["traits"]["liste_prenom"] == "PIERRE-ALAIN MURIEL FLORIANT"
    assert [h["ins"] for h in data["ins_historiques"]] == ["209076322083439", "209066322012355"]


def test_exit_codes(run_kiosk) -> None:
    none = run_kiosk(
        "insi",
        "traits",
        "--nom",
        "HOUILLES",
        "--prenom",
        "PIERRE",
        "--sexe",
        "M",
        "--naissance",
        "1993-01-27",
        "--json",
    )
    assert none.returncode == 1 and json.loads(none.stdout)["code_cr"] == "01"
    several = run_kiosk(
        "insi", "traits", "--nom", "JUMEAU", "--prenom", "CLAUDE", "--sexe", "F", "--naissance", "1985-02-07"
    )
    assert several.returncode == 1 and "CR 02" in several.stdout
    bad = run_kiosk(
        "insi", "traits", "--nom", "X", "--prenom", "Y", "--sexe", "Q", "--naissance", "1993-01-27", "--json"
    )
    assert bad.returncode == 2 and "sexe" in json.loads(bad.stdout)["message"]
    fault = run_kiosk(
        "insi", "traits", "--nom", "FAUTE", "--prenom", "Y", "--sexe", "M", "--naissance", "1993-01-27", "--json"
    )
    assert fault.returncode == 3 and "insi_102" in json.loads(fault.stdout)["message"]
    assert "momentanément indisponible, réessayez" in json.loads(fault.stdout)["message"]
    flagged = run_kiosk(
        "insi", "traits", "--nom", "HERMANN", "--prenom", "GATIEN", "--sexe", "M", "--naissance", "1981-03-24"
    )
    assert flagged.returncode == 0 and "clé incohérente" in flagged.stdout


def test_traits_against_configured_simulators(run_kiosk, sims, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('environment = "demo"\n' + sims.config_toml())
    before = sims.insi.count
    done = run_kiosk(*CORSE, "--json", config=config)
    assert done.returncode == 0, done.stderr
    assert sims.insi.count == before + 1  # it used the configured server, not an embedded one
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(config.read_text().replace(str(sims.auth_password_file), str(tmp_path / "absent")))
    done = run_kiosk(*CORSE, config=wrong)
    assert done.returncode == 2 and "mot de passe" in done.stderr


@pytest.mark.pcscd
def test_vitale_card_through_pcscd(run_kiosk, pcscd, sims, tmp_path: Path) -> None:
    from drivers.sim.readers.vpcd import VpcdCard
    from drivers.sim.virtual_cards.catalogue import demo_vitale_child

    config = tmp_path / "kiosk.toml"
    config.write_text(
        'environment = "demo"\n\n[[readers]]\nname = "vitale"\nrole = "patient"\nbackend = "pcsc"\nmatch = "Virtual '
        'PCD 00 00*"\n\n'
        + sims.config_toml()
    )
    card = VpcdCard(demo_vitale_child())
    card.insert()
    try:
        done = run_kiosk(
            "insi", "vitale", "--reader", "vitale", "--dmp", "--json", "--reveal", "--timeout", "20", config=config
        )
        human = run_kiosk("insi", "vitale", "--reader", "vitale", "--dmp", "--timeout", "20", config=config)
    finally:
        card.remove()
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = {r["index"]: r for r in data["beneficiaries"]}
    assert data["nature"] == "demo" and len(rows) == 2
    hermann, child = rows[0], rows[1]
    assert hermann["insi"]["ins_actif"]["ins"] == "181036322045660" and hermann["insi"]["consistent"] is False
    assert "clé incohérente" in hermann["dmp_skipped"]
    assert child["insi"]["ins_actif"]["ins"] == "109076322083489"
    assert child["dmp"]["state"] == "not_authorised"
    assert human.returncode == 0, human.stderr
    assert "G. H. (assuré)" in human.stdout and "1810...60" in human.stdout and "clé incohérente" in human.stdout
    assert "pas encore autorisé" in human.stdout
    assert "181036322045660" not in human.stdout + human.stderr and "HERMANN" not in human.stdout
