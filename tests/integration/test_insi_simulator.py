"""The INSi client against the INSi simulator over HTTPS on 127.0.0.1 with mutual TLS (generated PKI)."""

from __future__ import annotations

import socket

import pytest
from lxml import etree

from drivers.errors import CardSwappedError
from kiosk.domain.ins import parse_matricule
from kiosk.domain.patient import Beneficiary, CardNature, VitaleRead
from kiosk.errors import TeleserviceError
from kiosk.teleservices.insi import InsiClient, InsiCode, InsiFaultError, LpsIdentity, Traits
from tests.support import teleservice_fixtures
from tests.support.teleservice_fixtures import LPS

make_insi = teleservice_fixtures.make_insi
sims = teleservice_fixtures.sims
simulators = teleservice_fixtures.simulators

CTXLPS, CTXBAM = "urn:siram:lps:ctxlps", "urn:siram:bam:ctxbam"
WSA = "http://www.w3.org/2005/08/addressing"
SOAP = "http://www.w3.org/2003/05/soap-envelope"


def traits(nom: str, prenoms: list[str], sexe: str, date: str, lieu: str = "") -> Traits:
    return Traits.from_desk(nom, prenoms, sexe, date, lieu)


CNDA = [
    ("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26", "2A020", "297022A02077878"),
    ("CORSE", ["ANTHONY"], "M", "1980-03-02", "2B020", "180032B02040123"),
    ("TCHITCHI", ["CATARINA"], "F", "1936-06-21", "63220", "236066322083656"),
    ("ECETINSI", ["PIERRE-ALAIN"], "M", "2009-07-14", "63220", "109076322083489"),
]


@pytest.mark.parametrize(("nom", "prenoms", "sexe", "date", "lieu", "ins"), CNDA)
def test_cnda_identities_by_traits(make_insi, nom, prenoms, sexe, date, lieu, ins) -> None:
    result = make_insi().search_traits_strategy(traits(nom, prenoms, sexe, date, lieu))
    assert result.code is InsiCode.FOUND
    assert result.identity.active.matricule.value == ins and result.identity.consistent
    assert result.identity.active.oid == "1.2.250.1.213.1.4.8"
    assert result.identity.traits.nom_naissance == nom and result.identity.status.value == "récupérée"
    assert result.message_id.startswith("uuid:")


def test_hermann_key_60_and_his_former_ins_are_shown_flagged(make_insi) -> None:
    result = make_insi().search_traits(traits("HERMANN", ["GATIEN"], "M", "1981-03-24"))
    identity = result.identity
    assert identity.active.matricule.value == "181036322045660" and not identity.consistent
    assert [h.matricule.value for h in identity.former] == ["181036322045660", "281036322045610"]
    assert [h.key_consistent for h in identity.former] == [False, False]
    assert len(identity.former) == 2


def test_houilles_no_identity_and_several_identities(make_insi) -> None:
    client = make_insi()
    assert client.search_traits(traits("HOUILLES", ["PIERRE"], "M", "1993-01-27")).code is InsiCode.NOT_FOUND
    several = client.search_traits(traits("JUMEAU", ["CLAUDE"], "F", "1985-02-07"))
    assert several.code is InsiCode.SEVERAL and several.identity is None


def test_first_name_strategy_each_name_then_the_whole_list(make_insi, sims) -> None:
    client = make_insi()
    before = sims.insi.count
    # CLAUDE alone: two people (CR 02); MARIE alone: one (CR 00) -> stop there.
    result = client.search_traits_strategy(traits("JUMEAU", ["CLAUDE", "MARIE"], "F", "1985-02-07"))
    assert result.code is InsiCode.FOUND and result.identity.active.matricule.value == "285027505612387"
    assert [(a.prenoms, a.code) for a in result.attempts] == [(1, "02"), (1, "00")]
    assert sims.insi.count - before == 2
    # Nothing matches alone nor together: every name, then the whole list; CR 02 wins over CR 01.
    result = client.search_traits_strategy(traits("JUMEAU", ["CLAUDE", "ZOE"], "F", "1985-02-07"))
    assert [(a.prenoms, a.code) for a in result.attempts] == [(1, "02"), (1, "01"), (2, "01")]
    assert result.code is InsiCode.SEVERAL
    sent = etree.fromstring(sims.insi.received[-1].body)
    assert [p.text for p in sent.iter("{http://www.cnamts.fr/INSiRecSans}Prenom")] == ["CLAUDE", "ZOE"]


def test_request_headers_and_body_as_the_service_wants_them(make_insi, sims) -> None:
    child = Beneficiary(
        index=1,
        nom_usuel="ECETINSI",
        prenom="PIERRE-ALAIN",
        date_naissance="20090714",
        qualite="06",
        rang_naissance="1",
        nir_individuel=parse_matricule("109076322083489"),
        nir_ouvrant_droit=parse_matricule("181036322045660", strict=False),
    )
    read = VitaleRead(
        reader="vitale",
        card_counter=3,
        beneficiaries=(child,),
        nature=CardNature.DEMO,
        extra={"regime": "01", "caisse": "751"},
    )
    result = make_insi().search_vitale(child, read)
    assert result.found and result.identity.active.matricule.value == "109076322083489"
    request = sims.insi.received[-1]
    assert request.content_type.startswith("application/soap+xml")
    assert 'action="urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"' in request.content_type
    assert request.peer_cn == "INSI-AUTO"
    envelope = etree.fromstring(request.body)
    header = envelope.find(f"{{{SOAP}}}Header")
    assert [etree.QName(h).localname for h in header] == ["ContexteLPS", "MessageID", "ContexteBAM", "Action"]
    lps = header.find(f"{{{CTXLPS}}}ContexteLPS")
    assert (lps.get("Nature"), lps.get("Version")) == ("CTXLPS", "01_00")
    idam = lps.find(f"{{{CTXLPS}}}LPS/{{{CTXLPS}}}IDAM")
    assert (idam.text, idam.get("R")) == (LPS.idam, "4")
    assert lps.find(f"{{{CTXLPS}}}LPS/{{{CTXLPS}}}Nom").text == "urn:lps:KIOSK-TEST:9.9"
    assert lps.find(f"{{{CTXLPS}}}LPS/{{{CTXLPS}}}Instance").text == LPS.instance
    assert header.find(f"{{{WSA}}}MessageID").text == result.message_id
    assert header.find(f"{{{WSA}}}Action").text == "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"
    bam = header.find(f"{{{CTXBAM}}}ContexteBAM")
    assert bam.get("Version") == "01_02"
    couverture = bam.find(f"{{{CTXBAM}}}COUVERTURE")
    assert couverture.find(f"{{{CTXBAM}}}GrandRegime").text == "01"
    assert couverture.find(f"{{{CTXBAM}}}ASSURE/{{{CTXBAM}}}Id/{{{CTXBAM}}}Num").text == "1810363220456"
    assert couverture.find(f"{{{CTXBAM}}}BENEFICIAIRE/{{{CTXBAM}}}Nir/{{{CTXBAM}}}Num").text == "1090763220834"
    body = envelope.find(f"{{{SOAP}}}Body")[0]
    rv = "{http://www.cnamts.fr/INSiRecVit}"
    assert body.tag == f"{rv}RECVITALE"
    assert [etree.QName(c).localname for c in body] == [
        "MatriculeIndividu",
        "MatriculeOD",
        "NomNaissance",
        "DateNaissance",
        "RangNaissance",
    ]
    assert body.find(f"{rv}MatriculeIndividu/{rv}NumIdentifiant").text == "1090763220834"
    assert body.find(f"{rv}MatriculeOD/{rv}NumIdentifiant").text == "1810363220456"
    assert body.find(f".//{rv}Cle") is None and body.find(f".//{rv}TypeMatricule") is None
    assert body.find(f"{rv}DateNaissance").text == "2009-07-14"  # YYYY-MM-DD like every date of the service
    # Each call rebuilds the card context: a second call has a new MessageID and ContexteBAM Id.
    make_insi().search_vitale(child, read)
    again = etree.fromstring(sims.insi.received[-1].body).find(f"{{{SOAP}}}Header")
    assert again.find(f"{{{WSA}}}MessageID").text != result.message_id
    assert again.find(f"{{{CTXBAM}}}ContexteBAM/{{{CTXBAM}}}Id").text != bam.find(f"{{{CTXBAM}}}Id").text


def test_lunar_birth_date_from_the_card(make_insi) -> None:
    person = Beneficiary(index=0, nom_usuel="TCHITCHI", prenom="CATARINA", date_naissance="19360600", qualite="00")
    assert make_insi().search_vitale(person).found


def test_card_swap_detected_between_building_and_sending(make_insi, sims) -> None:
    person = Beneficiary(index=0, nom_usuel="ADRTROIS", prenom="DOMINIQUE", date_naissance="19970226")
    before = sims.insi.count

    def swapped() -> None:
        raise CardSwappedError("la carte a changé")

    with pytest.raises(CardSwappedError):
        make_insi().search_vitale(person, before_send=swapped)
    assert sims.insi.count == before  # nothing reached the service


def test_certificate_cn_checked_like_the_real_service(make_insi, sims) -> None:
    assert (
        make_insi(cert=sims.pki.extra["INSI-MANU"]).search_traits(traits("CORSE", ["ANTHONY"], "M", "1980-03-02")).found
    )
    with pytest.raises(InsiFaultError) as info:
        make_insi(cert=sims.pki.extra["MAUVAIS-CN"]).search_traits(traits("CORSE", ["ANTHONY"], "M", "1980-03-02"))
    assert info.value.code == "DESIR_560"


def test_unknown_software_authorisation_is_refused(make_insi) -> None:
    bad = LpsIdentity(idam="0000000000", name="X", version="1", instance="i", emitter="e")
    with pytest.raises(InsiFaultError) as info:
        make_insi(lps=bad).search_traits(traits("CORSE", ["ANTHONY"], "M", "1980-03-02"))
    assert (info.value.code, info.value.severity) == ("desir_550", "erreur")
    assert "autorisation du logiciel inconnu" in str(info.value)


@pytest.mark.parametrize(
    ("nom", "message"),
    [
        ("FAUTE", "insi_102"),
        ("CASSE", "mal formée"),
        ("ENTITES", "DOCTYPE"),
        ("ENORME", "trop volumineuse"),
        ("SOAP11", "SOAP 1.2"),
        ("PANNE", "HTTP 503"),
        ("GZIP", "compressée"),
    ],
)
def test_misbehaving_service_gives_clear_errors(make_insi, nom: str, message: str) -> None:
    with pytest.raises(TeleserviceError, match=message):
        make_insi().search_traits(traits(nom, ["X"], "M", "1990-01-01"))


def test_hung_connection_and_slow_reply_are_bounded_by_the_timeout(make_insi) -> None:
    with pytest.raises(TeleserviceError, match="pas de réponse en 1 s"):  # it returns (pytest-timeout catches a hang)
        make_insi(timeout_s=1.0).search_traits(traits("SILENCE", ["X"], "M", "1990-01-01"))
    assert (
        make_insi(timeout_s=5.0).search_traits(traits("LENTEUR", ["X"], "M", "1990-01-01")).code is InsiCode.NOT_FOUND
    )
    with pytest.raises(TeleserviceError, match="pas de réponse"):
        make_insi(timeout_s=0.2).search_traits(traits("LENTEUR", ["X"], "M", "1990-01-01"))
    with pytest.raises(
        TeleserviceError, match="réponse incomplète après 1 s"
    ):  # trickling: each byte in time, the whole not
        make_insi(timeout_s=1.0).search_traits(traits("GOUTTE", ["X"], "M", "1990-01-01"))


def test_tls_failures_are_clear(make_insi, sims) -> None:
    # Depending on timing, TLS 1.3 reports the refusal as an alert or as the server hanging up: both name the cause.
    with pytest.raises(TeleserviceError, match="négociation TLS .*certificat d'organisation"):
        make_insi(cert=sims.pki.extra["rogue"]).search_traits(traits("CORSE", ["ANTHONY"], "M", "1980-03-02"))
    anonymous = InsiClient(sims.insi_url, LPS, identity=None, ca_bundle=str(sims.ca_bundle))
    with anonymous, pytest.raises(TeleserviceError, match="négociation TLS .*certificat d'organisation"):
        anonymous.search_traits(traits("CORSE", ["ANTHONY"], "M", "1980-03-02"))
    other_ca = sims.pki.extra["rogue"].cert_pem  # a certificate that is not the server's CA
    with pytest.raises(TeleserviceError, match="certificat du serveur non reconnu"):
        make_insi(ca_bundle=str(other_ca)).search_traits(traits("CORSE", ["ANTHONY"], "M", "1980-03-02"))


def test_stalled_tls_handshake_is_bounded_by_the_connect_timeout(make_insi) -> None:
    with socket.socket() as listener:  # accepts TCP, never speaks TLS
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        with pytest.raises(TeleserviceError, match="négociation TLS sans réponse"):
            make_insi(endpoint=f"https://127.0.0.1:{port}/lps", timeout_s=30).search_traits(
                traits("CORSE", ["ANTHONY"], "M", "1980-03-02")
            )


def test_network_down_is_clear(make_insi) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TeleserviceError, match="injoignable"):
        make_insi(endpoint=f"https://127.0.0.1:{port}/lps").search_traits(
            traits("CORSE", ["ANTHONY"], "M", "1980-03-02")
        )


def raw_post(sims, body: bytes, content_type: str = "application/soap+xml;charset=utf-8") -> tuple[int, bytes]:
    """Post hand-made bytes with the organisation certificate: what the simulator does with a bad request."""
    from kiosk.teleservices import tlsclient
    from tests.support.teleservice_fixtures import identity

    context = tlsclient.client_ssl_context(identity(sims.pki.auth), str(sims.ca_bundle))
    with tlsclient.make_session(context, str(sims.ca_bundle)) as session:
        reply = tlsclient.post(
            session, sims.insi_url, body, {"Content-Type": content_type}, tlsclient.HttpLimits(), "test"
        )
    return reply.status_code, reply.content


def good_request(make_insi, sims) -> bytes:
    make_insi().search_traits(traits("CORSE", ["ANTHONY"], "M", "1980-03-02"))
    return sims.insi.received[-1].body


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b.replace(b"ContexteBAM", b"ContexteXYZ"), "siram_14"),  # header missing
        (lambda b: b.replace(b'Version="01_00"', b'Version="02_00"'), "siram_15"),
        (
            lambda b: b.replace(b"rechercherInsAvecTraitsIdentite</", b"rechercherInsAvecCarteVitale</"),
            "siram_20",
        ),  # action vs body
        (
            lambda b: b.replace(
                b"http://www.w3.org/2003/05/soap-envelope", b"http://schemas.xmlsoap.org/soap/envelope/"
            ),
            "siram_12",
        ),
        (lambda b: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + b.split(b"?>", 1)[1], "siram_10"),
        (lambda b: b[: len(b) // 2], "siram_10"),
    ],
)
def test_simulator_refuses_what_insi_refuses(make_insi, sims, mutate, code: str) -> None:
    from kiosk.teleservices.insi.response import parse_insi_reply

    status, content = raw_post(sims, mutate(good_request(make_insi, sims)))
    assert status == 500
    with pytest.raises(InsiFaultError) as info:
        parse_insi_reply(status, "", content)
    assert info.value.code == code


def test_simulator_refuses_soap11_content_type_and_huge_requests(make_insi, sims) -> None:
    from kiosk.teleservices.insi.response import parse_insi_reply

    status, content = raw_post(sims, good_request(make_insi, sims), "text/xml; charset=utf-8")
    with pytest.raises(InsiFaultError, match="siram_11"):
        parse_insi_reply(status, "", content)
    try:  # refused with 413 or, when the refusal lands while the client is still sending, the connection cut
        status, _ = raw_post(sims, b"<a>" + b"x" * 2_000_000 + b"</a>")
    except TeleserviceError:
        status = 413
    assert status == 413
