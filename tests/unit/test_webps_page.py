"""The XHTML page of PDT-INF-547: structure, bases, page table, validation before anything is produced."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from kiosk.config import parse_config
from kiosk.domain.ins import InsOid
from kiosk.teleservices.webps import LinkError, build_page, render_print, resolve_link

XHTML = "{http://www.w3.org/1999/xhtml}"
NIR = "255069999999934"  # the sheet's own example, key correct
NIA = "755069999999975"


def _config(tmp_path: Path, text: str = 'environment = "prod"'):  # type: ignore[no-untyped-def]
    config, _ = parse_config(f'state_dir = "{tmp_path}"\n{text}')  # lps.* problems don't matter here
    return config


def _parse(page: str) -> etree._Element:
    return etree.fromstring(page.encode(), etree.XMLParser(resolve_entities=False, no_network=True))


def test_page_structure_follows_the_sheet(tmp_path: Path) -> None:
    page = build_page(_config(tmp_path), "DossierPatient", ins=NIR)
    assert page.startswith('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
                           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">')
    root = _parse(page)
    assert root.tag == f"{XHTML}html"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr" and root.get("lang") == "fr"
    assert root.find(f"{XHTML}body").get("onload") == "document.forms[0].submit()"
    forms = root.findall(f".//{XHTML}form")
    assert len(forms) == 1
    form = forms[0]
    assert form.get("action") == "https://wps-cps.dmp.monespacesante.fr/AccesDirect/DossierPatient"
    assert form.get("method").upper() == "POST"
    hidden = {i.get("name"): i.get("value") for i in form.iter(f"{XHTML}input") if i.get("type") == "hidden"}
    assert hidden == {"INS": NIR, "typeINS": InsOid.NIR.value}


def test_psc_base_and_nia_oid(tmp_path: Path) -> None:
    root = _parse(build_page(_config(tmp_path), "Documents", ins=NIA, oid=InsOid.NIA, access="psc"))
    form = root.find(f".//{XHTML}form")
    assert form.get("action") == "https://wps-psc.dmp.monespacesante.fr/AccesDirect/Documents"
    assert {i.get("name"): i.get("value") for i in form.iter(f"{XHTML}input") if i.get("name")}[
        "typeINS"
    ] == InsOid.NIA.value


def test_the_oid_decides_nia_never_the_first_digit(tmp_path: Path) -> None:
    """CNDA TEST_2.05: a NIA (OID .9) whose matricule starts with 1 opens its page with typeINS .9."""
    form = _parse(build_page(_config(tmp_path), "DossierPatient", ins="109076322088835", oid=InsOid.NIA)).find(
        f".//{XHTML}form"
    )
    hidden = {i.get("name"): i.get("value") for i in form.iter(f"{XHTML}input") if i.get("type") == "hidden"}
    assert hidden == {"INS": "109076322088835", "typeINS": InsOid.NIA.value}


@pytest.mark.parametrize("page", ["TableauDeBord", "Parametrages", "tableaudebord"])
def test_pages_without_ins_have_no_hidden_fields(tmp_path: Path, page: str) -> None:
    form = _parse(build_page(_config(tmp_path), page)).find(f".//{XHTML}form")
    assert form.get("action").endswith("/AccesDirect/" + ("TableauDeBord" if page.lower() == "tableaudebord" else page))
    assert not [i for i in form.iter(f"{XHTML}input") if i.get("type") == "hidden"]


def test_tableau_de_bord_may_carry_an_ins(tmp_path: Path) -> None:
    assert f'value="{NIR}"' in build_page(_config(tmp_path), "TableauDeBord", ins=NIR)


@pytest.mark.parametrize("kwargs,code,fragment", [
    ({"page": "DossierPatient"}, "ins", "demande le matricule"),
    ({"page": "PageInconnue", "ins": NIR}, "page", "inconnue"),
    ({"page": "DossierPatient", "ins": "255069999999935"}, "ins", "clé"),
    ({"page": "DossierPatient", "ins": "25506999999"}, "ins", "longueur"),
    ({"page": "DossierPatient", "ins": NIR, "oid": "1.2.3.4"}, "oid", "inconnu"),
    ({"page": "DossierPatient", "ins": NIR, "oid": InsOid.TEST.value}, "oid", "refusé en environnement prod"),
    ({"page": "DossierPatient", "ins": NIR, "oid": InsOid.DEMO.value}, "oid", "refusé en environnement prod"),
    ({"page": "TableauDeBord", "oid": InsOid.NIR.value}, "ins", "OID sans matricule"),
    ({"page": "DossierPatient", "ins": NIR, "access": "web"}, "access", "inconnu"),
])
def test_anything_invalid_gives_a_clear_error_and_no_page(
    tmp_path: Path, kwargs: dict, code: str, fragment: str
) -> None:
    with pytest.raises(LinkError) as info:
        build_page(_config(tmp_path), **kwargs)
    assert info.value.code == code and fragment in str(info.value)
    assert "255069999999" not in str(info.value)  # never the matricule in clear


def test_test_environment_uses_its_own_domains_and_test_oid(tmp_path: Path) -> None:
    with pytest.raises(LinkError, match="webps.cpx_base"):  # no production default in test
        build_page(_config(tmp_path, 'environment = "test"'), "DossierPatient", ins=NIR)
    config = _config(tmp_path, 'environment = "test"\n[webps]\ncpx_base = "https://wps-cps.formation.dmp.example/"\n')
    page = build_page(config, "DossierPatient", ins=NIR, oid=InsOid.TEST.value)
    assert 'action="https://wps-cps.formation.dmp.example/AccesDirect/DossierPatient"' in page
    assert f'value="{InsOid.TEST.value}"' in page


def test_page_table_comes_from_configuration_and_values_are_escaped(tmp_path: Path) -> None:
    config = _config(tmp_path, '[webps]\ncpx_base = "https://wps.dmp.fr/a&b\\"<x>"\n'
                               '[webps.pages]\nParcoursDeSoins = true\nAccueil = false\n')
    page = build_page(config, "ParcoursDeSoins", ins=NIR)
    assert 'action="https://wps.dmp.fr/a&amp;b&quot;&lt;x&gt;/AccesDirect/ParcoursDeSoins"' in page
    _parse(page)  # still well-formed
    with pytest.raises(LinkError, match="inconnue"):
        build_page(config, "DossierPatient", ins=NIR)  # not in this site's table
    bad = _config(tmp_path, '[webps.pages]\n"Dossier/../x" = true\n')
    with pytest.raises(LinkError, match="nom de page invalide"):
        build_page(bad, "Dossier/../x", ins=NIR)


def test_print_rendering_shows_the_url_and_only_the_masked_matricule(tmp_path: Path) -> None:
    printable = render_print(_config(tmp_path), "DossierPatient", ins=NIR)
    assert "https://wps-cps.dmp.monespacesante.fr/AccesDirect/DossierPatient" in printable.text
    assert "2550...34" in printable.text and NIR not in printable.text
    assert printable.qr_png().startswith(b"\x89PNG")
    assert "█" in printable.qr_text()
    assert resolve_link(_config(tmp_path), "DossierPatient", ins=NIR).describe()["ins"] == "2550...34"


XHTML1_STRICT_DTD = Path("/usr/share/xml/w3c-sgml-lib/schema/dtd/REC-xhtml1-20020801/xhtml1-strict.dtd")


@pytest.mark.skipif(not XHTML1_STRICT_DTD.exists(), reason="Debian's w3c-sgml-lib (the W3C DTDs) is not installed")
@pytest.mark.parametrize("page,ins", [("DossierPatient", NIR), ("TableauDeBord", None)])
def test_page_is_valid_xhtml_1_0_strict(tmp_path: Path, page: str, ins: str | None) -> None:
    dtd = etree.DTD(str(XHTML1_STRICT_DTD))
    assert dtd.validate(_parse(build_page(_config(tmp_path), page, ins=ins))), dtd.error_log.filter_from_errors()
