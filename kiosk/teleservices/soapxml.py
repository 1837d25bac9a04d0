"""Reading SOAP 1.2 answers without trusting them: one hardened parser and the fault shape.

Everything a teleservice (or a simulator) receives goes through `parse_untrusted`: any DOCTYPE is refused
outright before parsing (entity expansion attacks need one, and libxml2 would fetch an external subset),
then no DTD loaded, no entity resolved, no network, no huge-tree mode. Answers are then read by qualified
name, never by child position: real services do not keep the XSD's order (INSi puts `DateDeb` before
`IdIndividu`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from kiosk.domain.privacy import scrub
from kiosk.errors import TeleserviceError

__all__ = [
    "SOAP12",
    "SoapFault",
    "UntrustedXmlError",
    "body_child",
    "parse_fault",
    "parse_untrusted",
    "read_answer",
    "text_of",
]

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


class UntrustedXmlError(TeleserviceError):
    """A document that is not well-formed XML, or carries a DTD / entities, or is not a SOAP envelope."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_comments=True, remove_pis=True, collect_ids=False,
    )


def parse_untrusted(data: bytes, service: str) -> etree._Element:
    """Parse bytes from the network into an element; any doubt is an `UntrustedXmlError`."""
    if not data.strip():
        raise UntrustedXmlError(f"{service} : réponse vide")
    # Refused before libxml2 sees them: it fetches an external DTD subset even with DTD loading off, and a
    # UTF-16/32 document would hide a DOCTYPE from the byte search below (SOAP answers here are UTF-8).
    if data[:2] in (b"\xfe\xff", b"\xff\xfe") or b"\x00" in data[:64]:
        raise UntrustedXmlError(f"{service} : réponse refusée (encodage autre qu'UTF-8)")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UntrustedXmlError(f"{service} : réponse refusée (DOCTYPE / entités interdits)")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as e:
        raise UntrustedXmlError(
            f"{service} : réponse XML mal formée ({scrub(e.msg.splitlines()[0]) if e.msg else 'syntaxe'})"
        ) from e
    except ValueError as e:  # e.g. a str with an encoding declaration
        raise UntrustedXmlError(f"{service} : réponse XML illisible") from e
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UntrustedXmlError(f"{service} : réponse refusée (DOCTYPE / entités interdits)")
    return root


def body_child(envelope: etree._Element, service: str) -> etree._Element:
    """The first element in a SOAP 1.2 Body; a SOAP 1.1 envelope or anything else is refused."""
    if envelope.tag != f"{{{SOAP12}}}Envelope":
        found = etree.QName(envelope).namespace or "(aucun)"
        raise UntrustedXmlError(f"{service} : enveloppe SOAP 1.2 attendue (espace de noms reçu : {found})")
    body = envelope.find(f"{{{SOAP12}}}Body")
    if body is None:
        raise UntrustedXmlError(f"{service} : enveloppe SOAP sans Body")
    child = next((c for c in body if isinstance(c.tag, str)), None)
    if child is None:
        raise UntrustedXmlError(f"{service} : Body SOAP vide")
    return child


def text_of(element: etree._Element | None, path: str = "", ns: dict[str, str] | None = None) -> str:
    """Stripped text of `element` (or of its descendant at `path`), "" when absent."""
    if element is None:
        return ""
    target = element.find(path, ns) if path else element
    return (target.text or "").strip() if target is not None else ""


@dataclass(frozen=True)
class SoapFault:
    code: str  # env:Sender / env:Receiver, local name
    subcodes: tuple[str, ...]
    reason: str
    detail: etree._Element | None


def parse_fault(element: etree._Element) -> SoapFault | None:
    """A SOAP 1.2 Fault from a Body child, or None when it is not one."""
    if element.tag != f"{{{SOAP12}}}Fault":
        return None
    ns = {"e": SOAP12}
    code = text_of(element, "e:Code/e:Value", ns).rpartition(":")[2]
    subcodes = []
    sub = element.find("e:Code/e:Subcode", ns)
    while sub is not None:
        subcodes.append(text_of(sub, "e:Value", ns).rpartition(":")[2])
        sub = sub.find("e:Subcode", ns)
    reasons = element.findall("e:Reason/e:Text", ns)
    reason = next(
        (text_of(r) for r in reasons if r.get("{http://www.w3.org/XML/1998/namespace}lang", "").startswith("fr")), ""
    )
    reason = reason or (text_of(reasons[0]) if reasons else "")
    return SoapFault(code, tuple(subcodes), reason, element.find("e:Detail", ns))


def read_answer(
    status: int, content: bytes, service: str, fault_error: Callable[[SoapFault], Exception]
) -> etree._Element:
    """The Body child of one HTTP answer that is neither a fault nor an HTTP error.

    A SOAP fault raises `fault_error(fault)` whatever the status; an HTTP error status without one (an HTML
    error page, say) raises `TeleserviceError`; unreadable XML with a success status stays `UntrustedXmlError`.
    """
    try:
        element = body_child(parse_untrusted(content, service), service)
    except UntrustedXmlError:
        if status >= 400:
            raise TeleserviceError(f"{service} : erreur HTTP {status}") from None
        raise
    fault = parse_fault(element)
    if fault is not None:
        raise fault_error(fault)
    if status >= 400:
        raise TeleserviceError(f"{service} : erreur HTTP {status}")
    return element
