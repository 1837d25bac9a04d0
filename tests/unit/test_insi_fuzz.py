("""Damaged INSi and DMP answers (bytes flipped, cut, inserted; elements moved): a result or a clear error, never a "
 "crash.""")

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.states import DmpState
from kiosk.errors import TeleserviceError
from kiosk.sim.dmp_server import SHAPES, answer_bytes
from kiosk.sim.identities import IDENTITIES
from kiosk.sim.insi_server import InsiSimulator
from kiosk.teleservices.dmp.td02 import parse_td02_reply

INSI_ANSWERS = [InsiSimulator().answer_for([i], "uuid:x") for i in IDENTITIES[:5]] + [
    InsiSimulator().answer_for([], "uuid:x")
]
DMP_ANSWERS = [  # every state the DMP answers, in both answer shapes
    answer_bytes("297022A02077878", "1.2.250.1.213.1.4.8", state, shape)
    for state in DmpState if state is not DmpState.NO_INS for shape in SHAPES
]


@st.composite
def damaged(draw: st.DrawFn, answers: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(answers)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(
                st.sampled_from([b"<", b">", b"&", b"<!DOCTYPE x>", b"&amp;", b"<x>", b"</CR>", b"\x00", b"\xc3"])
            )
        elif data:
            del data[at : at + draw(st.integers(1, 40))]
    return bytes(data)


@settings(max_examples=400, deadline=None)
@given(damaged(INSI_ANSWERS), st.sampled_from([200, 500]))
def test_damaged_insi_answers(data: bytes, status: int) -> None:
    from kiosk.teleservices.insi.response import parse_insi_reply

    try:
        result = parse_insi_reply(status, "application/soap+xml", data)
    except TeleserviceError:
        return
    assert result.code.value in ("00", "01", "02")
    if result.identity is not None:
        assert len(result.identity.active.matricule.value) == 15


@settings(max_examples=400, deadline=None)
@given(damaged(DMP_ANSWERS), st.sampled_from([200, 500]))
def test_damaged_dmp_answers(data: bytes, status: int) -> None:
    try:
        status_ = parse_td02_reply(status, data)
    except TeleserviceError:
        return
    assert status_.label
