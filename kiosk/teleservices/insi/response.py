"""Turn INSi's answer bytes into an `InsiResult`, or a clear error.

Read by qualified element name, never by position (CNDA answers put DateDeb/DateFin before IdIndividu).
A SOAP fault becomes `InsiFaultError` carrying the `siram:Erreur` code and severity. Nothing here puts a
patient value in an exception message.
"""

from __future__ import annotations

from lxml import etree

from kiosk.domain.ins import MatriculeError, compute_key, parse_matricule
from kiosk.domain.privacy import scrub
from kiosk.domain.states import InsiCode
from kiosk.errors import TeleserviceError
from kiosk.teleservices.insi.model import InsiIdentity, InsiResult, InsNumber, ReferenceTraits
from kiosk.teleservices.soapxml import SoapFault, read_answer, text_of

__all__ = ["RESULTAT", "SIRAM", "InsiFaultError", "parse_insi_reply"]

RESULTAT = "http://www.cnamts.fr/INSiResultat"
SIRAM = "urn:siram"
_NS = {"r": RESULTAT}
SERVICE = "INSi"


# Faults a user can act on, by lower-case siram / DESIR code (real faults use lower case, the guide upper case).
_KNOWN_CODES = {
    "desir_550": "numéro d'autorisation du logiciel inconnu (IDAM) : vérifier lps.insi_idam",
    "desir_560": "certificat d'authentification refusé (CN INSI-AUTO ou INSI-MANU attendu)",
}
# Subcodes that say "try again later", not "your request is wrong" (a recorded CNDA fault: Receiver, siram_40).
_TRANSIENT_SUBCODES = frozenset({"siram_40"})


class InsiFaultError(TeleserviceError):
    """INSi answered with a SOAP fault. `code` is the siram:Erreur code (e.g. desir_550), `severity` its level.

    `transient` is True for a Receiver fault or `siram_40` (service temporarily unavailable): an external
    failure to retry, worded so, never "refusée". Severity is kept as sent: real faults say `fatal` where the
    XSD says `fatale`.
    """

    def __init__(self, code: str, severity: str, subcode: str, text: str, fault_code: str = "") -> None:
        self.code, self.severity, self.subcode, self.text, self.fault_code = code, severity, subcode, text, fault_code
        self.transient = subcode.lower() in _TRANSIENT_SUBCODES or fault_code == "Receiver"
        what = code or subcode or "erreur"
        if self.transient:
            message = f"INSi : service momentanément indisponible, réessayez ({what}) — {text}"
        else:
            hint = _KNOWN_CODES.get(code.lower(), "")
            message = f"INSi a refusé la requête : {what} ({severity or 'gravité inconnue'}) — {hint or text}"
        super().__init__(message)


def _fault_error(fault: SoapFault) -> InsiFaultError:
    erreur = fault.detail.find(f".//{{{SIRAM}}}Erreur") if fault.detail is not None else None
    subcode = next((s for s in fault.subcodes if s), "")
    if erreur is None:
        return InsiFaultError(
            "", "", subcode or fault.code, scrub(fault.reason) or "faute SOAP sans détail", fault.code
        )
    text = scrub(text_of(erreur)) or scrub(fault.reason)
    return InsiFaultError(erreur.get("code", ""), erreur.get("severite", ""), subcode, text, fault.code)


def _one(parent: etree._Element, name: str, what: str) -> etree._Element:
    found = parent.findall(f"r:{name}", _NS)
    if len(found) != 1:
        raise TeleserviceError(f"INSi : réponse inexploitable ({what} : {len(found)} élément(s) {name})")
    return found[0]


def _ins(element: etree._Element, what: str) -> InsNumber:
    ident = _one(element, "IdIndividu", what)
    number, key = text_of(ident, "r:NumIdentifiant", _NS), text_of(ident, "r:Cle", _NS)
    # The official RESULTAT XSD leaves Cle optional: without one, the key is computed (it is derived data).
    if not key and len(number) == 13:
        key = f"{compute_key(number):02d}" if _computable(number) else ""
    try:
        matricule = parse_matricule(number, key, strict=False)
    except MatriculeError as e:
        raise TeleserviceError(f"INSi : {what} reçu invalide ({e.reason})") from None
    oid = text_of(element, "r:OID", _NS)
    if not oid:
        raise TeleserviceError(f"INSi : {what} sans OID")
    return InsNumber(
        matricule,
        oid,
        text_of(ident, "r:TypeMatricule", _NS),
        text_of(element, "r:DateDeb", _NS),
        text_of(element, "r:DateFin", _NS),
        key_received=bool(text_of(ident, "r:Cle", _NS)),
    )


def _computable(number: str) -> bool:
    return number[:5].isdigit() and (number[5:7].isdigit() or number[5:7] in ("2A", "2B")) and number[7:].isdigit()


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
        code = InsiCode(raw_code)
    except ValueError:
        raise TeleserviceError(f"INSi : code compte rendu inconnu ({scrub(raw_code)[:10]!r})") from None
    if code is not InsiCode.FOUND:
        return InsiResult(code, label, None, message_id)  # any INDIVIDU beside CR 01/02 is ignored: never pick one
    individu = _one(element, "INDIVIDU", "CR 00")
    identity = InsiIdentity(
        active=_ins(_one(individu, "INSACTIF", "INS actif"), "INS actif"),
        former=tuple(_ins(h, "INS historique") for h in individu.findall("r:INSHISTO", _NS)),
        traits=_traits(_one(individu, "TIQ", "traits de référence")),
    )
    return InsiResult(code, label, identity, message_id)
