"""The INSi service description is the project's own, shipped in the package and never fetched."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from kiosk.errors import TeleserviceError
from kiosk.teleservices.insi.client import WSDL, BoundedTransport
from kiosk.teleservices.tlsclient import HttpLimits


def test_wsdl_and_schemas_ship_in_the_package_and_load_offline() -> None:
    import zeep

    names = {p.name for p in WSDL.parent.iterdir()}
    assert {"ICIR-v1.wsdl", "INSiRecVit.xsd", "INSiRecSans.xsd", "INSiResultat.xsd"} <= names
    transport = BoundedTransport(requests.Session(), HttpLimits())
    client = zeep.Client(str(WSDL), transport=transport)
    binding = client.wsdl.bindings["{http://www.cnamts.fr/webservice}ICIRBinding"]
    actions = {name: op.soapaction for name, op in binding.all().items()}
    assert actions == {
        "rechercherInsAvecCarteVitale": "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale",
        "rechercherInsAvecTraitsIdentite": "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite",
    }
    service = client.wsdl.services["ICIR-v1"]
    assert "ICIRPort" in service.ports


@pytest.mark.parametrize(
    "url", ["https://example.org/ICIR-v1.wsdl", "http://127.0.0.1:9/x.xsd", "/etc/passwd", "../../etc/hosts"]
)
def test_transport_refuses_anything_outside_the_package(url: str) -> None:
    transport = BoundedTransport(requests.Session(), HttpLimits())
    with pytest.raises(TeleserviceError, match="refusé"):
        transport.load(url)
    assert transport.load(str(WSDL)) == Path(WSDL).read_bytes()
