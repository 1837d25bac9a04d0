"""The local API over a real Unix socket, with the desk open on the demo's virtual cards and simulators."""

from __future__ import annotations

import json
import os
import socket
import stat

import pytest

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.api import ApiServer
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld


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


def test_identities_dmp_states_and_page_for_the_current_card(world, tmp_path) -> None:
    controller = world.runtime.controller
    api = ApiServer(controller, tmp_path / "api.sock")
    api.start()
    try:
        assert stat.S_IMODE((tmp_path / "api.sock").stat().st_mode) == 0o660
        world.backend.insert(VITALE_READER, cards.demo_vitale_child())
        world.backend.insert(STAFF_READER, cards.demo_cpe())
        controller.wait_idle(30)
        assert _ask(api.path, {"op": "identities"})["error"] == "locked"  # card read, desk not open: nothing
        assert _ask(api.path, {"op": "pin", "pin": DEMO_PIN}) == {"ok": True}
        controller.wait_idle(30)
        answer = _ask(api.path, {"op": "identities"})
        assert answer["ok"] and answer["patient"] == "read" and answer["api_version"] == 2
        card = answer["card"]
        father, son = answer["beneficiaries"]
        assert son["nom_usuel"] == "ECETINSI" and son["insi"]["ins"] == "109076322083489"
        assert son["insi"]["oid"] == "1.2.250.1.213.1.4.8" and len(son["insi"]["former"]) == 2
        assert son["dmp"]["state"] == "not_authorised" and son["ins_status"] == "récupérée"
        assert father["insi"]["key_ok"] is False and father["dmp"]["state"] == "no_ins"
        page = _ask(api.path, {"op": "page", "page": "DossierPatient", "index": 1, "card": card})
        assert page["ok"] and 'name="INS" value="109076322083489"' in page["xhtml"].replace("'", '"')
        assert _ask(api.path, {"op": "page", "page": "DossierPatient", "index": 0, "card": card})["error"] == "state"
        assert _ask(api.path, {"op": "qualify", "index": 1, "document": "PASSEPORT", "card": card}) == {
            "ok": True,
            "ins_status": "qualifiée",
        }
        assert (
            _ask(api.path, {"op": "qualify", "index": 1, "document": "PERMIS", "card": card})["error"] == "bad_request"
        )
        world.backend.remove(VITALE_READER)
        assert _ask(api.path, {"op": "identities"})["beneficiaries"] == []
        world.backend.remove(STAFF_READER)
        assert _ask(api.path, {"op": "identities"})["error"] == "locked"
    finally:
        api.stop()
    assert not (tmp_path / "api.sock").exists()


def test_oversized_and_concurrent_requests(world, tmp_path) -> None:
    api = ApiServer(world.runtime.controller, tmp_path / "api.sock")
    api.start()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(api.path))
            s.sendall(b"{" + b" " * 70000 + b"}\n")
            assert json.loads(s.makefile().readline())["error"] == "too_large"
        clients = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(5)]
        for c in clients:
            c.settimeout(10)
            c.connect(str(api.path))
        for c in clients:
            c.sendall(b'{"op": "status"}\n')
        assert all(json.loads(c.makefile().readline())["ok"] for c in clients)
        for c in clients:
            c.close()
    finally:
        api.stop()


# ---- attack pass (issue 14): each test reproduces how the defect was found --------------------------------------
@pytest.fixture
def api(world, tmp_path):
    server = ApiServer(world.runtime.controller, tmp_path / "api.sock")
    server.start()
    yield server
    server.stop()


def _open_desk(world, api, vitale) -> dict:
    controller = world.runtime.controller
    world.backend.insert(VITALE_READER, vitale)
    world.backend.insert(STAFF_READER, cards.demo_cpe())
    assert controller.wait_idle(60)
    assert _ask(api.path, {"op": "pin", "pin": DEMO_PIN}) == {"ok": True}
    assert controller.wait_idle(60)
    answer = _ask(api.path, {"op": "identities"})
    assert answer["ok"], answer
    return answer


def test_a_card_swap_after_identities_refuses_qualify_and_page(world, api) -> None:
    """Reproduction: identities on card A, swap to card B, `qualify index 0` qualified B's insured."""
    controller = world.runtime.controller
    seen = _open_desk(world, api, cards.demo_vitale_child())
    son = seen["beneficiaries"][1]
    world.backend.remove(VITALE_READER)
    world.backend.insert(VITALE_READER, cards.demo_vitale_family())
    assert controller.wait_idle(60)
    assert _ask(api.path, {"op": "identities"})["card"] != seen["card"]
    for index in (0, 1):
        q = _ask(api.path, {"op": "qualify", "index": index, "document": "PASSEPORT", "card": seen["card"]})
        assert q["error"] == "card_changed" and "la carte a changé" in q["message"].lower()
        p = _ask(api.path, {"op": "page", "page": "DossierPatient", "index": index, "card": seen["card"]})
        assert p["error"] == "card_changed"
    q = _ask(api.path, {"op": "qualify", "index": 1, "document": "PASSEPORT", "ins": son["insi"]["ins"]})
    assert q["error"] == "card_changed"
    assert all(r.document is None for r in controller.view().rows)  # nothing qualified
    # Version 2: naming the patient is required.
    assert _ask(api.path, {"op": "qualify", "index": 0, "document": "CNI"})["error"] == "bad_request"
    assert _ask(api.path, {"op": "page", "page": "DossierPatient", "index": 0})["error"] == "bad_request"
    assert _ask(api.path, {"op": "qualify", "index": 0, "document": "CNI", "card": True})["error"] == "bad_request"


def test_pin_through_the_api_is_rate_limited_spares_the_last_try_and_is_journaled(world, tmp_path) -> None:
    """Reproduction: three wrong PINs through the API blocked the receptionist's card."""
    from kiosk.appliance.service.api import ApiLimits
    from kiosk.appliance.service.audit import read_entries

    now = [1000.0]
    controller = world.runtime.controller
    api = ApiServer(controller, tmp_path / "api.sock", limits=ApiLimits(pin_interval_s=10.0), clock=lambda: now[0])
    api.start()
    try:
        world.backend.insert(STAFF_READER, cards.demo_cpe())
        assert controller.wait_idle(60)
        tries = controller.view().pin_tries_left
        assert tries is not None and tries >= 2
        wrong = "0000" if DEMO_PIN != "0000" else "9999"
        while controller.view().pin_tries_left > 1:
            assert _ask(api.path, {"op": "pin", "pin": wrong}) == {"ok": True}
            assert controller.wait_idle(60)
            limited = _ask(api.path, {"op": "pin", "pin": wrong})
            assert limited["error"] == "rate_limited" and limited["retry_after_s"] > 0
            now[0] += 10.0
        last = _ask(api.path, {"op": "pin", "pin": DEMO_PIN})
        assert last["error"] == "state" and "au poste" in last["message"]
        assert controller.view().pin_tries_left == 1  # the last try is still there, for the desk
        controller.submit_pin(DEMO_PIN)  # the receptionist, at the desk
        assert controller.wait_idle(60) and controller.view().is_open
    finally:
        api.stop()
    attempts = [e for e in read_entries(world.runtime.audit.directory) if e["action"] == "pin_submitted"]
    origins = [e["detail"]["origin"] for e in attempts]
    assert origins[-1] == "desk" and all(o == f"api:{os.getuid()}" for o in origins[:-1]) and len(origins) == tries


def test_patient_reads_through_the_api_are_journaled_with_the_uid(world, api) -> None:
    from kiosk.appliance.service.audit import read_entries

    seen = _open_desk(world, api, cards.demo_vitale_child())
    assert _ask(api.path, {"op": "page", "page": "DossierPatient", "index": 1, "card": seen["card"]})["ok"]
    reads = [e for e in read_entries(world.runtime.audit.directory) if e["action"] == "api_read"]
    assert [e["outcome"] for e in reads] == ["identities", "page"]
    assert all(e["detail"]["origin"] == f"api:{os.getuid()}" for e in reads) and reads[1]["patient"]


def test_clients_beyond_the_cap_are_told_busy_and_idle_ones_are_closed(world, tmp_path) -> None:
    from kiosk.appliance.service.api import ApiLimits

    api = ApiServer(world.runtime.controller, tmp_path / "api.sock",
                    limits=ApiLimits(max_clients=3, idle_timeout_s=1.0, request_timeout_s=1.0))
    api.start()
    try:
        held = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
        for c in held:
            c.settimeout(30)
            c.connect(str(api.path))
            c.sendall(b'{"op": "status"}\n')
            assert json.loads(c.makefile().readline())["ok"]
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.settimeout(30)
        extra.connect(str(api.path))
        assert json.loads(extra.makefile().readline())["error"] == "busy"
        extra.close()
        # Idle (and slow-drip) connections are closed by the server: recv() sees the end, the slots free up.
        held[0].sendall(b'{"op": ')  # starts a request, never finishes it
        for c in held:
            assert c.recv(100) == b""
            c.close()
        assert _ask(api.path, {"op": "status"})["ok"]
    finally:
        api.stop()


def test_a_second_server_refuses_a_live_socket_and_a_regular_file(world, api, tmp_path) -> None:
    from kiosk.errors import ConfigError

    with pytest.raises(ConfigError, match="autre instance"):
        ApiServer(world.runtime.controller, api.path).start()
    assert _ask(api.path, {"op": "status"})["ok"]  # the first one still answers
    regular = tmp_path / "not-a-socket"
    regular.write_text("x")
    with pytest.raises(ConfigError, match="pas une socket"):
        ApiServer(world.runtime.controller, regular).start()
    assert regular.read_text() == "x"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "stale.sock"))
    stale.close()  # bound, nobody listening: left by a killed run
    other = ApiServer(world.runtime.controller, tmp_path / "stale.sock")
    other.start()
    other.stop()


def test_no_audit_entry_no_patient_action(world, api) -> None:
    """Issue 14, point 7: when an entry cannot be written (here the journal's directory is replaced by a file,
    as an exhausted or broken filesystem would refuse it), the desk refuses new patient actions and says so."""
    controller = world.runtime.controller
    seen = _open_desk(world, api, cards.demo_vitale_child())
    events: list[str] = []
    controller.add_listener(lambda view, event: events.append(event.kind))
    journal = world.runtime.audit.directory
    aside = journal.with_name("audit-aside")
    journal.rename(aside)
    journal.write_text("pas un répertoire")
    try:
        q = _ask(api.path, {"op": "qualify", "index": 1, "document": "PASSEPORT", "card": seen["card"]})
        assert q["error"] == "untraceable" and "non tracée" in q["message"]
        assert _ask(api.path, {"op": "identities"})["error"] == "untraceable"
        assert "audit_unavailable" in events
        assert all(r.document is None for r in controller.view().rows)  # nothing was done
    finally:
        journal.unlink()
        aside.rename(journal)
    q = _ask(api.path, {"op": "qualify", "index": 1, "document": "PASSEPORT", "card": seen["card"]})
    assert q == {"ok": True, "ins_status": "qualifiée"} and "audit_resumed" in events


def test_insert_remove_bursts_never_park_the_desk(world) -> None:
    """Issue 14, point 10: 30 fast insert/remove bursts on both readers leave no worker waiting for a card
    without a deadline; the staff card re-inserted afterwards is read (generous, condition-based deadline)."""
    from kiosk.desk import StaffPhase

    controller = world.runtime.controller
    for _ in range(30):
        world.backend.insert(VITALE_READER, cards.demo_vitale_family())
        world.backend.insert(STAFF_READER, cards.demo_cpe())
        world.backend.remove(VITALE_READER)
        world.backend.remove(STAFF_READER)
    assert controller.wait_idle(120), "a worker is still waiting after the bursts"
    world.backend.insert(STAFF_READER, cards.demo_cpe())
    assert controller.wait_idle(120)
    assert controller.view().staff_phase is StaffPhase.PIN_REQUIRED
