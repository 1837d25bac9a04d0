"""Fixtures shared by the integration tests of the loopback HTTPS simulators (param-lps, Web PS stand-in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from drivers.sim.pki import TestPki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The product's test PKI (`drivers.sim.pki`), one per module: the simulators' server certificate and CA."""
    from drivers.sim.pki import generate_pki

    return generate_pki(tmp_path_factory.mktemp("pki"))
