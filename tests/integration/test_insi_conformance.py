"""The INSi wire against the official artifacts: every request part the simulator receives validates against
the official XSDs, and every CNDA test answer is read by the kiosk's reader (both from ../shared/peers/insi, the
CNAM files and CNDA answers as padoa/tlsi-ins ships them, MIT; those tests skip where they are absent); the two
recorded faults (tests/peers/insi/faults, transcribed from padoa/tlsi-ins's tests, sources in its README) too."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from lxml import etree

from kiosk.domain.ins import InsKind, parse_matricule
from kiosk.domain.patient import Beneficiary, CardNature, VitaleRead
from kiosk.teleservices.insi import InsiCode, InsiFaultError, InsiResult, Traits
from kiosk.teleservices.insi.response import parse_insi_reply
from tests.support import teleservice_fixtures

make_insi = teleservice_fixtures.make_insi
sims = teleservice_fixtures.sims
simulators = teleservice_fixtures.simulators

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ROOT / "tests" / "peers" / "insi" / "faults"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
CTXLPS, CTXBAM = "urn:siram:lps:ctxlps", "urn:siram:bam:ctxbam"
RECVIT, RECSANS = "http://www.cnamts.fr/INSiRecVit", "http://www.cnamts.fr/INSiRecSans"
SCHEMA_FILES = {
    f"{{{CTXLPS}}}ContexteLPS": "ROOT_ctxlps_CTXLPS_V01_00.xsd",
    f"{{{CTXBAM}}}ContexteBAM": "ROOT_ctxbam_CTXBAM_V01_02.xsd",
    f"{{{RECVIT}}}RECVITALE": "INSi_RECVITALE_INS.xsd",
    f"{{{RECSANS}}}RECSANSVITALE": "INSi_RECSANS_INS.xsd",
}


def _official(*names: str) -> Path:
    """The official files stay outside the project: $KIOSK_INSI_PEERS, or ../shared/peers/insi above the repo;
    the test skips where they are absent (a CI clone)."""
    env = os.environ.get("KIOSK_INSI_PEERS")
    candidates = [Path(env)] if env else [up / "shared" / "peers" / "insi" for up in ROOT.parents]
    found = next((c for c in candidates if all((c / name).exists() for name in names)), None)
    if found is None:
        pytest.skip("the official INSi files (../shared/peers/insi or $KIOSK_INSI_PEERS) are not on this machine")
    return found


@functools.cache
def _schemas() -> dict[str, etree.XMLSchema]:
    official = _official(*SCHEMA_FILES.values())
    return {tag: etree.XMLSchema(etree.parse(str(official / name))) for tag, name in SCHEMA_FILES.items()}


def _cnda(name: str) -> bytes:
    """A CNDA test answer as padoa/tlsi-ins publishes it (src/ins/fixtures, MIT), read from the peers folder."""
    return (_official(f"cnda-answers/{name}") / "cnda-answers" / name).read_bytes()


def _validate_request(body: bytes) -> list[str]:
    """Each official part of one request, validated alone; returns the tags checked."""
    envelope = etree.fromstring(body)
    parts = [*envelope.find(f"{{{SOAP}}}Header"), *envelope.find(f"{{{SOAP}}}Body")]
    checked = []
    for part in parts:
        schema = _schemas().get(part.tag)
        if schema is None:
            continue
        document = etree.fromstring(etree.tostring(part))
        assert schema.validate(document), f"{etree.QName(part).localname}: {schema.error_log.last_error}"
        checked.append(etree.QName(part).localname)
    return checked


def _card(*people: Beneficiary, extra: dict[str, str] | None = None) -> VitaleRead:
    return VitaleRead(reader="vitale", card_counter=1, beneficiaries=people, nature=CardNature.DEMO, extra=extra or {})


def test_every_request_part_validates_against_the_official_schemas(make_insi, sims) -> None:
    _schemas()  # skips before any work where the official files are absent
    client = make_insi()
    insured = parse_matricule("181036322045660", strict=False)
    people = [
        # A child with their own NIR, rank "01", a certification date: every COUVERTURE field filled.
        Beneficiary(
            index=1,
            nom_usuel="ECETINSI",
            prenom="PIERRE-ALAIN",
            date_naissance="20090714",
            qualite="06",
            rang_naissance="01",
            nir_individuel=parse_matricule("109076322083489"),
            nir_ouvrant_droit=insured,
            extra={"date_certification": "20190301"},
        ),
        # A lunar birth date (unknown day and month) keeps its zeros; no own NIR.
        Beneficiary(
            index=0,
            nom_usuel="TCHITCHI",
            prenom="CATARINA",
            date_naissance="19360000",
            qualite="00",
            nir_ouvrant_droit=parse_matricule("236066322083656"),
        ),
        # Corsica: 2A in the NIR; a certification date that is not a calendar date is left out.
        Beneficiary(
            index=0,
            nom_usuel="ADRTROIS",
            prenom="DOMINIQUE",
            date_naissance="19970226",
            qualite="00",
            nir_individuel=parse_matricule("297022A02077878"),
            nir_ouvrant_droit=parse_matricule("297022A02077878"),
            extra={"date_certification": "20190000"},
        ),
    ]
    start = sims.insi.count
    for person in people:
        client.search_vitale(person, _card(person, extra={"regime": "01", "caisse": "751", "centre": "0001"}))
    client.search_traits_strategy(Traits.from_desk("JUMEAU", ["CLAUDE", "ZOE"], "F", "07/02/1985", "75056"))
    client.search_traits(Traits.from_desk("CORSE", ["ANTHONY"], "M", "1980-03-02"))
    received = list(sims.insi.received)[-(sims.insi.count - start):]
    assert len(received) == sims.insi.count - start == 3 + 3 + 1
    for request in received:
        checked = _validate_request(request.body)
        assert checked[:2] == ["ContexteLPS", "ContexteBAM"] and checked[2] in ("RECVITALE", "RECSANSVITALE")
    first = etree.fromstring(received[0].body)
    bam = first.find(f"{{{SOAP}}}Header/{{{CTXBAM}}}ContexteBAM/{{{CTXBAM}}}COUVERTURE/{{{CTXBAM}}}BENEFICIAIRE")
    assert bam.findtext(f"{{{CTXBAM}}}DateNai") == "2009-07-14" and bam.findtext(f"{{{CTXBAM}}}Rang") == "1"
    assert bam.findtext(f"{{{CTXBAM}}}Nir/{{{CTXBAM}}}DateCertification") == "2019-03-01"
    lps = first.find(f"{{{SOAP}}}Header/{{{CTXLPS}}}ContexteLPS")
    assert lps.findtext(f"{{{CTXLPS}}}Emetteur") == "1750000001"  # "1" + FINESS, the certificate's OU
    lunar = etree.fromstring(received[1].body)
    assert lunar.findtext(f".//{{{CTXBAM}}}DateNai") == "1936-00-00"
    assert lunar.findtext(f".//{{{RECVIT}}}DateNaissance") == "1936-00-00"
    corsica = etree.fromstring(received[2].body)
    assert corsica.find(f".//{{{CTXBAM}}}DateCertification") is None


def _answer(name: str) -> InsiResult:
    return parse_insi_reply(200, "application/soap+xml", _cnda(name))


def test_cnda_cr01() -> None:
    result = _answer("REP_CR01.xml")
    assert result.code is InsiCode.NOT_FOUND and result.identity is None


def test_cnda_nia_is_a_nia_by_its_oid_not_its_first_digit() -> None:
    identity = _answer("TEST_2.05.xml").identity
    assert identity.active.matricule.value == "109076322088835" and identity.active.oid == "1.2.250.1.213.1.4.9"
    assert identity.active.kind is InsKind.NIA and identity.consistent
    assert identity.active.as_dict(reveal=False)["kind"] == "NIA"


def test_cnda_ecetinsi_two_former_ins_and_no_prenom() -> None:
    identity = _answer("TEST_2.04_cas2.xml").identity
    assert [h.matricule.value for h in identity.former] == ["209076322083439", "209066322012355"]
    assert identity.former[0].date_deb == "2019-03-01" and identity.former[0].date_fin == "2019-02-28"
    assert identity.traits.prenom == "" and identity.traits.liste_prenom == "PIERRE-ALAIN MURIEL FLORIANT"


def test_cnda_corsica_2b() -> None:
    identity = _answer("TEST_2.08_cas1.xml").identity
    assert identity.active.matricule.value == "180032B02040123" and identity.consistent
    assert identity.traits.lieu_naissance == "2B020" and identity.active.kind is InsKind.NIR


def test_cnda_hermann_key_60_kept_and_flagged() -> None:
    identity = _answer("TEST_2.08_cas2.xml").identity
    assert identity.active.matricule.value == "181036322045660" and not identity.consistent
    assert [h.matricule.value for h in identity.former] == ["181036322045660", "281036322045610"]


def test_an_answer_without_cle_gets_the_computed_key_and_says_so() -> None:
    data = _cnda("TEST_2.08_cas1.xml").replace(b"<Cle>23</Cle>", b"", 1)
    active = parse_insi_reply(200, "application/soap+xml", data).identity.active
    assert active.matricule.value == "180032B02040123" and not active.key_received


def test_recorded_siram_40_fault_says_try_again_not_refused() -> None:
    with pytest.raises(InsiFaultError) as info:
        parse_insi_reply(500, "application/soap+xml", (FAULTS / "siram_40-insi_102.xml").read_bytes())
    error = info.value
    assert (error.code, error.severity, error.subcode, error.fault_code) == (
        "insi_102",
        "fatal",
        "siram_40",
        "Receiver",
    )
    assert error.transient and "service momentanément indisponible, réessayez" in str(error)
    assert "refusé" not in str(error)


def test_recorded_desir_550_fault_names_the_setting_to_fix() -> None:
    with pytest.raises(InsiFaultError) as info:
        parse_insi_reply(500, "application/soap+xml", (FAULTS / "siram_100-desir_550.xml").read_bytes())
    error = info.value
    assert not error.transient and error.code == "desir_550"
    assert "refusé" in str(error) and "lps.insi_idam" in str(error)
