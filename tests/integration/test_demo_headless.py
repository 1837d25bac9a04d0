"""`kiosk demo --headless` end to end (the README's first command), and nothing it prints reveals a patient."""

from __future__ import annotations

import json
import re

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.sim.identities import IDENTITIES


def _secrets() -> set[str]:
    """Every name, birth date and NIR the demo's cards and simulators hold, in the forms they could leak."""
    out: set[str] = set()
    for make in cards.VITALE_PROFILES.values():
        card = make()
        for person in card.persons:
            out |= {person.nom, person.prenom, person.naissance}
            if person.nom_naissance:
                out.add(person.nom_naissance)
            if person.nir:
                out |= {person.nir, person.nir[:13]}
    for i in (
        IDENTITIES
    ):  # people named after French words (INCONNU, URGENCE, PROVISOIRE MATRICULE...) never appear in the demo
        out |= {i.nir, i.ins, i.naissance} | (
            {i.nom, *i.prenoms} if i.nom not in {"BLOQUE", "URGENCE", "INCONNU", "PROVISOIRE"} else set()
        )
    dates = {d for d in out if re.fullmatch(r"\d{8}", d)}
    out |= {f"{d[6:8]}/{d[4:6]}/{d[:4]}" for d in dates} | {f"{d[:4]}-{d[4:6]}-{d[6:8]}" for d in dates}
    return {s for s in out if len(s) >= 3}


def _leaks(text: str) -> list[str]:
    upper = text.upper()
    return sorted(s for s in _secrets() if re.search(rf"(?<![\w]){re.escape(s.upper())}(?![\w])", upper))


def test_demo_headless_plays_the_morning_without_revealing_anyone(run_kiosk) -> None:
    r = run_kiosk("demo", "--headless")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for expected in (
        "code incorrect, 2 essai(s) restant(s)",
        "poste ouvert (CPE)",
        "carte Vitale lue : 4 bénéficiaire(s)",
        "INSi CR 01 (aucune identité trouvée)",
        "DMP fermé",
        "INS incohérent (clé invalide)",
        "identité qualifiée",
        "pas de DMP",
        "après le retrait : 0 ligne(s) à l'écran",
        "poste verrouillé",
        "chaîne intacte",
        "système de l'hôpital, 1 patient(s) connu(s) (OK)",  # issue 17: PDQ finds the known patient
        "identité envoyée au système de l'hôpital (A31",  # ... the update of the one picked
        "identité envoyée au système de l'hôpital (A28",  # ... and a new patient created
        "acquitté AA",
    ):
        assert expected in out, expected
    assert _leaks(out + r.stderr) == []
    assert "Traceback" not in r.stderr


def test_demo_headless_json_lines_are_masked_too(run_kiosk) -> None:
    r = run_kiosk("demo", "--headless", "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    kinds = [rec["event"] for rec in records]
    assert {"desk_opened", "insi_result", "dmp_result", "patient_cleared", "qualified", "desk_locked"} <= set(kinds)
    assert records[-1]["event"] == "demo_done" and records[-1]["audit_ok"] is True
    assert _leaks(r.stdout + r.stderr) == []


def test_the_leak_scanner_itself_sees_clear_data() -> None:
    assert _leaks("D. A. : INS 2970...78") == []
    assert set(_leaks("Adrtrois Dominique née le 26/02/1997, 297022A02077878")) >= {
        "ADRTROIS", "DOMINIQUE", "26/02/1997", "297022A02077878"}
