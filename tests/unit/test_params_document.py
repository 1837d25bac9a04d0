"""The param-lps reader: tolerant of layouts, hard on hostile XML and on URLs outside the allow-list."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.sim.paramlps import sample_document
from kiosk.teleservices.params import ParamsDataError, parse_document
from kiosk.teleservices.params.document import MAX_ELEMENTS

DOMAINS = ["dmp.fr", "dmp.gouv.fr", "monespacesante.fr"]


def test_sample_document_maps_every_known_setting_and_keeps_the_rest() -> None:
    doc = parse_document(sample_document(), DOMAINS)
    assert doc.settings == {
        "webps.cpx_base": "https://wps-cps.dmp.monespacesante.fr",
        "webps.psc_base": "https://wps-psc.dmp.monespacesante.fr",
        "dmp.webservices": "https://lps2.dmp.gouv.fr/",
        "dmp.secrets_document_url": "https://www.dmp.fr/documents/d/dmp/document-des-secrets",
        "dmp.creation_ack_url": "https://www.dmp.fr/documents/d/dmp/accuse-de-creation",
        "dmp.majority_age": 18,
        "dmp.minors_management": True,
    }
    extras = {e.name: e.value for e in doc.extras}
    assert extras == {"matriceCompatibiliteNavigateur": "https://www.dmp.fr/documents/matrice-compatibilite-navigateur",
                      "delaiAutorisationMois": "6"}
    assert doc.version == "2024-04-29"


@pytest.mark.parametrize(
    "xml",
    [
        # nested elements named by tag, a namespace, accents and another case
        b"""<?xml version="1.0" encoding="ISO-8859-1"?>
    <p:Parametres xmlns:p="urn:exemple"><p:WebPS><p:URL_WebPS_CPx>https://wps-cps.dmp.monespacesante.fr</p:URL_WebPS_CPx>
    </p:WebPS><p:Mineurs><p:AgeMajorit\xe9>18</p:AgeMajorit\xe9><p:GestionMineurs>oui</p:GestionMineurs></p:Mineurs>
    <p:NouvelleCle>x</p:NouvelleCle></p:Parametres>""",
        # key/value attributes
        b"""<params><param cle="url-webps-cpx" valeur="https://wps-cps.dmp.monespacesante.fr"/>
    <param cle="age_majorite" valeur="18"/><param cle="gestion-mineurs" valeur="1"/><param cle="autre"
    valeur="y"/></params>""",
    ],
)
def test_other_layouts_are_read(xml: bytes) -> None:
    doc = parse_document(xml, DOMAINS)
    assert doc.settings["webps.cpx_base"] == "https://wps-cps.dmp.monespacesante.fr"
    assert doc.settings["dmp.majority_age"] == 18
    assert doc.settings["dmp.minors_management"] is True
    assert len(doc.extras) == 1


@pytest.mark.parametrize("xml", [
    b"",
    b"<parametresLPS><url nom='webPsCpx'>https://wps-cps.dmp.monespacesante.fr</url>",  # truncated
    b"\x00\x01\x02 not xml",
    b"<html><body>Service indisponible</body></html>",  # an error page with status 200: nothing known
])
def test_unusable_documents_are_refused(xml: bytes) -> None:
    with pytest.raises(ParamsDataError):
        parse_document(xml, DOMAINS)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<parametresLPS><url nom="webPsCpx">https://wps-cps.dmp.monespacesante.fr</url><x>&lol9;</x></parametresLPS>"""
XXE_FILE = b"""<?xml version="1.0"?><!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<parametresLPS><url nom="webPsCpx">https://wps-cps.dmp.monespacesante.fr</url><x>&xxe;</x></parametresLPS>"""
XXE_NETWORK = b"""<?xml version="1.0"?><!DOCTYPE p SYSTEM "http://127.0.0.1:9/evil.dtd">
<parametresLPS><url nom="webPsCpx">https://wps-cps.dmp.monespacesante.fr</url></parametresLPS>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE p [<!ENTITY % x SYSTEM "file:///etc/passwd"> %x;]>
<parametresLPS><url nom="webPsCpx">https://wps-cps.dmp.monespacesante.fr</url></parametresLPS>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, XXE_FILE, XXE_NETWORK, PARAMETER_ENTITY],
                         ids=["billion-laughs", "xxe-file", "external-dtd", "parameter-entity"])
def test_hostile_xml_is_refused_without_expansion(xml: bytes) -> None:
    with pytest.raises(ParamsDataError) as info:
        parse_document(xml, DOMAINS)
    assert "root:" not in str(info.value)  # nothing from /etc/passwd leaks into the message


def test_too_many_elements_are_refused() -> None:
    many = b"<p><url nom='webPsCpx'>https://wps-cps.dmp.monespacesante.fr</url>" + b"<e>1</e>" * MAX_ELEMENTS + b"</p>"
    with pytest.raises(ParamsDataError, match="éléments"):
        parse_document(many, DOMAINS)


@pytest.mark.parametrize("url,reason", [
    ("https://wps-cps.evil.example", "hors de la liste"),
    ("https://evilmonespacesante.fr", "hors de la liste"),  # a suffix is not a subdomain
    ("http://wps-cps.dmp.monespacesante.fr", "https"),
    ("https://user:pw@wps-cps.dmp.monespacesante.fr", "identifiants"),
    ("javascript:alert(1)", "https"),
])
def test_a_known_url_outside_the_rules_refuses_the_whole_file(url: str, reason: str) -> None:
    with pytest.raises(ParamsDataError, match=reason):
        parse_document(sample_document(urls={"webPsCpx": url}), DOMAINS)


def test_an_unknown_bad_url_is_kept_visible_but_flagged() -> None:
    doc = parse_document(sample_document(urls={"pageInconnue": "http://ailleurs.example/x"}), DOMAINS)
    flagged = [e for e in doc.extras if e.name == "pageInconnue"]
    assert flagged and flagged[0].problem and "https" in flagged[0].problem
    assert "http://ailleurs.example/x" not in doc.settings.values()


def test_bad_typed_values_and_duplicates_are_flagged_not_used() -> None:
    xml = sample_document(parameters={"ageMajorite": "dix-huit", "gestionMineurs": "peut-être"})
    doc = parse_document(xml, DOMAINS)
    assert "dmp.majority_age" not in doc.settings and "dmp.minors_management" not in doc.settings
    assert {e.problem for e in doc.entries if e.setting == "dmp.majority_age"} == {"nombre entier attendu"}
    dup = b"""<p><url nom="webPsCpx">https://wps-cps.dmp.monespacesante.fr</url>
              <url nom="urlWebPsCpx">https://autre.dmp.monespacesante.fr</url></p>"""
    doc = parse_document(dup, DOMAINS)
    assert doc.settings["webps.cpx_base"] == "https://wps-cps.dmp.monespacesante.fr"
    assert any(e.problem and "doublon" in e.problem for e in doc.entries)


def test_dtds_are_refused_before_libxml2_sees_them(tmp_path: Path) -> None:
    """libxml2 reads an internal subset's external parameter entities even with loading off: never let it."""
    canary = tmp_path / "canary.dtd"
    canary.write_text('<!ENTITY leaked "oui">')
    xml = (f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY % x SYSTEM "file://{canary}"> %x;]>'
           '<p><url nom="webPsCpx">https://wps-cps.dmp.monespacesante.fr</url><x>&leaked;</x></p>').encode()
    with pytest.raises(ParamsDataError, match="DTD"):  # the byte-level refusal, not a libxml2 parse error
        parse_document(xml, DOMAINS)
    with pytest.raises(ParamsDataError, match="XML attendu"):
        parse_document("<p/>".encode("utf-16"), DOMAINS)


def test_terminal_control_characters_are_neutralised() -> None:
    doc = parse_document(sample_document(parameters={"note\u009b": "a\u009b31mrouge\u0085"}), DOMAINS)
    shown = next(e for e in doc.extras if e.name.startswith("note"))
    assert "\u009b" not in shown.name + shown.value and "\u0085" not in shown.value
