"""The MLLP link against the hospital simulator on 127.0.0.1 (python-hl7's asyncio server), plain and TLS."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from kiosk.desk.outcomes import IdDocument, InsStatus
from kiosk.domain.ins import parse_matricule
from kiosk.sim.his_server import HisSimulator, Scenario, server_tls_context
from kiosk.teleservices.his import (
    Ack,
    AckCode,
    Backoff,
    Envelope,
    HisClient,
    HisIdentity,
    HisLinkError,
    MllpLink,
    PdqQuery,
    PendingState,
)

if TYPE_CHECKING:
    from drivers.sim.pki import TestPki

INS = parse_matricule("297022A02077878")
DEADLINE = 60.0  # generous: the machine is loaded; waits end as soon as the condition holds


@pytest.fixture
def sim() -> Iterator[HisSimulator]:
    with HisSimulator(slow_s=0.5) as server:
        yield server


def client_for(sim: HisSimulator, *, timeout_s: float = 5.0, **link: object) -> HisClient:
    mllp = MllpLink("127.0.0.1", sim.port, timeout_s=timeout_s, backoff=Backoff(0.05, 0.2), **link)  # type: ignore[arg-type]
    return HisClient(mllp.start(), Envelope("KIOSK-ACCUEIL", "330000001", "GAM-SIM", "CH-DEMO", "T"), "2.999.17.1")


class Results:
    def __init__(self) -> None:
        self.acks: dict[str, Ack] = {}
        self.changed = threading.Condition()

    def __call__(self, control_id: str, ack: Ack) -> None:
        with self.changed:
            self.acks[control_id] = ack
            self.changed.notify_all()

    def wait(self, n: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.acks) >= n, DEADLINE)


def qualified(client: HisClient, **over: object) -> HisIdentity:
    values: dict[str, object] = dict(  # noqa: C408 - keyword form reads like the dataclass
        local_id=client.new_local_id(),
        status=InsStatus.QUALIFIEE,
        birth_name="ADRTROIS",
        first_names=("DOMINIQUE",),
        birth_date="19970226",
        sex="F",
        birthplace="2A020",
        ins=INS,
        ins_oid="1.2.250.1.213.1.4.8",
        document=IdDocument.CNI,
    )
    values.update(over)
    return HisIdentity(**values)  # type: ignore[arg-type]


def test_pdq_finds_the_known_patient_by_ins_and_both_homonyms_by_traits(sim: HisSimulator) -> None:
    client = client_for(sim)
    try:
        _, by_ins = client.find(PdqQuery(ins=INS, ins_oid="1.2.250.1.213.1.4.8"))
        assert by_ins.status == "OK" and [c.ipp.value for c in by_ins.candidates] == ["100001"]
        _, homonyms = client.find(PdqQuery(birth_name="HOMONYME", first_name="CAMILLE", birth_date="19900101", sex="F"))
        assert [c.ipp.value for c in homonyms.candidates] == ["100003", "100004"]  # both shown, never merged
        _, nobody = client.find(PdqQuery(birth_name="CORSE", first_name="ANTHONY"))
        assert nobody.status == "NF" and nobody.candidates == ()
        ping = client.ping()
        assert ping.answer.ack.code is AckCode.AA and ping.answer.status == "NF" and ping.round_trip_s > 0
    finally:
        client.close()


def test_identity_acknowledged_aa_leaves_nothing_pending(sim: HisSimulator) -> None:
    client, results = client_for(sim), Results()
    try:
        out = client.send(qualified(client), label="A28 D.A.", on_result=results)
        assert results.wait(1)
        assert results.acks[out.control_id].code is AckCode.AA
        assert client.pending() == [] and len(sim.received) == 1
    finally:
        client.close()


@pytest.mark.parametrize("scenario", [Scenario.AE, Scenario.AR])
def test_refusals_stay_listed_with_the_err_text_until_dropped(sim: HisSimulator, scenario: Scenario) -> None:
    client, results = client_for(sim), Results()
    try:
        sim.script(scenario)
        out = client.send(qualified(client), label="A28 D.A.", on_result=results)
        assert results.wait(1)
        (view,) = client.pending()
        assert view.state is PendingState.REFUSED and view.ack_code == scenario.value.upper()
        assert "simulé" in view.error and view.control_id == out.control_id
        assert client.drop(out.control_id) and client.pending() == []
    finally:
        client.close()


def test_a_real_rule_breach_comes_back_as_ae_with_the_reason(sim: HisSimulator) -> None:
    client, results = client_for(sim), Results()
    try:
        ipp_unknown = qualified(client, ipp=client.authority.with_value("999999"))  # A31 for an IPP nobody has
        client.send(ipp_unknown, label="A31", on_result=results)
        assert results.wait(1)
        (ack,) = results.acks.values()
        assert ack.code is AckCode.AE and ack.text == "PID-3 : IPP inconnu pour une mise à jour (A31)"
    finally:
        client.close()


def test_lost_connections_are_retried_until_acknowledged_in_order(sim: HisSimulator) -> None:
    client, results = client_for(sim, timeout_s=1.0), Results()
    try:
        sim.script(Scenario.DROP, Scenario.CUT, Scenario.SILENT, Scenario.SLOW)
        first = client.send(qualified(client), label="1", on_result=results)
        second = client.send(qualified(client, birth_name="TCHITCHI"), label="2", on_result=results)
        assert results.wait(2)
        assert all(a.code is AckCode.AA for a in results.acks.values())
        assert [t.split("|")[9] for t in sim.received] == [first.control_id, second.control_id]
        assert client.link.connections >= 4  # reconnected after the drop, the cut and the silent answer
        assert client.pending() == []
    finally:
        client.close()


def test_duplicate_ack_is_ignored(sim: HisSimulator) -> None:
    client, results = client_for(sim), Results()
    try:
        sim.script(Scenario.DUPLICATE)
        client.send(qualified(client), label="1", on_result=results)
        assert results.wait(1)
        _, answer = client.find(PdqQuery(ins=INS, ins_oid="1.2.250.1.213.1.4.8"))  # reads the stale ACK first
        assert answer.status == "OK" and len(results.acks) == 1
        assert client.link.duplicates_ignored == 1
    finally:
        client.close()


def test_pdq_on_a_dead_link_fails_at_once_with_a_french_message() -> None:
    with HisSimulator() as gone:
        port = gone.port
    mllp = MllpLink("127.0.0.1", port, timeout_s=2.0).start()
    try:
        with pytest.raises(HisLinkError, match="injoignable"):
            HisClient(mllp, Envelope("K"), "2.999.17.1").find(PdqQuery(birth_name="X"))
    finally:
        mllp.close()


def test_no_hl7_in_logs_above_debug(sim: HisSimulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client, results = client_for(sim), Results()
    try:
        client.find(PdqQuery(ins=INS, ins_oid="1.2.250.1.213.1.4.8"))
        sim.script(Scenario.DROP)
        client.send(qualified(client), label="1", on_result=results)
        assert results.wait(1)
    finally:
        client.close()
    text = "\n".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    assert "MSH|" not in text and "ADRTROIS" not in text and INS.value not in text


def test_tls_with_client_certificate(pki: TestPki) -> None:
    from kiosk.teleservices import tlsclient

    identity = tlsclient.load_identity(str(pki.auth.pkcs12), str(pki.auth.password_file), "", "his.pkcs12")
    with HisSimulator(tls=server_tls_context(pki)) as sim:
        good = client_for(sim, ssl_context=tlsclient.client_ssl_context(identity, str(pki.ca_bundle)))
        try:
            assert good.ping().answer.ack.code is AckCode.AA
        finally:
            good.close()
        anonymous = client_for(sim, ssl_context=tlsclient.client_ssl_context(None, str(pki.ca_bundle)))
        try:
            with pytest.raises(HisLinkError):
                anonymous.ping()  # the simulator asks for a client certificate
        finally:
            anonymous.close()
        untrusting = client_for(sim, ssl_context=tlsclient.client_ssl_context(identity, ""))
        try:
            with pytest.raises(HisLinkError, match="TLS"):
                untrusting.ping()  # the test CA is not in the system's trust store
        finally:
            untrusting.close()
