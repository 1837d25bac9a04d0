"""Guard rails: test/demo cards and test/demo INS OIDs never reach a production endpoint."""

from __future__ import annotations

import pytest

from kiosk.domain.patient import CardNature, VitaleRead
from kiosk.teleservices.guards import GuardError, check_card, check_oid, is_production

PROD_INSI = "https://services-ps-tlsm.ameli.fr/lps"
TEST_INSI = "https://qualiflps-services-ps-tlsm.ameli.fr:443/lps"


def card(nature: CardNature) -> VitaleRead:
    return VitaleRead(reader="vitale", card_counter=1, beneficiaries=(), nature=nature)


def test_production_is_the_environment_or_a_production_host() -> None:
    assert is_production("prod", "https://127.0.0.1:9/lps")
    assert is_production("test", PROD_INSI)
    assert is_production("demo", "https://LPS2.dmp.gouv.fr/si-dmp-server/v2/services")
    assert not is_production("test", TEST_INSI)


@pytest.mark.parametrize("nature", [CardNature.TEST, CardNature.DEMO, CardNature.UNKNOWN])
def test_test_demo_or_unknown_cards_are_refused_for_production(nature: CardNature) -> None:
    with pytest.raises(GuardError, match="refusée"):
        check_card(card(nature), "prod", PROD_INSI)
    with pytest.raises(GuardError):
        check_card(card(nature), "test", PROD_INSI)  # a test kiosk pointed at production by mistake


def test_real_cards_pass_and_test_cards_pass_outside_production() -> None:
    check_card(card(CardNature.REAL), "prod", PROD_INSI)
    check_card(card(CardNature.TEST), "test", TEST_INSI)
    check_card(card(CardNature.DEMO), "demo", "https://127.0.0.1:1/lps")
    check_card(None, "prod", PROD_INSI)  # a traits search has no card


@pytest.mark.parametrize("oid", ["1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"])
def test_test_and_demo_oids_are_refused_for_production(oid: str) -> None:
    with pytest.raises(GuardError, match="OID INS de test"):
        check_oid(oid, "prod", "https://lps2.dmp.gouv.fr/si-dmp-server/v2/services")
    check_oid(oid, "test", "https://formation1.lps2.dmp.gouv.fr/si-dmp-server/v2/services")
    check_oid("1.2.250.1.213.1.4.8", "prod", "https://lps2.dmp.gouv.fr/si-dmp-server/v2/services")
