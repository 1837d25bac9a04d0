"""Turn INSi's answer bytes into an `InsiResult`, or a clear error.

Read by qualified element name, never by position (CNDA answers put DateDeb/DateFin before IdIndividu).
A SOAP fault becomes `InsiFaultError` carrying the `siram:Erreur` code and severity. Nothing here puts a
patient value in an exception message.
"""

from __future__ import annotations

from lxml import etree

from kiosk.errors import TeleserviceError
from kiosk.ins import MatriculeError, parse_matricule
from kiosk.insi.model import CodeCR, InsiIdentity, InsiResult, InsNumber, ReferenceTraits
from kiosk.privacy import scrub
from kiosk.soapxml import SoapFault, read_answer, text_of

__all__ = ["RESULTAT", "SIRAM", "InsiFaultError", "parse_insi_reply"]

RESULTAT = "http://www.cnamts.fr/INSiResultat"
SIRAM = "urn:siram"
_NS = {"r": RESULTAT}
SERVICE = "INSi"


class InsiFaultError(TeleserviceError):
    """INSi refused the request (SOAP fault). `code` is the siram code (e.g. DESIR_550), `severity` its level."""

    def __init__(self, code: str, severity: str, subcode: str, text: str) -> None:
        self.code, self.severity, self.subcode, self.text = code, severity, subcode, text
        super().__init__(f"INSi a refusé la requête : {code or subcode or 'erreur'} ({severity or 'gravité inconnue'}) — {text}")


def _fault_error(fault: SoapFault) -> InsiFaultError:
    erreur = fault.detail.find(f".//{{{SIRAM}}}Erreur") if fault.detail is not None else None
    subcode = next((s for s in fault.subcodes if s), "")
    if erreur is None:
        return InsiFaultError("", "", subcode or fault.code, scrub(fault.reason) or "faute SOAP sans détail")
    text = scrub(text_of(erreur)) or scrub(fault.reason)
    return InsiFaultError(erreur.get("code", ""), erreur.get("severite", ""), subcode, text)


def _one(parent: etree._Element, name: str, what: str) -> etree._Element:
    found = parent.findall(f"r:{name}", _NS)
    if len(found) != 1:
        raise TeleserviceError(f"INSi : réponse inexploitable ({what} : {len(found)} élément(s) {name})")
    return found[0]


def _ins(element: etree._Element, what: str) -> InsNumber:
    ident = _one(element, "IdIndividu", what)
    number, key = text_of(ident, "r:NumIdentifiant", _NS), text_of(ident, "r:Cle", _NS)
    try:
        matricule = parse_matricule(number, key, strict=False)
    except MatriculeError as e:
        raise TeleserviceError(f"INSi : {what} reçu invalide ({e.reason})") from None
    oid = text_of(element, "r:OID", _NS)
    if not oid:
        raise TeleserviceError(f"INSi : {what} sans OID")
    return InsNumber(
        matricule, oid, text_of(ident, "r:TypeMatricule", _NS), text_of(element, "r:DateDeb", _NS), text_of(element, "r:DateFin", _NS)
    )


def _traits(tiq: etree._Element) -> ReferenceTraits:
    return ReferenceTraits(
        nom_naissance=text_of(tiq, "r:NomNaissance", _NS),
        prenom=text_of(tiq, "r:Prenom", _NS),
        liste_prenom=text_of(tiq, "r:ListePrenom", _NS),
        sexe=text_of(tiq, "r:Sexe", _NS),
        date_naissance=text_of(tiq, "r:DateNaissance", _NS),
        lieu_naissance=text_of(tiq, "r:LieuNaissance", _NS),
    )


def parse_insi_reply(status: int, content_type: str, content: bytes, message_id: str = "") -> InsiResult:
    """Map one HTTP answer from INSi; raise `InsiFaultError` or `TeleserviceError` when it is not a result."""
    element = read_answer(status, content, SERVICE, _fault_error)
    if element.tag != f"{{{RESULTAT}}}RESULTAT":
        raise TeleserviceError(f"INSi : élément RESULTAT attendu, reçu {etree.QName(element).localname}")
    cr = _one(element, "CR", "compte rendu")
    raw_code, label = text_of(cr, "r:CodeCR", _NS), text_of(cr, "r:LibelleCR", _NS)
    try:
        code = CodeCR(raw_code)
    except ValueError:
        raise TeleserviceError(f"INSi : code compte rendu inconnu ({scrub(raw_code)[:10]!r})") from None
    if code is not CodeCR.FOUND:
        return InsiResult(code, label, None, message_id)  # any INDIVIDU beside CR 01/02 is ignored: never pick one
    individu = _one(element, "INDIVIDU", "CR 00")
    identity = InsiIdentity(
        active=_ins(_one(individu, "INSACTIF", "INS actif"), "INS actif"),
        former=tuple(_ins(h, "INS historique") for h in individu.findall("r:INSHISTO", _NS)),
        traits=_traits(_one(individu, "TIQ", "traits de référence")),
    )
    return InsiResult(code, label, identity, message_id)
