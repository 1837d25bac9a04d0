"""`[insi]` and `[dmp]`: the teleservices (teleservices.md). Empty endpoint = the environment's default."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kiosk.config.binding import doc
from kiosk.domain.urls import url_problem

INSI_ENDPOINTS = {
    "prod": "https://services-ps-tlsm.ameli.fr/lps",
    "test": "https://qualiflps-services-ps-tlsm.ameli.fr:443/lps",
}
DMP_ENDPOINTS = {
    "prod": "https://lps2.dmp.gouv.fr/si-dmp-server/v2/services",
    "test": "https://formation1.lps2.dmp.gouv.fr/si-dmp-server/v2/services",
}


def _tls_checks(section: Any, endpoint: str, root: Any) -> Iterable[tuple[tuple, str]]:
    if not endpoint.startswith("https://") and root.environment != "demo":
        yield ("endpoint",), "URL https:// attendue hors environnement demo"
    elif problem := url_problem(endpoint, schemes=("https", "http") if root.environment == "demo" else ("https",)):
        yield ("endpoint",), f"URL refusée : {problem}"
    if root.environment != "demo" and not section.pkcs12:
        yield ("pkcs12",), "certificat d'organisation (fichier PKCS#12) obligatoire hors environnement demo"


def _timeout_checks(section: Any) -> Iterable[tuple[tuple, str]]:
    for key in ("timeout_s", "connect_timeout_s"):
        if getattr(section, key) <= 0:
            yield (key,), "délai en secondes strictement positif attendu"


@dataclass(frozen=True)
class InsiConfig:
    endpoint: str = doc(
        "", "INSi URL; empty = production or test endpoint by `environment`, the embedded simulator in demo."
    )
    pkcs12: str = doc("", "Organisation authentication certificate (CN INSI-AUTO or INSI-MANU) as a PKCS#12 file.")
    pkcs12_password_file: str = doc("", "File holding the PKCS#12 password (mode 0600, owned by the kiosk user).")
    pkcs12_password: str = doc(
        "", "The password inline, when no file is used (prefer the file; redacted by `config show`).", secret=True
    )
    ca_bundle: str = doc("", "PEM bundle of trust anchors (IGC-Santé chain); empty = the system's.")
    timeout_s: float = doc(15.0, "Whole-operation timeout, seconds.", bounds=(0.1, 600))
    connect_timeout_s: float = doc(5.0, "TCP/TLS connection timeout, seconds.", bounds=(0.1, 120))

    def resolved_endpoint(self, environment: str) -> str:
        return self.endpoint or INSI_ENDPOINTS.get(environment, "")

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        yield from _timeout_checks(self)
        if self.endpoint or root.environment != "demo":
            yield from _tls_checks(self, self.resolved_endpoint(root.environment), root)


@dataclass(frozen=True)
class DmpConfig:
    enabled: bool = doc(True, "false = an INSi-only kiosk: no DMP certificates needed, no DMP column on the desk.")
    endpoint: str = doc("", "DMP web services base URL (…/si-dmp-server/v2/services); empty = by `environment`.")
    pkcs12: str = doc("", "Organisation authentication certificate for mutual TLS, PKCS#12.")
    pkcs12_password_file: str = doc("", "File holding that PKCS#12 password.")
    pkcs12_password: str = doc(
        "", "The password inline, when no file is used (redacted by `config show`).", secret=True
    )
    signing_pkcs12: str = doc("", "Organisation signing certificate for the VIHF assertion, PKCS#12.")
    signing_pkcs12_password_file: str = doc("", "File holding the signing PKCS#12 password.")
    signing_pkcs12_password: str = doc("", "The signing password inline (redacted by `config show`).", secret=True)
    ca_bundle: str = doc("", "PEM bundle of trust anchors; empty = the system's.")
    timeout_s: float = doc(15.0, "Whole-operation timeout, seconds.", bounds=(0.1, 600))
    connect_timeout_s: float = doc(5.0, "TCP/TLS connection timeout, seconds.", bounds=(0.1, 120))
    secteur_activite: str = doc(
        "SA07^1.2.250.1.71.4.2.4", "VIHF Secteur_Activite: the establishment's activity sector (code^code system)."
    )
    responsible_idnat: str = doc(
        "",
        "VIHF NameID for calls made without a CPx card (kiosk dmp, kiosk insi --dmp): the national id of the person "
        "responsible. Required outside demo.",
    )
    responsible_name: str = doc(
        "", 'VIHF subject-id for those calls: the responsible person\'s "NOM Prénom". Required outside demo.'
    )
    staff_role: Literal["SECRETARIAT_MEDICAL"] = doc(
        "SECRETARIAT_MEDICAL", "VIHF Role for staff without a health profession (TRE_A00-ProducteurDocNonPS code)."
    )
    vihf_version: Literal["3.0", "4.0"] = doc(
        "3.0", "VIHF_Version: 3.0 (ANS example kit, DRIMbox) or 4.0 (newer guide)."
    )
    patient_oid: Literal["as-received", "test-nir"] = doc(
        "as-received",
        "Patient OID sent to the DMP: as-received (the OID INSi returned) or test-nir (1.2.250.1.213.1.4.10, as the "
        "ANS kit and DRIMbox send on DMP test platforms; refused in prod).",
    )

    def resolved_endpoint(self, environment: str) -> str:
        return self.endpoint or DMP_ENDPOINTS.get(environment, "")

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        yield from _timeout_checks(self)
        if not self.enabled:
            return  # an INSi-only kiosk: nothing else of this section is used
        if self.endpoint or root.environment != "demo":
            yield from _tls_checks(self, self.resolved_endpoint(root.environment), root)
            if not self.signing_pkcs12 and root.environment != "demo":
                yield ("signing_pkcs12",), "certificat de signature d'organisation (PKCS#12) obligatoire pour le VIHF"
        if root.environment != "demo":
            for key in ("responsible_idnat", "responsible_name"):
                if not getattr(self, key).strip():
                    yield (key,), "personne responsable des appels sans carte obligatoire hors environnement demo"
        if self.patient_oid == "test-nir" and root.environment == "prod":
            yield ("patient_oid",), "test-nir (OID de test) interdit en production"

