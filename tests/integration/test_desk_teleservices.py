"""The desk and the teleservices together (demo's virtual cards, real HTTPS simulators): the VIHF names the staff
member whose card opened the desk, and a NIA (CNDA TEST_2.05, OID .9, matricule starting with 1) goes to the DMP
and to the Web PS page with its own OID."""

from __future__ import annotations

import json
import socket

import pytest
from lxml import etree

from drivers.sim.virtual_cards import catalogue as cards
from drivers.sim.virtual_cards.vitale_card import VirtualVitale, VitalePerson
from kiosk.appliance.service.api import ApiServer
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld

SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"
H = "{urn:hl7-org:v3}"
NIA_OID = "1.2.250.1.213.1.4.9"


@pytest.fixture
def world():
    with DemoWorld() as w:
        yield w


def _ask(path, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(15)
        s.connect(str(path))
        f = s.makefile("rw")
        f.write(json.dumps(request) + "\n")
        f.flush()
        return json.loads(f.readline())


def _open_desk(world, api, card=None) -> None:
    world.backend.insert(STAFF_READER, card or cards.demo_cpe())
    world.runtime.controller.wait_idle(30)
    assert _ask(api.path, {"op": "pin", "pin": DEMO_PIN}) == {"ok": True}
    world.runtime.controller.wait_idle(30)


def _nia_card() -> VirtualVitale:
    person = VitalePerson("PROVISOIRE", "MATRICULE", "20090701", "00", nir="109076322088835")
    return VirtualVitale(
        persons=[person],
        card={
            **cards.DEMO_CARD,
            "serial": "0012345690",
            "debut_validite": "20240101",
            "nir_ouvrant_droit": "109076322088835",
        },
        label="NIA",
    )


def test_the_vihf_names_the_staff_member_who_opened_the_desk(world, tmp_path) -> None:
    api = ApiServer(world.runtime.controller, tmp_path / "api.sock")
    api.start()
    try:
        _open_desk(world, api)
        world.backend.insert(VITALE_READER, cards.demo_vitale_child())
        world.runtime.controller.wait_idle(30)
        son = _ask(api.path, {"op": "identities"})["beneficiaries"][1]
        assert son["dmp"]["state"] == "not_authorised"
    finally:
        api.stop()
    sent = etree.fromstring(world.sims.dmp.received[-1].body)
    assert sent.find(f".//{SAML}NameID").text == "3760021832/000000018"  # the CPE holder, not the structure
    values = {a.get("Name"): a for a in sent.iterfind(f".//{SAML}Attribute")}
    assert "".join(values["urn:oasis:names:tc:xspa:1.0:subject:subject-id"].itertext()) == "ACCUEIL Claire"
    role = values["urn:oasis:names:tc:xacml:2.0:subject:role"].find(f"{SAML}AttributeValue")[0]
    assert (role.get("code"), role.get("codeSystemName")) == ("SECRETARIAT_MEDICAL", "TRE_A00-ProducteurDocNonPS")
    assert sent.find(f".//{SAML}AuthnContextClassRef").text.endswith(":SmartcardPKI")  # card + PIN at the desk


def test_a_nia_is_shown_asked_and_linked_with_its_own_oid(world, tmp_path) -> None:
    api = ApiServer(world.runtime.controller, tmp_path / "api.sock")
    api.start()
    try:
        _open_desk(world, api)
        world.backend.insert(VITALE_READER, _nia_card())
        world.runtime.controller.wait_idle(30)
        answer = _ask(api.path, {"op": "identities"})
        person = answer["beneficiaries"][0]
        assert person["insi"]["ins"] == "109076322088835" and person["insi"]["oid"] == NIA_OID
        assert person["dmp"]["state"] == "authorised"
        sent = etree.fromstring(world.sims.dmp.received[-1].body)
        assert sent.find(f".//{H}patientIdentifier/{H}value").get("root") == NIA_OID
        page = _ask(api.path, {"op": "page", "page": "DossierPatient", "index": 0, "card": answer["card"]})
        assert page["ok"] and f'name="typeINS" value="{NIA_OID}"' in page["xhtml"].replace("'", '"')
    finally:
        api.stop()


def test_a_carte_de_service_is_named_by_its_pseudonym(world, tmp_path) -> None:
    api = ApiServer(world.runtime.controller, tmp_path / "api.sock")
    api.start()
    try:
        _open_desk(world, api, cards.demo_cpe_service())
        world.backend.insert(VITALE_READER, cards.demo_vitale_single())
        world.runtime.controller.wait_idle(30)
    finally:
        api.stop()
    sent = etree.fromstring(world.sims.dmp.received[-1].body)
    assert sent.find(f".//{SAML}NameID").text == "3760021832/000000027"
    subject = sent.find(f".//{SAML}Attribute[@Name='urn:oasis:names:tc:xspa:1.0:subject:subject-id']")
    assert "".join(subject.itertext()) == "EMPLOYE000000027"
