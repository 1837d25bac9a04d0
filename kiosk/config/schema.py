"""The configuration's root and its small sections. Larger sections live in `schema_*.py` beside this."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kiosk import __version__
from kiosk.config.binding import doc
from kiosk.config.printer_targets import target_problem
from kiosk.config.schema_api import ApiConfig
from kiosk.config.schema_his import HisConfig
from kiosk.config.schema_metrics import MetricsConfig
from kiosk.config.schema_readers import ReaderConfig
from kiosk.config.schema_sync import SyncConfig
from kiosk.config.schema_teleservices import DmpConfig, InsiConfig
from kiosk.config.schema_webps import ParamsConfig, WebpsConfig
from kiosk.domain.urls import url_problem

Environment = Literal["prod", "test", "demo"]
_FINESS = re.compile(r"^(?:\d{2}|2A|2B)\d{7}$")
_OID = re.compile(r"^[0-2](?:\.(?:0|[1-9]\d*))+$")


@dataclass(frozen=True)
class SiteConfig:
    name: str = doc("Accueil (démonstration)", "Site name shown on the desk and in tickets.")
    finess: str = doc("", "The establishment's FINESS number (9 characters; 2A/2B for Corsica). Required in prod.")

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if self.finess and not _FINESS.match(self.finess):
            yield ("finess",), "numéro FINESS de 9 caractères attendu (chiffres, 2A/2B pour la Corse)"
        if root.environment == "prod" and not self.finess:
            yield ("finess",), "numéro FINESS obligatoire en production"


@dataclass(frozen=True)
class LpsConfig:
    name: str = doc("KIOSK-ACCUEIL", "Software name sent to INSi and the DMP (ContexteLPS, VIHF LPS_Nom).")
    version: str = doc(__version__, "Software version sent with it.")
    oid: str = doc("", "The software's OID (LPS_ID, DMP message ids). Required outside demo.")
    instance: str = doc("", "This installation's instance id (uuid); empty = derived from /etc/machine-id.")
    insi_idam: str = doc("", "INSi software authorisation number (IDAM), required outside demo.")
    dmp_homologation: str = doc(
        "", "DMP homologation number (LPS_ID_HOMOLOGATION_DMP), required outside demo when the DMP is enabled."
    )

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if self.oid and not _OID.match(self.oid):
            yield ("oid",), "OID attendu (ex. 1.2.250.1.xxx)"
        if root.environment != "demo":
            for key in ("oid", "insi_idam", "dmp_homologation"):
                if not getattr(self, key) and (key != "dmp_homologation" or root.dmp.enabled):  # INSi-only: no DMP
                    yield (key,), f"obligatoire en environnement {root.environment}"


@dataclass(frozen=True)
class UiConfig:
    theme: Literal["auto", "plain", "color"] = doc(
        "auto", "plain = low-colour theme for the Linux console; auto picks it on a tty."
    )
    lock_after_s: int = doc(
        0, "Lock the desk after this many idle seconds (0 = only when the staff card is removed).", bounds=(0, 86400)
    )
    texts: dict[str, str] = doc(text="Overrides of the desk's French texts, by message id.", factory=dict)
    audit_retention_days: int = doc(
        365, "Days the desk's audit journal is kept (whole days are deleted after that).", bounds=(1, 3660)
    )
    audit_syslog: str = doc(
        "",
        "host:port of the hospital's syslog collector (RFC 5424 over TLS) that also receives the audit anchors; empty "
        "= none.",
    )
    audit_syslog_ca: str = doc("", "PEM bundle of trust anchors for that collector; empty = the system's.")

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        from kiosk.desk.texts import is_text_id

        if self.lock_after_s < 0:
            yield ("lock_after_s",), "nombre de secondes positif ou nul attendu"
        for key in self.texts:
            if not is_text_id(key):
                yield ("texts", key), "identifiant de texte inconnu (voir kiosk/desk/texts.py)"
        if self.audit_retention_days < 1:
            yield ("audit_retention_days",), "nombre de jours strictement positif attendu"
        if self.audit_syslog and (problem := url_problem(f"https://{self.audit_syslog}")):
            yield ("audit_syslog",), f"hôte:port attendu : {problem}"


@dataclass(frozen=True)
class PrinterConfig:
    kind: Literal["none", "escpos-usb", "escpos-serial", "escpos-network", "cups", "file"] = doc(
        "none", "Ticket/link printer: none, ESC/POS over USB, serial or network, CUPS queue, or a file (tests)."
    )
    target: str = doc("", "cups: QUEUE or ipp[s]://HOST[:PORT]/printers/QUEUE; escpos-network: HOST[:PORT] (9100); "
                          "escpos-serial: DEVICE or pyserial URL; escpos-usb: VID:PID in hex; file: PATH.")
    timeout_s: float = doc(
        30.0, "Seconds a job may take: CUPS until the job is completed, ESC/POS until sent and confirmed."
    )
    qr: Literal["native", "image"] = doc(
        "native", "ESC/POS QR code: drawn by the printer (GS ( k) or sent as a raster image."
    )
    confirm: bool = doc(
        True, "ESC/POS: ask the printer's status (paper, on line) around each job; off for mute printers."
    )
    baudrate: int = doc(9600, "escpos-serial: line speed (8N1).")

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if self.kind != "none" and not self.target:
            yield ("target",), f"cible obligatoire pour une imprimante de type {self.kind!r}"
        elif self.kind != "none":
            problem = target_problem(self.kind, self.target)
            if problem:
                yield ("target",), problem
        if not 0 < self.timeout_s <= 600:
            yield ("timeout_s",), "nombre de secondes entre 0 et 600 attendu"
        if self.baudrate <= 0:
            yield ("baudrate",), "vitesse de ligne positive attendue (ex. 9600, 38400, 115200)"


def _state_dir_problem(value: str) -> str | None:
    """The state directory receives the journal and param-lps copies: an absolute path to a directory (or one
    to be created), never inside the kernel's pseudo-filesystems nor onto a file such as /etc/shadow."""
    import os.path

    path = os.path.realpath(value)
    if not os.path.isabs(value):
        return "chemin absolu attendu"
    inside = lambda top: path == top or path.startswith(top + "/")
    if inside("/proc") or inside("/sys") or (inside("/dev") and not inside("/dev/shm")):  # /dev/shm: the demo's tmpfs
        return f"{path} est un système de fichiers du noyau : répertoire d'état ordinaire attendu"
    if os.path.exists(path) and not os.path.isdir(path):
        return f"{path} existe et n'est pas un répertoire"
    return None


@dataclass(frozen=True)
class Config:
    environment: Environment = doc("demo", "prod, test or demo: decides the acceptable endpoints, INS OIDs and cards.")
    state_dir: str = doc(
        "", "Directory for the kiosk's state (param-lps copies...); empty = $STATE_DIRECTORY or /var/lib/kiosk."
    )
    site: SiteConfig = doc(text="", factory=SiteConfig)
    lps: LpsConfig = doc(text="", factory=LpsConfig)
    readers: list[ReaderConfig] = doc(text="", factory=list)
    insi: InsiConfig = doc(text="", factory=InsiConfig)
    dmp: DmpConfig = doc(text="", factory=DmpConfig)
    webps: WebpsConfig = doc(text="", factory=WebpsConfig)
    params: ParamsConfig = doc(text="", factory=ParamsConfig)
    printer: PrinterConfig = doc(text="", factory=PrinterConfig)
    ui: UiConfig = doc(text="", factory=UiConfig)
    sync: SyncConfig = doc(text="", factory=SyncConfig)
    his: HisConfig = doc(text="", factory=HisConfig)
    api: ApiConfig = doc(text="", factory=ApiConfig)
    metrics: MetricsConfig = doc(text="", factory=MetricsConfig)

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if self.state_dir and (problem := _state_dir_problem(self.state_dir)):
            yield ("state_dir",), problem
        names = [r.name for r in self.readers]
        for i, name in enumerate(names):
            if name and names.index(name) != i:
                yield ("readers", i, "name"), f"nom de lecteur en double : {name!r}"

    def reader(self, name: str) -> ReaderConfig | None:
        return next((r for r in self.readers if r.name == name), None)
