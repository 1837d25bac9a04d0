"""Issue 16 item 2: one INS status, one INSi result code, one DMP state, shared by clients, desk and UI; every
mapping keyed by member covers every member (a new member cannot fall through to a default)."""

from __future__ import annotations

import enum

import pytest

import kiosk.desk
import kiosk.teleservices.dmp
import kiosk.teleservices.insi
from kiosk.cli.commands import dmp_cmd
from kiosk.desk import texts
from kiosk.domain.states import DmpState, InsiCode, InsStatus
from kiosk.teleservices.dmp.td02 import STATE_LABELS
from kiosk.teleservices.insi.model import CR_LABELS


def test_each_value_is_defined_once() -> None:
    assert kiosk.desk.DmpState is kiosk.teleservices.dmp.DmpState is DmpState
    assert kiosk.desk.InsiCode is kiosk.teleservices.insi.InsiCode is InsiCode
    assert kiosk.desk.InsStatus is kiosk.teleservices.insi.InsStatus is InsStatus


@pytest.mark.parametrize(("mapping", "kind"), [
    (texts.DMP_TEXTS, DmpState),
    (texts.INSI_TEXTS, InsiCode),
    (texts.DMP_SHORT_TEXTS, DmpState),
    (texts.STATUS_TEXTS, InsStatus),
    (STATE_LABELS, DmpState),
    (dmp_cmd.EXIT_CODES, DmpState),
    (CR_LABELS, InsiCode),
], ids=["desk texts DMP", "desk texts INSi", "desk short DMP", "desk INS status", "DMP labels", "dmp exit codes",
        "INSi labels"])
def test_every_mapping_covers_every_member(mapping: dict[enum.Enum, object], kind: type[enum.Enum]) -> None:
    assert set(mapping) == set(kind), f"missing: {set(kind) - set(mapping)}"


def test_the_staff_role_setting_offers_exactly_the_known_codes() -> None:
    import typing

    from kiosk.config.schema_teleservices import DmpConfig
    from kiosk.teleservices.dmp.vihf import STAFF_ROLES

    assert set(typing.get_args(typing.get_type_hints(DmpConfig)["staff_role"])) == set(STAFF_ROLES)
