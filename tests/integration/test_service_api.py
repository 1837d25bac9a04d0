"""The local API over a real Unix socket, with the desk open on the demo's virtual cards and simulators."""

from __future__ import annotations

import json
import socket
import stat

import pytest

from drivers.sim import cards
from kiosk.service.api import ApiServer
from kiosk.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld


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
        assert answer["ok"] and answer["patient"] == "read"
        father, son = answer["beneficiaries"]
        assert son["nom_usuel"] == "ECETINSI" and son["insi"]["ins"] == "109076322083489"
        assert son["insi"]["oid"] == "1.2.250.1.213.1.4.8" and len(son["insi"]["former"]) == 2
        assert son["dmp"]["state"] == "not_authorised" and son["ins_status"] == "récupérée"
        assert father["insi"]["key_ok"] is False and father["dmp"]["state"] == "no_ins"
        page = _ask(api.path, {"op": "page", "page": "DossierPatient", "index": 1})
        assert page["ok"] and 'name="INS" value="109076322083489"' in page["xhtml"].replace("'", '"')
        assert _ask(api.path, {"op": "page", "page": "DossierPatient", "index": 0})["error"] == "state"
        assert _ask(api.path, {"op": "qualify", "index": 1, "document": "PASSEPORT"}) == {"ok": True, "ins_status": "qualifiée"}
        assert _ask(api.path, {"op": "qualify", "index": 1, "document": "PERMIS"})["error"] == "bad_request"
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
