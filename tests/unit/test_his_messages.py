"""HL7 v2.5 messages to the hospital system: built and validated with hl7apy, checked here with python-hl7
(the other implementation) and the simulator's PAM FR rules."""

from __future__ import annotations

import datetime as dt

import hl7
import pytest

from kiosk.desk.outcomes import IdDocument, InsStatus
from kiosk.domain.ins import parse_matricule
from kiosk.sim.his_server import check_adt
from kiosk.teleservices.his import (
    AckCode,
    ControlIds,
    Envelope,
    HisIdentity,
    HisMessageError,
    PatientId,
    PdqQuery,
    build_adt,
    build_qbp,
    parse_ack,
    parse_pdq,
)
from kiosk.teleservices.his.messages import escape, hl7_date

ENV = Envelope("KIOSK-ACCUEIL", "330000001", "GAM", "CHU", "T")
NOW = dt.datetime(2026, 11, 30, 6, 30, 0)
INS = parse_matricule("297022A02077878")  # ADRTROIS DOMINIQUE, CNDA test identity (teleservices.md)
KIOSK_ID = PatientId("K0123456789ABCDEF", "KIOSK-ACCUEIL", "2.999.17.1")
IPP = PatientId("100001", "GAM-SIM", "2.999.17.2")


def identity(status: InsStatus = InsStatus.QUALIFIEE, **over: object) -> HisIdentity:
    values: dict[str, object] = dict(  # noqa: C408 - keyword form reads like the dataclass
        local_id=KIOSK_ID, status=status, birth_name="ADRTROIS", first_names=("DOMINIQUE", "MARIE"),
        birth_date="19970226", sex="F", birthplace="2A020", ins=INS, ins_oid="1.2.250.1.213.1.4.8",
        document=IdDocument.CNI if status in (InsStatus.QUALIFIEE, InsStatus.VALIDEE) else None,
    )
    values.update(over)
    return HisIdentity(**values)  # type: ignore[arg-type]


def pid(text: str) -> hl7.Segment:
    return hl7.parse(text).segment("PID")


def test_qualified_identity_a28_carries_the_ins_as_its_own_pid3_repetition() -> None:
    out = build_adt(ENV, "K1", identity(), NOW)
    msg = hl7.parse(out.text)
    assert str(msg.segment("MSH")[9]) == "ADT^A28^ADT_A05" and out.kind == "ADT^A28"
    assert str(msg.segment("MSH")[12]) == "2.5^FRA^2.11" and str(msg.segment("MSH")[11]) == "T"
    ids = str(pid(out.text)[3]).split("~")
    assert ids == [
        "K0123456789ABCDEF^^^KIOSK-ACCUEIL&2.999.17.1&ISO^PI",
        "297022A02077878^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS",
    ]
    assert str(pid(out.text)[5]) == "ADRTROIS^DOMINIQUE^DOMINIQUE MARIE^^^^L"
    assert str(pid(out.text)[7]) == "19970226" and str(pid(out.text)[8]) == "F"
    assert str(pid(out.text)[11]) == "^^^^^^BDL^^2A020"
    assert str(pid(out.text)[32]) == "QUAL"
    assert str(msg.segment("ZFD")) == "ZFD|||||CV|20261130|CN"  # how obtained, INSi date, ID document checked
    assert check_adt(out.text) == ("AA", [])


@pytest.mark.parametrize(
    ("status", "code"),
    [(InsStatus.RECUPEREE, "RECUP"), (InsStatus.VALIDEE, "VALI"), (InsStatus.PROVISOIRE, "PROV")],
)
def test_the_ins_never_travels_unless_the_identity_is_qualified(status: InsStatus, code: str) -> None:
    out = build_adt(ENV, "K2", identity(status), NOW)
    assert "1.2.250.1.213.1.4" not in str(pid(out.text)[3])
    assert str(pid(out.text)[32]) == code
    assert check_adt(out.text) == ("AA", [])


def test_a31_when_a_pdq_candidate_was_picked_carries_the_ipp_and_the_used_name() -> None:
    out = build_adt(ENV, "K3", identity(ipp=IPP, used_name="MARTIN"), NOW, operator="3999999/0001")
    msg = hl7.parse(out.text)
    assert str(msg.segment("MSH")[9]) == "ADT^A31^ADT_A05" and str(msg.segment("EVN")[1]) == "A31"
    assert "100001^^^GAM-SIM&2.999.17.2&ISO^PI" in str(pid(out.text)[3]).split("~")
    assert str(pid(out.text)[5]).split("~")[1] == "MARTIN^DOMINIQUE^^^^^D"
    assert str(msg.segment("EVN")[5]) == "3999999/0001"
    assert check_adt(out.text, {"100001"}) == ("AA", [])


@pytest.mark.parametrize(
    ("oid", "namespace"),
    [("1.2.250.1.213.1.4.9", "ASIP-SANTE-INS-NIA"), ("1.2.250.1.213.1.4.10", "ASIP-SANTE-INS-NIR")],
)
def test_the_ins_authority_comes_from_its_oid(oid: str, namespace: str) -> None:
    out = build_adt(ENV, "K4", identity(ins_oid=oid), NOW)
    assert f"{namespace}&{oid}&ISO^INS" in str(pid(out.text)[3])


def test_names_with_delimiters_are_escaped_and_read_back() -> None:
    out = build_adt(ENV, "K5", identity(birth_name="D'ARC^&", status=InsStatus.PROVISOIRE), NOW)
    assert str(pid(out.text)[5]).startswith("D'ARC\\S\\\\T\\^DOMINIQUE")
    assert escape("A|B~C\\D") == "A\\F\\B\\R\\C\\E\\D"


@pytest.mark.parametrize(("card", "hl7date"), [("19650000", "1965"), ("19650300", "196503"), ("1997-02-26", "19970226"),
                                               ("19970231", "199702"), ("", "")])
def test_lunar_and_impossible_dates_keep_only_what_is_known(card: str, hl7date: str) -> None:
    assert hl7_date(card) == hl7date


def test_lunar_birth_date_still_validates() -> None:
    out = build_adt(ENV, "K6", identity(birth_date="19650000", status=InsStatus.PROVISOIRE), NOW)
    assert str(pid(out.text)[7]) == "1965"


def test_hl7apy_refuses_what_the_standard_refuses() -> None:
    with pytest.raises(HisMessageError) as e:
        build_adt(Envelope("K" * 300), "K7", identity(), NOW)  # HD namespace longer than HL7 2.5 allows
    assert "ADRTROIS" not in str(e.value)
    with pytest.raises(HisMessageError):
        build_adt(ENV, "K8", identity(local_id=PatientId("X", "KIOSK", "")), NOW)  # no assigning authority
    with pytest.raises(HisMessageError):
        build_adt(ENV, "K9", identity(birth_name=""), NOW)


def test_pdq_by_ins_for_a_qualified_identity_and_by_traits_otherwise() -> None:
    by_ins = build_qbp(ENV, "Q1", PdqQuery(ins=INS, ins_oid="1.2.250.1.213.1.4.8"), NOW)
    qpd = hl7.parse(by_ins.text).segment("QPD")
    assert str(qpd[1]) == "IHE PDQ Query" and str(qpd[2]) == "Q1"
    assert str(qpd[3]) == "@PID.3.1^297022A02077878~@PID.3.4.2^1.2.250.1.213.1.4.8~@PID.3.4.3^ISO~@PID.3.5^INS"
    assert str(hl7.parse(by_ins.text).segment("MSH")[9]) == "QBP^Q22^QBP_Q21"
    by_traits = build_qbp(
        ENV, "Q2", PdqQuery(birth_name="TCHITCHI", first_name="CATARINA", birth_date="1936-06-21", sex="F"), NOW
    )
    assert (
        str(hl7.parse(by_traits.text).segment("QPD")[3])
        == "@PID.5.1.1^TCHITCHI~@PID.5.2^CATARINA~@PID.7.1^19360621~@PID.8^F"
    )
    assert str(hl7.parse(by_traits.text).segment("RCP")) == "RCP|I|10^RD"


def test_the_simulator_rejects_the_french_rule_breaches() -> None:
    good = build_adt(ENV, "K10", identity(), NOW).text
    assert check_adt(good.replace("|QUAL", "|RECUP")) == (
        "AE",
        ["PID-3 : INS transmis pour une identité non qualifiée"],
    )
    assert check_adt(good.replace("|QUAL", "|VALIDE"))[0] == "AE"
    assert check_adt(good.replace("^^^^L", "^^^^D"))[1] == ["PID-5 : nom de naissance (type L) absent"]
    assert check_adt(good.replace("|2.5^FRA^2.11|", "|2.3|"))[0] == "AR"
    assert check_adt(good.replace("\rPV1||N", ""))[0] == "AR"
    assert check_adt("garbage")[0] == "AR"


def test_answers_are_read_with_python_hl7() -> None:
    ack = parse_ack("MSH|^~\\&|GAM|CHU|||20261130||ACK^A28^ACK|1|P|2.5\rMSA|AE|K1\r"
                    "ERR||PID^1^3|207^Application internal error^HL70357|E||||IPP inconnu \\T\\ refus\r")
    assert (ack.code, ack.control_id, ack.text) == (AckCode.AE, "K1", "IPP inconnu & refus")
    assert parse_ack("MSH|^~\\&|GAM|CHU|||20261130||ACK|1|P|2.5\rMSA|CR|K2|texte\r").code is AckCode.AR
    answer = parse_pdq(
        "MSH|^~\\&|GAM|CHU|||20261130||RSP^K22^RSP_K21|1|P|2.5\rMSA|AA|Q1\rQAK|Q1|OK\rQPD|IHE PDQ Query|Q1|@PID.3.1^X\r"
        "PID|1||100003^^^GAM&2.999.17.2&ISO^PI||HOMONYME^CAMILLE^CAMILLE ROSE^^^^L~DUPONT^CAMILLE^^^^^D||19900101|F|||"
        "^^^^^^BDL^^69123\rPID|2||^^^GAM&2.999.17.2&ISO^PI||SANSIPP^A^^^^^L\r"
    )
    assert answer.status == "OK" and len(answer.candidates) == 1  # no IPP: nothing to update, not offered
    c = answer.candidates[0]
    assert (c.ipp.value, c.ipp.oid, c.birth_name, c.first_names, c.used_name, c.birthplace) == (
        "100003", "2.999.17.2", "HOMONYME", ("CAMILLE", "ROSE"), "DUPONT", "69123")
    assert "HOMONYME" not in repr(c) and "CAMILLE" not in repr(answer)


def test_control_ids_are_unique_even_within_one_millisecond() -> None:
    ids = ControlIds(clock=lambda: 1_800_000_000.0)
    made = [ids.next() for _ in range(5000)]
    assert len(set(made)) == 5000 and all(len(i) <= 20 for i in made)
    assert made == sorted(made)
