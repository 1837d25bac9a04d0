"""The private pcscd fixture itself: the two vpcd readers appear through pyscard."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.pcscd


def test_vpcd_readers_are_listed(pcscd) -> None:
    from smartcard.scard import (
        SCARD_S_SUCCESS,
        SCARD_SCOPE_USER,
        SCardEstablishContext,
        SCardListReaders,
        SCardReleaseContext,
    )

    rc, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    assert rc == SCARD_S_SUCCESS
    try:
        rc, readers = SCardListReaders(ctx, [])
        assert rc == SCARD_S_SUCCESS and readers == ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    finally:
        SCardReleaseContext(ctx)
