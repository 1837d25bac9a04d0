"""The INSi simulator: answers `rechercherInsAvecCarteVitale` / `rechercherInsAvecTraitsIdentite` like the test server.

It checks what the real service checks, and refuses the same way (SOAP fault with `siram:Erreur`): the
client certificate's CN (`DESIR_560` unless INSI-AUTO / INSI-MANU), SOAP 1.2, the headers in order with
their attributes, the software authorisation number (`desir_550`), the action matching the body. Answers
put `DateDeb` before `IdIndividu`, as real CNDA answers do.
"""

from __future__ import annotations

import gzip
import uuid
from xml.sax.saxutils import escape

from lxml import etree

from kiosk.sim.identities import IDENTITIES, INSI_SCENARIOS, SimIdentity
from kiosk.sim.soapserver import SimReply, SimRequest, soap12_fault
from kiosk.teleservices.soapxml import SOAP12, UntrustedXmlError, parse_untrusted, text_of

__all__ = ["InsiSimulator"]

CTXLPS = "urn:siram:lps:ctxlps"
CTXBAM = "urn:siram:bam:ctxbam"
WSA = "http://www.w3.org/2005/08/addressing"
RECVIT = "http://www.cnamts.fr/INSiRecVit"
RECSANS = "http://www.cnamts.fr/INSiRecSans"
RESULTAT = "http://www.cnamts.fr/INSiResultat"
ACTIONS = {
    f"{{{RECVIT}}}RECVITALE": "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale",
    f"{{{RECSANS}}}RECSANSVITALE": "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite",
}


class _Refusal(Exception):
    def __init__(self, code: str, text: str, subcode: str = "siram_100", severity: str = "erreur") -> None:
        super().__init__(text)
        self.code, self.text, self.subcode, self.severity = code, text, subcode, severity


def _digits(date: str) -> str:
    return "".join(c for c in date if c.isdigit())


def _same_birth_date(card: str, iso: str) -> bool:
    """Card dates may be lunar (00 for an unknown day or month): compare the known parts."""
    a, b = _digits(card)[:8], _digits(iso)
    if len(a) != 8:
        return False
    return a[:4] == b[:4] and all(x == y or x == "00" for x, y in ((a[4:6], b[4:6]), (a[6:8], b[6:8])))


class InsiSimulator:
    """The request handler of the INSi simulator (a `SoapServer` app)."""

    def __init__(self, *, accepted_cns: tuple[str, ...] = ("INSI-AUTO", "INSI-MANU"), refused_idam: str = "0000000000",
                 slow_s: float = 3.0, huge_bytes: int = 5_000_000) -> None:
        self.accepted_cns = accepted_cns
        self.refused_idam = refused_idam  # any other non-empty IDAM is accepted
        self.slow_s = slow_s
        self.huge_bytes = huge_bytes

    def __call__(self, request: SimRequest) -> SimReply:
        message_id = ""
        try:
            if not request.content_type.lower().startswith("application/soap+xml"):
                raise _Refusal("siram_11", "Content-Type SOAP 1.2 attendu (application/soap+xml)")
            if request.peer_cn not in self.accepted_cns:
                raise _Refusal("DESIR_560", "Le certificat d'authentification n'est pas autorisé pour ce service")
            try:
                envelope = parse_untrusted(request.body, "requête")
            except UntrustedXmlError as e:
                raise _Refusal("siram_10", f"Requête illisible : {e}") from None
            body, message_id = self._check_envelope(envelope)
            return self._answer(body, message_id)
        except _Refusal as refusal:
            detail = (
                f'<siram:Erreur xmlns:siram="urn:siram" severite="{refusal.severity}" code="{refusal.code}" '
                f'messageID="{escape(message_id)}">{escape(refusal.text)}</siram:Erreur>'
            )
            return SimReply(500, soap12_fault("Sender", refusal.subcode, escape(refusal.text), detail))

    def _check_envelope(self, envelope: etree._Element) -> tuple[etree._Element, str]:
        if envelope.tag != f"{{{SOAP12}}}Envelope":
            raise _Refusal("siram_12", "Enveloppe SOAP 1.2 attendue")
        header, body = envelope.find(f"{{{SOAP12}}}Header"), envelope.find(f"{{{SOAP12}}}Body")
        if header is None or body is None or len(body) != 1:
            raise _Refusal("siram_13", "En-tête ou corps SOAP manquant")
        order = [c.tag for c in header if isinstance(c.tag, str)]
        wanted = [f"{{{CTXLPS}}}ContexteLPS", f"{{{WSA}}}MessageID", f"{{{CTXBAM}}}ContexteBAM"]
        if [t for t in order if t in wanted] != wanted:
            raise _Refusal("siram_14", "En-têtes ContexteLPS, MessageID, ContexteBAM attendus dans cet ordre")
        lps = header.find(f"{{{CTXLPS}}}ContexteLPS")
        if lps.get("Nature") != "CTXLPS" or lps.get("Version") != "01_00":
            raise _Refusal("siram_15", "ContexteLPS : Nature CTXLPS et Version 01_00 attendues")
        idam = lps.find(f"{{{CTXLPS}}}LPS/{{{CTXLPS}}}IDAM")
        if idam is None or idam.get("R") != "4" or not text_of(idam) or text_of(idam) == self.refused_idam:
            raise _Refusal("desir_550", "Numéro d'autorisation du logiciel inconnu")
        if not text_of(lps, f"{{{CTXLPS}}}LPS/{{{CTXLPS}}}Instance") or not text_of(
            lps, f"{{{CTXLPS}}}LPS/{{{CTXLPS}}}Nom"
        ).startswith("urn:lps:"):
            raise _Refusal("siram_16", "ContexteLPS : Instance et Nom (urn:lps:...) attendus")
        if header.find(f"{{{CTXBAM}}}ContexteBAM").get("Version") != "01_02":
            raise _Refusal("siram_17", "ContexteBAM : Version 01_02 attendue")
        message_id = text_of(header, f"{{{WSA}}}MessageID")
        if not message_id:
            raise _Refusal("siram_18", "MessageID vide")
        request = body[0]
        expected = ACTIONS.get(request.tag)
        if expected is None:
            raise _Refusal("siram_19", "Opération inconnue")
        if text_of(header, f"{{{WSA}}}Action") != expected:
            raise _Refusal("siram_20", "wsa:Action ne correspond pas à l'opération")
        return request, message_id

    def _answer(self, request: etree._Element, message_id: str) -> SimReply:
        vitale = request.tag == f"{{{RECVIT}}}RECVITALE"
        ns = {"q": RECVIT if vitale else RECSANS}
        nom = text_of(request, "q:NomNaissance", ns).upper()
        scenario = INSI_SCENARIOS.get(nom, "")
        if scenario and scenario != "cr01":
            return self._misbehave(scenario, message_id)
        if vitale:
            found = self._match_vitale(request, ns, nom)
        else:
            found = self._match_traits(request, ns, nom)
        return SimReply(200, self.answer_for(found, message_id))

    @staticmethod
    def _match_vitale(request: etree._Element, ns: dict[str, str], nom: str) -> list[SimIdentity]:
        date = text_of(request, "q:DateNaissance", ns)
        own = text_of(request, "q:MatriculeIndividu/q:NumIdentifiant", ns)
        return [
            i for i in IDENTITIES
            if i.nom == nom and _same_birth_date(date, i.naissance) and (not own or own == i.nir)
        ]

    @staticmethod
    def _match_traits(request: etree._Element, ns: dict[str, str], nom: str) -> list[SimIdentity]:
        prenoms = {text_of(p).upper() for p in request.findall("q:Prenom", ns)}
        sexe, date, lieu = (text_of(request, f"q:{n}", ns) for n in ("Sexe", "DateNaissance", "LieuNaissance"))
        return [
            i for i in IDENTITIES
            if i.nom == nom and i.sexe == sexe and i.naissance == date and (not lieu or lieu == i.lieu)
            and prenoms <= set(i.prenoms)
        ]

    @staticmethod
    def _ins(tag: str, nir: str, cle: str, oid: str, start: str, end: str = "") -> str:
        dates = f"<DateDeb>{start}</DateDeb>" + (f"<DateFin>{end}</DateFin>" if end else "")
        return (
            f"<{tag}>{dates}<IdIndividu><NumIdentifiant>{nir}</NumIdentifiant><Cle>{cle}</Cle>"
            f"<TypeMatricule>NIR</TypeMatricule></IdIndividu><OID>{oid}</OID></{tag}>"
        )

    def answer_for(self, found: list[SimIdentity], message_id: str) -> bytes:
        """The RESULTAT envelope this simulator answers when `found` match (none: CR 01, several: CR 02)."""
        if not found:
            inner = "<CR><CodeCR>01</CodeCR><LibelleCR>Aucune identite trouvee</LibelleCR></CR>"
        elif len(found) > 1:
            inner = "<CR><CodeCR>02</CodeCR><LibelleCR>Plusieurs identites trouvees</LibelleCR></CR>"
        else:
            i = found[0]
            histo = "".join(self._ins("INSHISTO", n, c, i.oid, "2000-01-01", "2019-12-31") for n, c in i.histo)
            prenom = f"<Prenom>{i.prenoms[0]}</Prenom>" if i.prenom_in_tiq else ""
            tiq = (
                f"<TIQ><NomNaissance>{i.nom}</NomNaissance>{prenom}"
                f"<ListePrenom>{' '.join(i.prenoms)}</ListePrenom><Sexe>{i.sexe}</Sexe>"
                f"<DateNaissance>{i.naissance}</DateNaissance><LieuNaissance>{i.lieu}</LieuNaissance></TIQ>"
            )
            inner = (
                "<CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR><INDIVIDU>"
                + self._ins("INSACTIF", i.nir, i.cle, i.oid, "2020-01-01") + histo + tiq + "</INDIVIDU>"
            )
        return self._envelope(f'<RESULTAT xmlns="{RESULTAT}">{inner}</RESULTAT>', message_id)

    @staticmethod
    def _envelope(body: str, message_id: str) -> bytes:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP12}" xmlns:wsa="{WSA}">'
            f"<soap:Header><wsa:MessageID>uuid:{uuid.uuid4()}</wsa:MessageID><wsa:RelatesTo>{escape(message_id)}</wsa:RelatesTo>"
            f"</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
        ).encode()

    def _misbehave(self, scenario: str, message_id: str) -> SimReply:
        if scenario == "fault":  # shaped like a recorded real fault: Receiver, siram_40, "fatal", Reason marked "en"
            detail = (
                '<siram:Erreur xmlns:siram="urn:siram" severite="fatal" code="insi_102">L\'appel au service de '
                'recherche '
                "avec les traits d'identité renvoie une erreur technique.</siram:Erreur>"
            )
            reason = "Le service est temporairement inaccessible. Veuillez renouveler votre demande ultérieurement."
            return SimReply(500, soap12_fault("Receiver", "siram_40", reason, detail, lang="en"))
        if scenario == "slow":
            return SimReply(200, self.answer_for([], message_id), delay_s=self.slow_s)
        if scenario == "hang":
            return SimReply(200, b"", hang=True)
        if scenario == "drip":
            return SimReply(200, self.answer_for([], message_id), drip_s=0.05)
        if scenario == "gzip":
            packed = gzip.compress(self.answer_for([], message_id))
            return SimReply(200, packed, headers=(("Content-Encoding", "gzip"),))
        if scenario == "broken":
            return SimReply(200, self.answer_for([], message_id)[:-40])
        if scenario == "entities":
            bomb = (
                '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
                '"&lol;&lol;&lol;&lol;&lol;&lol;">'
                '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><RESULTAT xmlns="{RESULTAT}"><CR><CodeCR>01</CodeCR>'
                "<LibelleCR>&lol3;</LibelleCR></CR></RESULTAT></soap:Body></soap:Envelope>"
            )
            return SimReply(200, bomb.encode())
        if scenario == "huge":
            filler = "<LibelleCR>" + "x" * self.huge_bytes + "</LibelleCR>"
            return SimReply(
                200,
                self._envelope(
                    f'<RESULTAT xmlns="{RESULTAT}"><CR><CodeCR>01</CodeCR>{filler}</CR></RESULTAT>', message_id
                ),
            )
        if scenario == "soap11":
            return SimReply(200, (
                '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                f'<RESULTAT xmlns="{RESULTAT}"><CR><CodeCR>01</CodeCR></CR></RESULTAT></soap:Body></soap:Envelope>'
            ).encode(), content_type="text/xml")
        return SimReply(503, b"<html><body>Service Unavailable</body></html>", content_type="text/html")
