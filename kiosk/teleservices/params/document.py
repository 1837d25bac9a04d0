"""Reading a param-lps file: a hardened XML parse, then a tolerant walk that maps what it recognises.

The file's schema is not public (PDT-INF-547 only says it carries the secrets document and DMP creation
acknowledgement URLs and the DMP's operating parameters, minors included). So the reader assumes nothing
about the layout: every leaf element becomes an entry named by its `nom`/`name`/`cle`/`key`/`id`/`code`
attribute or, failing that, its tag; its value is its text or its `valeur`/`value`/`url`/`href` attribute.
Entry names are compared after folding case, accents and punctuation against a table of aliases for the
settings the kiosk uses (`KNOWN`). Everything else is kept, unchanged, for `kiosk params show`.

The parse refuses DTDs outright (no entity of any kind has a place in this file), never touches the
network, keeps libxml2's size limits (huge_tree off) and caps the number of entries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kiosk.domain.urls import url_problem
from kiosk.teleservices.params.errors import ParamsDataError

__all__ = ["KNOWN", "Entry", "KnownSetting", "ParamLps", "parse_document"]

MAX_ELEMENTS = 5000
MAX_VALUE_CHARS = 4096
_NAME_ATTRS = ("nom", "name", "cle", "key", "id", "code")
_VALUE_ATTRS = ("valeur", "value", "url", "href")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


@dataclass(frozen=True)
class KnownSetting:
    name: str  # the kiosk's name, also used by `current_settings`
    kind: str  # "url", "int" or "bool"
    label: str  # French, for `kiosk params show`
    aliases: tuple[str, ...]  # folded forms (see `_fold`)


KNOWN: tuple[KnownSetting, ...] = (
    KnownSetting("webps.cpx_base", "url", "Web PS, accès contextuel par carte CPx", (
        "webpscpx", "urlwebpscpx", "webpscps", "urlwebpscps", "wpscps", "accesweb", "urlaccesweb", "webps",
        "urlwebps", "webpscontextuel", "urlwebpscontextuel", "accescontextuel", "accesswebps")),
    KnownSetting("webps.psc_base", "url", "Web PS, accès Pro Santé Connect", (
        "webpspsc", "urlwebpspsc", "wpspsc", "accespsc", "urlaccespsc", "webpsprosanteconnect",
        "urlwebpsprosanteconnect", "webpscontextuelpsc", "urlwebpscontextuelpsc")),
    KnownSetting("dmp.webservices", "url", "Nom de domaine des webservices DMP", (
        "webservices", "urlwebservices", "domainewebservices", "nomdedomainewebservices", "domainews",
        "urlwebservice", "webservice", "urllps", "domainelps")),
    KnownSetting("dmp.secrets_document_url", "url", "Téléchargement du document des secrets", (
        "documentsecrets", "urldocumentsecrets", "documentdessecrets", "urldocumentdessecrets", "secrets",
        "urlsecrets")),
    KnownSetting("dmp.creation_ack_url", "url", "Téléchargement de l'accusé de création DMP", (
        "accusecreation", "urlaccusecreation", "accusecreationdmp", "urlaccusecreationdmp", "accusedecreation",
        "urlaccusedecreation", "accusedecreationdmp")),
    KnownSetting("dmp.majority_age", "int", "Âge de la majorité (gestion des mineurs)", (
        "agemajorite", "majorite", "agedelamajorite", "agemajoritedmp")),
    KnownSetting("dmp.minors_management", "bool", "Gestion des DMP de mineurs active", (
        "gestionmineurs", "gestiondesmineurs", "mineurs", "mineursactif", "gestionmineursactive")),
)
_BY_ALIAS = {alias: known for known in KNOWN for alias in known.aliases}
_TRUE = {"true", "1", "oui", "yes", "vrai", "actif", "active", "on"}
_FALSE = {"false", "0", "non", "no", "faux", "inactif", "inactive", "off"}


@dataclass(frozen=True)
class Entry:
    """One leaf of the file. `setting` is the kiosk setting it feeds, None for an entry kept for display."""

    name: str
    path: str
    value: str
    setting: str | None = None
    problem: str | None = None  # why the kiosk will not use it (bad URL, bad number, duplicate)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "value": self.value, "setting": self.setting,
                "problem": self.problem}


@dataclass(frozen=True)
class ParamLps:
    entries: tuple[Entry, ...]
    settings: dict[str, Any] = field(default_factory=dict)  # setting name -> typed value
    version: str | None = None  # the root's version/date attribute, when it has one

    @property
    def extras(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.setting is None)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).lower()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _refuse_before_parsing(data: bytes) -> None:
    """No DTD reaches libxml2: even with entity resolution and DTD loading off, it still reads external
    parameter entities (`<!ENTITY % x SYSTEM "file:///...">`) of an internal subset. ASCII-incompatible
    encodings (UTF-16/32) are refused so that this byte-level check cannot be sidestepped."""
    start = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not start.lstrip().startswith(b"<"):
        raise ParamsDataError("param-lps illisible : XML attendu (UTF-8 ou ISO-8859-1)")
    if _DOCTYPE.search(data):
        raise ParamsDataError("param-lps refusé : une DTD (<!DOCTYPE>, entités) n'a rien à faire dans ce fichier")


def _parse_xml(data: bytes) -> Any:
    from lxml import etree

    _refuse_before_parsing(data)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False,
        remove_comments=True, remove_pis=True, collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise ParamsDataError(f"param-lps illisible : XML mal formé ou tronqué (ligne {e.lineno or '?'})") from None
    except ValueError as e:  # e.g. an encoding declaration lxml refuses
        raise ParamsDataError(f"param-lps illisible : {e.__class__.__name__}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise ParamsDataError("param-lps refusé : une DTD (<!DOCTYPE>, entités) n'a rien à faire dans ce fichier")
    return root


def _printable(text: str) -> str:
    """Control characters (C1 ones are legal XML and some terminals obey them) become U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(c) == "Cc" and c not in "\t\n" else c for c in text)


def _value_of(element: Any) -> str:
    for attr in _VALUE_ATTRS:
        if element.get(attr) is not None:
            return _printable(element.get(attr).strip())
    return _printable((element.text or "").strip())


def _typed(known: KnownSetting, raw: str, allowed_domains: list[str]) -> tuple[Any, str | None]:
    if known.kind == "url":
        problem = url_problem(raw, allowed_domains)
        return raw, problem
    if known.kind == "int":
        try:
            number = int(raw)
        except ValueError:
            return None, "nombre entier attendu"
        return number, None if 0 < number < 150 else "valeur hors limites"
    folded = _fold(raw)
    if folded in _TRUE:
        return True, None
    if folded in _FALSE:
        return False, None
    return None, "oui/non attendu"


def parse_document(data: bytes, allowed_domains: Iterable[str]) -> ParamLps:
    """Parse and map; raise `ParamsDataError` when the file must not replace the last good one.

    Refused: anything that is not well-formed XML, a DTD, more than MAX_ELEMENTS elements, a file where no
    entry is recognised (an error page served with status 200), and a recognised URL that fails the check
    (https, allowed domain). Unrecognised entries are never refused, only flagged when they hold a bad URL.
    """
    from lxml import etree

    domains = list(allowed_domains)
    root = _parse_xml(data)
    entries: list[Entry] = []
    settings: dict[str, Any] = {}
    count = 0
    for element in root.iter(etree.Element):
        count += 1
        if count > MAX_ELEMENTS:
            raise ParamsDataError(f"param-lps refusé : plus de {MAX_ELEMENTS} éléments")
        has_children = any(True for _ in element.iterchildren(etree.Element))
        has_value_attr = any(element.get(a) is not None for a in _VALUE_ATTRS)
        if element is root or (has_children and not has_value_attr):
            continue
        name = _printable(next((element.get(a).strip() for a in _NAME_ATTRS if element.get(a)), _local(element.tag)))
        ancestors = [_local(a.tag) for a in element.iterancestors()][::-1][1:]
        path = ".".join([*ancestors, name])
        value = _value_of(element)
        if len(value) > MAX_VALUE_CHARS:
            raise ParamsDataError(f"param-lps refusé : valeur de {name[:40]!r} trop longue")
        known = _BY_ALIAS.get(_fold(name)) or _BY_ALIAS.get(_fold(path))
        if known is None:
            problem = url_problem(value, domains) if value.lower().startswith(("http:", "https:")) else None
            entries.append(Entry(name, path, value, None, problem))
            continue
        typed, problem = _typed(known, value, domains)
        if problem and known.kind == "url":
            raise ParamsDataError(f"param-lps refusé : {known.name} ({name}) : {problem}")
        if problem is None and known.name in settings and settings[known.name] != typed:
            problem = f"doublon ignoré (première valeur gardée pour {known.name})"
        entries.append(Entry(name, path, value, known.name, problem))
        if problem is None:
            settings.setdefault(known.name, typed)
    if not settings:
        raise ParamsDataError("param-lps refusé : aucun paramètre connu (page d'erreur ou format inattendu ?)")
    version = next((root.get(a) for a in ("version", "date", "dateMiseAJour", "dateMaj") if root.get(a)), None)
    return ParamLps(tuple(entries), settings, version)
