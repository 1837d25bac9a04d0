"""The desk's hospital-system side (`HisDesk`) on real desk rows, the real client and the simulator."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.appliance.service.audit import AuditJournal
from kiosk.appliance.service.his_desk import NEW_PATIENT, HisDesk
from kiosk.desk import DeskStateError, IdDocument, InsiCode, InsiOutcome, PatientRow, ReferenceTraits, Step
from kiosk.desk.events import Reason
from kiosk.domain.ins import parse_matricule
from kiosk.domain.patient import Beneficiary
from kiosk.sim.his_server import HisSimulator
from kiosk.teleservices.his import Backoff, Envelope, HisClient, MllpLink
from kiosk.teleservices.his.status import read_status

STAFF = "3760021832/000000018"
ADRTROIS_INS = parse_matricule("297022A02077878")


def row(index: int, nom: str, prenom: str, date: str, sex: str, insi: InsiOutcome | None = None,
        document: IdDocument | None = None) -> PatientRow:
    b = Beneficiary(index, nom, prenom, date)
    return PatientRow(index, b, sex=sex, insi_step=Step.DONE if insi else Step.IDLE, insi=insi, document=document)


ADRTROIS_INSI = InsiOutcome(InsiCode.FOUND, "OK", ADRTROIS_INS, "1.2.250.1.213.1.4.8",
                            traits=ReferenceTraits("ADRTROIS", ("DOMINIQUE",), "F", "1997-02-26", "2A020"))


class Harness:
    """Stands where the controller stands: workers, events, journal."""

    def __init__(self, sim: HisSimulator, journal: AuditJournal) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.changed = threading.Condition()
        self.journal = journal
        self.sim = sim
        link = MllpLink("127.0.0.1", sim.port, timeout_s=5.0, backoff=Backoff(0.05, 0.2)).start()
        client = HisClient(link, Envelope("KIOSK-ACCUEIL", processing_id="T"), "2.999.17.1")
        self.his = HisDesk(client, emit=self.emit, submit=self.submit, journal=self.record)

    def emit(self, kind: str, **data: Any) -> None:
        with self.changed:
            self.events.append((kind, data))
            self.changed.notify_all()

    def submit(self, fn: Any, *args: Any) -> None:
        threading.Thread(target=fn, args=args, daemon=True).start()

    def record(self, action: str, outcome: str, staff: str, ins: Any = None, **detail: Any) -> None:
        self.journal.record(action, outcome, staff=staff, ins=ins, **detail)

    def wait_for(self, condition: Any) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, 60), self.events

    def wait(self, kind: str, n: int = 1) -> list[dict[str, Any]]:
        with self.changed:
            assert self.changed.wait_for(lambda: sum(k == kind for k, _ in self.events) >= n, 60), self.events
            return [d for k, d in self.events if k == kind]


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))
    with HisSimulator() as sim:
        h = Harness(sim, AuditJournal(tmp_path / "audit"))
        yield h
        h.his.close()


def test_traits_search_then_new_patient_sends_a28(harness: Harness, tmp_path: Path) -> None:
    corse = row(0, "CORSE", "ANTHONY", "19800302", "M")
    harness.his.begin(("t", 1), [corse], STAFF)
    harness.wait("his_candidates")
    assert harness.his.row(0).step is Step.DONE and harness.his.row(0).candidates == ()
    harness.his.choose(0, NEW_PATIENT)
    control_id = harness.his.send(corse, STAFF, manual=False)
    (acked,) = harness.wait("his_acknowledged")
    assert acked == {"control_id": control_id, "ack": "AA"}
    entries = next(iter((tmp_path / "audit").glob("audit-*.jsonl"))).read_text()
    assert '"his_query"' in entries and '"his_send"' in entries and control_id in entries
    assert "CORSE" not in entries and "ANTHONY" not in entries and STAFF in entries
    harness.wait_for(lambda: ("his_pending", {"count": 0, "refused": 0}) in harness.events)
    status = read_status()
    assert status is not None and status["pending"] == []


def test_homonyms_are_listed_never_merged_and_the_pick_sends_a31_with_its_ipp(harness: Harness) -> None:
    camille = row(0, "HOMONYME", "CAMILLE", "19900101", "F")
    harness.his.begin(("t", 2), [camille], STAFF)
    harness.wait("his_candidates")
    listed = harness.his.row(0).candidates
    assert [c.ipp.value for c in listed] == ["100003", "100004"]
    with pytest.raises(DeskStateError, match="his_choose_first"):
        harness.his.send(camille, STAFF, manual=False)  # nothing goes before the receptionist picks
    harness.his.choose(0, 1)
    harness.his.send(camille, STAFF, manual=False)
    harness.wait("his_acknowledged")
    assert "100004^^^GAM-SIM&2.999.17.2&ISO^PI" in harness.sim.received[-1]
    assert "|ADT^A31^ADT_A05|" in harness.sim.received[-1]


def test_qualified_identity_is_searched_again_by_ins_and_its_a31_carries_the_ins(harness: Harness) -> None:
    adrtrois = row(0, "ADRTROIS", "DOMINIQUE", "19970226", "F", ADRTROIS_INSI)
    harness.his.begin(("t", 3), [adrtrois], STAFF)
    harness.wait("his_candidates")
    qualified = dataclasses.replace(adrtrois, document=IdDocument.CNI)
    harness.his.begin(("t", 3), [qualified], STAFF, by_ins=True)
    harness.wait("his_candidates", 2)
    (candidate,) = harness.his.row(0).candidates
    assert candidate.ipp.value == "100001" and candidate.ins == ADRTROIS_INS
    harness.his.choose(0, 0)
    harness.his.send(qualified, STAFF, manual=False)
    assert harness.wait("his_acknowledged")[0]["ack"] == "AA"
    assert "297022A02077878^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS" in harness.sim.received[-1]
    assert harness.sim.received[-1].split("\r")[2].endswith("|QUAL")


def test_late_results_for_a_patient_who_left_are_dropped(harness: Harness) -> None:
    harness.his.begin(("t", 4), [row(0, "TCHITCHI", "CATARINA", "19360621", "F")], STAFF)
    harness.his.clear()
    harness.wait("his_searching")
    harness.his.begin(("t", 5), [], STAFF)
    assert harness.his.rows() == {}


def test_refusal_is_kept_pending_with_its_text_and_dropped_by_the_receptionist(harness: Harness) -> None:
    corse = row(0, "CORSE", "ANTHONY", "19800302", "M")
    harness.his.begin(("t", 6), [corse], STAFF)
    harness.wait("his_candidates")
    harness.his.choose(0, NEW_PATIENT)
    harness.sim.script("ae")
    control_id = harness.his.send(corse, STAFF, manual=False)
    (acked,) = harness.wait("his_acknowledged")
    assert (
        acked["ack"] == "AE" and acked["problem"].reason is Reason.HIS_REFUSED and "simulé" in acked["problem"].detail
    )
    harness.wait_for(lambda: ("his_pending", {"count": 1, "refused": 1}) in harness.events)
    (pending,) = harness.his.pending()
    assert pending.control_id == control_id and pending.state.value == "refused" and pending.label == "A28 C.A."
    status = read_status()
    assert status is not None and status["pending"][0]["ack"] == "AE" and "CORSE" not in str(status)
    assert harness.his.drop(control_id, STAFF) and harness.his.pending() == []
