"""INSi answers mapped to the domain: CR 00/01/02, INSACTIF/INSHISTO/TIQ in any child order, faults, hostile XML."""

from __future__ import annotations

import itertools

import pytest

from kiosk.domain.states import InsiCode, InsStatus
from kiosk.errors import TeleserviceError
from kiosk.teleservices.insi.response import InsiFaultError, parse_insi_reply
from kiosk.teleservices.soapxml import UntrustedXmlError

ENV = '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>{}</soap:Body></soap:Envelope>'
RES = '<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat">{}</RESULTAT>'
CR00 = "<CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR>"


def ins(tag: str, nir: str, key: str, *, dates_first: bool = True, fin: str = "") -> str:
    ident = (f"<IdIndividu><Cle>{key}</Cle><NumIdentifiant>{nir}</NumIdentifiant><TypeMatricule>NIR</TypeMatricule>"
             "</IdIndividu>")
    dates = "<DateDeb>2020-01-01</DateDeb>" + (f"<DateFin>{fin}</DateFin>" if fin else "")
    oid = "<OID>1.2.250.1.213.1.4.8</OID>"
    return f"<{tag}>{dates + ident + oid if dates_first else oid + ident + dates}</{tag}>"


TIQ = (
    "<TIQ><LieuNaissance>63220</LieuNaissance><Sexe>M</Sexe><NomNaissance>HERMANN</NomNaissance><Prenom>GATIEN</Prenom>"
    "<ListePrenom>GATIEN</ListePrenom><DateNaissance>1981-03-24</DateNaissance></TIQ>"
)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>&d;</soap:Body></soap:Envelope>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>&e;</soap:Body></soap:Envelope>'
)


def reply(inner: str, status: int = 200) -> object:
    return parse_insi_reply(status, "application/soap+xml", ENV.format(RES.format(inner)).encode(), "uuid:1")


def test_cr00_with_dates_before_idindividu_and_children_in_any_order() -> None:
    parts = [ins("INSACTIF", "2970226020778", "78"), ins("INSHISTO", "1810363220456", "60", fin="2019-12-31"), TIQ]
    parts[0] = parts[0].replace("2970226020778", "297022A020778")
    for order in itertools.permutations(parts):
        result = reply(CR00 + "<INDIVIDU>" + "".join(order) + "</INDIVIDU>")
        assert result.code is InsiCode.FOUND and result.found
        identity = result.identity
        assert identity.active.matricule.value == "297022A02077878"
        assert identity.active.oid == "1.2.250.1.213.1.4.8" and identity.active.date_deb == "2020-01-01"
        assert [h.matricule.value for h in identity.former] == ["181036322045660"]
        assert identity.former[0].date_fin == "2019-12-31"
        assert identity.traits.nom_naissance == "HERMANN" and identity.traits.lieu_naissance == "63220"
        assert identity.status is InsStatus.RECUPEREE
    # CR placed after INDIVIDU, fields of INS in schema order: still read
    result = reply(
        "<INDIVIDU>" + ins("INSACTIF", "297022A020778", "78", dates_first=False) + TIQ + "</INDIVIDU>" + CR00
    )
    assert result.found and result.identity.active.matricule.key_ok


def test_key_failing_mod97_is_kept_and_flagged_never_dropped() -> None:
    # HERMANN's CNDA answer: key 60 where 76 would satisfy the rule.
    result = reply(
        CR00
        + "<INDIVIDU>"
        + ins("INSACTIF", "1810363220456", "60")
        + ins("INSHISTO", "2810363220456", "10")
        + TIQ
        + "</INDIVIDU>"
    )
    assert result.found
    assert result.identity.active.matricule.value == "181036322045660"
    assert not result.identity.active.key_consistent and not result.identity.consistent
    assert not result.identity.former[0].key_consistent
    shown = result.as_dict(reveal=False)
    assert shown["consistent"] is False and shown["ins_actif"]["key_consistent"] is False
    assert shown["ins_actif"]["ins"] == "1810...60"  # masked unless revealed
    assert result.as_dict(reveal=True)["ins_actif"]["ins"] == "181036322045660"


@pytest.mark.parametrize("code", ["01", "02"])
def test_cr01_cr02_never_pick_an_identity(code: str) -> None:
    result = reply(
        f"<CR><CodeCR>{code}</CodeCR><LibelleCR>x</LibelleCR></CR>"
        f"<INDIVIDU>{ins('INSACTIF', '297022A020778', '78')}{TIQ}</INDIVIDU>"
    )
    assert result.code is InsiCode(code) and result.identity is None and not result.found


def test_unknown_cr_and_incomplete_answers_are_errors() -> None:
    with pytest.raises(TeleserviceError, match="code compte rendu inconnu"):
        reply("<CR><CodeCR>07</CodeCR></CR>")
    with pytest.raises(TeleserviceError, match="INDIVIDU"):
        reply(CR00)
    with pytest.raises(TeleserviceError, match="INS actif"):
        reply(CR00 + "<INDIVIDU>" + TIQ + "</INDIVIDU>")
    with pytest.raises(TeleserviceError, match="INS actif"):
        reply(CR00 + "<INDIVIDU>" + ins("INSACTIF", "297022A020778", "78") * 2 + TIQ + "</INDIVIDU>")
    with pytest.raises(TeleserviceError, match="invalide") as info:
        reply(CR00 + "<INDIVIDU>" + ins("INSACTIF", "397022A020778", "78") + TIQ + "</INDIVIDU>")
    assert "397022A020778" not in str(info.value)


def test_siram_fault_becomes_a_clear_error() -> None:
    fault = (
        '<soap:Fault xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Code><soap:Value>soap:Sender</soap:Value>'
        '<soap:Subcode><soap:Value xmlns:s="urn:siram">s:siram_100</soap:Value></soap:Subcode></soap:Code>'
        '<soap:Reason><soap:Text xml:lang="fr">Erreur</soap:Text></soap:Reason><soap:Detail>'
        '<siram:Erreur xmlns:siram="urn:siram" severite="fatale" code="desir_550" messageID="uuid:1">'
        "Numéro d'autorisation du logiciel inconnu</siram:Erreur></soap:Detail></soap:Fault>"
    )
    with pytest.raises(InsiFaultError) as info:
        parse_insi_reply(500, "application/soap+xml", ENV.format(fault).encode())
    error = info.value
    assert (error.code, error.severity, error.subcode) == ("desir_550", "fatale", "siram_100")
    assert "desir_550" in str(error) and "autorisation du logiciel inconnu" in str(error)
    bare = fault.replace(fault[fault.index("<soap:Detail>"):fault.index("</soap:Fault>")], "")
    with pytest.raises(InsiFaultError, match="siram_100"):
        parse_insi_reply(500, "application/soap+xml", ENV.format(bare).encode())


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "vide"),
        (b"<soap:Envelope", "mal formée"),
        (b"\x00\xff\xfe garbage", "UTF-8"),
        ("<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"), "UTF-8"),
        (b"\x80\x81 not xml", "mal formée"),
        (BILLION_LAUGHS, "DOCTYPE"),
        (EXTERNAL_ENTITY, "DOCTYPE"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>',
            "DOCTYPE",
        ),
        (
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/></soap:Body></soap:Envelope>',
            "SOAP 1.2",
        ),
        (b"<Envelope><Body><RESULTAT/></Body></Envelope>", "SOAP 1.2"),
        (ENV.format("").encode(), "Body SOAP vide"),
        (
            ENV.format('<RESULTAT xmlns="urn:autre"><CR><CodeCR>00</CodeCR></CR></RESULTAT>').encode(),
            "RESULTAT attendu",
        ),
    ],
)
def test_hostile_or_broken_xml_is_refused_quickly(payload: bytes, message: str) -> None:
    with pytest.raises(TeleserviceError, match=message):  # no expansion, no network fetch
        parse_insi_reply(200, "application/soap+xml", payload)


def test_deeply_nested_document_is_refused() -> None:
    deep = b"<a>" * 300_000 + b"</a>" * 300_000
    with pytest.raises(UntrustedXmlError):
        parse_insi_reply(200, "application/soap+xml", deep)


def test_http_error_without_soap_is_reported_with_its_status() -> None:
    with pytest.raises(TeleserviceError, match="HTTP 503"):
        parse_insi_reply(503, "text/html", b"<html><body>down</body></html>")
    with pytest.raises(TeleserviceError, match="HTTP 502"):
        parse_insi_reply(502, "text/plain", b"")
