"""The desk pipeline on a Vitale read: concurrent INSi -> DMP chains against the simulators, per-beneficiary updates."""

from __future__ import annotations

import logging
import threading

import pytest

from drivers.errors import CardSwappedError
from kiosk.domain.ins import parse_matricule
from kiosk.domain.patient import Beneficiary, CardNature, VitaleRead
from kiosk.teleservices.dmp import DmpState
from kiosk.teleservices.guards import GuardError
from kiosk.teleservices.pipeline import Stage, check_beneficiaries, run_pipeline
from tests.support import teleservice_fixtures

make_dmp = teleservice_fixtures.make_dmp
make_insi = teleservice_fixtures.make_insi
sims = teleservice_fixtures.sims
simulators = teleservice_fixtures.simulators

OD = parse_matricule("297022A02077878")


def person(index: int, nom: str, prenom: str, date: str, nir: str = "", **kw) -> Beneficiary:
    own = parse_matricule(nir, strict=False) if nir else None
    return Beneficiary(
        index=index, nom_usuel=nom, prenom=prenom, date_naissance=date, nir_individuel=own, nir_ouvrant_droit=OD, **kw
    )


FAMILY = (
    person(0, "ADRTROIS", "DOMINIQUE", "19970226", "297022A02077878", qualite="00"),
    person(1, "HERMANN", "GATIEN", "19810324", qualite="02"),
    person(2, "ECETINSI", "PIERRE-ALAIN", "20090714", "109076322083489", qualite="06"),
    person(3, "HOUILLES", "PIERRE", "19930127", qualite="06"),
    person(4, "TCHITCHI", "CATARINA", "19360621", qualite="01"),
)


def card(nature: CardNature = CardNature.DEMO, people: tuple[Beneficiary, ...] = FAMILY) -> VitaleRead:
    return VitaleRead(reader="vitale", card_counter=7, beneficiaries=people, nature=nature)


def test_every_beneficiary_gets_its_chain(make_insi, make_dmp, sims) -> None:
    updates = list(check_beneficiaries(card(), make_insi(), make_dmp()))
    finals = {u.index: u for u in updates if u.final}
    assert sorted(finals) == [0, 1, 2, 3, 4]
    assert finals[0].stage is Stage.DMP and finals[0].dmp.state is DmpState.AUTHORISED
    assert finals[2].dmp.state is DmpState.NOT_AUTHORISED
    assert finals[4].dmp.state is DmpState.CLOSED
    # HERMANN: shown (INSi update with the flagged INS), never sent to the DMP.
    assert finals[1].stage is Stage.SKIPPED and "clé incohérente" in finals[1].reason
    hermann = next(u for u in updates if u.index == 1 and u.stage is Stage.INSI)
    assert hermann.insi.identity.active.matricule.value == "181036322045660" and not hermann.insi.identity.consistent
    assert finals[3].stage is Stage.SKIPPED and finals[3].insi.code.value == "01"
    # Each beneficiary: an INSi update strictly before its DMP update.
    for index in (0, 2, 4):
        stages = [u.stage for u in updates if u.index == index]
        assert stages == [Stage.INSI, Stage.DMP]


def test_chains_run_concurrently_and_dmp_starts_when_its_ins_is_known(make_insi, make_dmp, sims) -> None:
    sims.set_latency(0.3)
    sims.insi.peak_in_flight = sims.dmp.peak_in_flight = 0
    order: list[tuple[str, int]] = []
    finals = run_pipeline(card(), make_insi(), make_dmp(), lambda u: order.append((u.stage.value, u.index)))
    assert [f.index for f in finals] == [0, 1, 2, 3, 4]
    assert sims.insi.peak_in_flight >= 3  # the INSi lookups overlapped
    assert sims.dmp.peak_in_flight >= 2  # and so did the DMP checks
    # Updates came out as they arrived, not at the end: HERMANN's (no DMP call) before any DMP answer.
    assert len(order) == 10 and order[0][0] == "insi"
    assert order.index(("skipped", 1)) < min(order.index(("dmp", i)) for i in (0, 2, 4))


def test_a_swapped_card_stops_every_chain_before_sending(make_insi, make_dmp, sims) -> None:
    before_insi, before_dmp = sims.insi.count, sims.dmp.count
    calls = 0
    lock = threading.Lock()

    def card_check() -> None:
        nonlocal calls
        with lock:
            calls += 1
        raise CardSwappedError("la carte Vitale a été retirée ou changée")

    updates = list(check_beneficiaries(card(), make_insi(), make_dmp(), card_check=card_check))
    assert all(u.stage is Stage.FAILED and isinstance(u.error, CardSwappedError) for u in updates)
    assert len(updates) == 5 and calls == 5
    assert (sims.insi.count, sims.dmp.count) == (before_insi, before_dmp)


def test_swap_between_insi_and_dmp(make_insi, make_dmp, sims) -> None:
    checks = []

    def card_check() -> None:  # the card is there for the INSi call, gone by the DMP call
        checks.append(1)
        if len(checks) > 1:
            raise CardSwappedError("carte changée")

    before = sims.dmp.count
    finals = run_pipeline(card(people=FAMILY[:1]), make_insi(), make_dmp(), lambda u: None, card_check=card_check)
    assert finals[0].stage is Stage.FAILED and isinstance(finals[0].error, CardSwappedError)
    assert finals[0].insi is not None and finals[0].insi.found  # the INSi answer is kept for display
    assert sims.dmp.count == before and len(checks) == 2


def test_production_refuses_a_demo_card_before_any_request(make_insi, make_dmp, sims) -> None:
    before = sims.insi.count
    with pytest.raises(GuardError, match="démonstration"):
        list(check_beneficiaries(card(CardNature.DEMO), make_insi(environment="prod"), make_dmp(environment="prod")))
    with pytest.raises(GuardError, match="test"):
        list(check_beneficiaries(card(CardNature.TEST), make_insi(environment="prod"), None))
    assert sims.insi.count == before


def test_failures_stay_with_their_beneficiary(make_insi, make_dmp) -> None:
    people = (person(0, "FAUTE", "X", "19900101"), person(1, "CORSE", "ANTHONY", "19800302"))
    finals = run_pipeline(card(people=people), make_insi(), make_dmp(), lambda u: None)
    assert finals[0].stage is Stage.FAILED and "insi_102" in str(finals[0].error)
    assert finals[1].stage is Stage.DMP and finals[1].dmp.state is DmpState.NOT_CREATED


def test_no_patient_data_in_logs_above_debug(make_insi, make_dmp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    people = (*FAMILY, person(5, "FAUTE", "X", "19900101"), person(6, "CASSE", "X", "19900101"))
    finals = run_pipeline(card(people=people), make_insi(), make_dmp(), lambda u: None)
    text = "\n".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    text += "\n".join(str(f.error) for f in finals if f.error)
    assert "INSi" in text and "DMP" in text  # something was logged
    for p in people:
        for value in (p.nom_usuel, p.date_naissance, p.nir_individuel.value if p.nir_individuel else "ZZZ"):
            assert value not in text
    for ins in ("297022A02077878", "109076322083489", "236066322083656", "181036322045660"):
        assert ins not in text


def test_without_dmp_client(make_insi) -> None:
    finals = run_pipeline(card(people=FAMILY[:1]), make_insi(), None, lambda u: None)
    assert finals[0].stage is Stage.SKIPPED and finals[0].reason == "DMP non configuré"
