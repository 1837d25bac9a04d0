"""Faults at the desk, on the real simulators: a service down or misbehaving, a card pulled out, the printer
missing. Each is said in plain French with what to do next, and nothing of the patient is lost or mixed up."""

from __future__ import annotations

import pytest

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.audit import audit_dir, read_entries, verify_journal
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from kiosk.desk import ReferenceTraits, Step
from kiosk.desk.events import Reason


@pytest.fixture
def world():
    with DemoWorld() as w:
        c = w.runtime.controller
        w.backend.insert(STAFF_READER, cards.demo_cpe())
        c.wait_idle(30)
        c.submit_pin(DEMO_PIN)
        c.wait_idle(30)
        assert c.view().is_open
        yield w


def test_insi_unreachable_then_retry(world) -> None:
    c = world.runtime.controller
    world.sims.insi.stop()  # the network to INSi is gone
    world.backend.insert(VITALE_READER, cards.demo_vitale_single())
    c.wait_idle(60)
    row = c.view().rows[0]
    assert row.insi_step is Step.FAILED and row.dmp_step is Step.SKIPPED
    # the service is down, not the network: "try again in a few minutes", never "check the cable"
    assert row.insi_error.reason is Reason.SERVICE_DOWN and row.insi_error.service == "INSi"
    said = c.texts.problem(row.insi_error)
    assert said.startswith("INSi ne répond pas") and "réessayez dans quelques minutes (touche R)" in said
    assert "câble" not in said and "2360" not in said and "TCHITCHI" not in said
    assert c.retry() is True
    c.wait_idle(60)
    assert c.view().rows[0].insi_step is Step.FAILED  # still down: still said, still retryable
    entries = [e for e in read_entries(audit_dir(world.config)) if e["action"] == "insi_call"]
    assert [e["outcome"] for e in entries] == ["error", "error"]


@pytest.mark.parametrize("name", ["FAUTE", "CASSE", "PANNE"])
def test_misbehaving_insi_answers_are_errors_in_french(world, name) -> None:
    c = world.runtime.controller
    c.lookup_traits(ReferenceTraits(name, ("JEAN",), "M", "1990-01-01", "75056"))
    c.wait_idle(60)
    row = c.view().rows[0]
    assert row.insi_step is Step.FAILED and "touche R" in c.texts.problem(row.insi_error)
    assert row.insi_error.reason in (Reason.SERVICE_DOWN, Reason.SERVICE_ERROR)


def test_card_pulled_out_mid_lookup_drops_late_answers(world) -> None:
    c = world.runtime.controller
    world.sims.set_latency(0.8)
    world.backend.insert(VITALE_READER, cards.demo_vitale_family())
    deadline = __import__("time").monotonic() + 10
    while not any(r.insi_step is Step.PENDING for r in c.view().rows):
        assert __import__("time").monotonic() < deadline
    world.backend.remove(VITALE_READER)
    assert c.view().rows == ()
    c.wait_idle(60)
    assert c.view().rows == ()
    world.sims.set_latency(0)
    world.backend.insert(VITALE_READER, cards.demo_vitale_child())  # the next patient gets only their own data
    c.wait_idle(60)
    assert [r.beneficiary.nom_usuel for r in c.view().rows] == ["HERMANN", "ECETINSI"]
    assert verify_journal(audit_dir(world.config))[1] == []


def test_no_printer_and_no_browser_are_said_plainly(world, tmp_path) -> None:
    import dataclasses

    c = world.runtime.controller
    events = []
    c.add_listener(lambda view, event: events.append(event))
    ports = c.ports
    ports.config = dataclasses.replace(
        ports.config,
        printer=dataclasses.replace(ports.config.printer, kind="none"),
        webps=dataclasses.replace(ports.config.webps, browser=[str(tmp_path / "absent")]),
    )
    c.print_page(None, "TableauDeBord")
    c.open_page(None, "TableauDeBord")
    c.wait_idle(30)
    messages = [c.texts.problem(e.problem) for e in events if e.kind == "action_failed"]
    assert any(m.startswith("Impression impossible") and "imprimante" in m for m in messages)
    assert any(m.startswith("Le navigateur n'a pas affiché la page") for m in messages)
    assert not any(e.kind in ("page_opened", "link_printed") for e in events)  # no false success
    journal = [(e["action"], e["outcome"]) for e in read_entries(audit_dir(world.config))]
    assert ("page_opened", "error") in journal and ("link_printed", "error") in journal


def test_readers_down_locks_and_forgets_until_they_are_back(world) -> None:
    from kiosk.appliance.service.ports import CardEvent, CardEventKind

    c = world.runtime.controller
    world.backend.insert(VITALE_READER, cards.demo_vitale_single())
    c.wait_idle(30)
    assert c.view().rows
    c.on_card_event(CardEvent(CardEventKind.BACKEND_DOWN, None))  # what the PC/SC backend reports when pcscd dies
    v = c.view()
    assert not v.is_open and v.rows == () and not v.patient_present and c.vitale() is None
    actions = [(e["action"], e["outcome"]) for e in read_entries(audit_dir(world.config))]
    assert ("desk_locked", "locked_readers_down") in actions
