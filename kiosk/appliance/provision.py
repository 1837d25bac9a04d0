"""Technician provisioning: from a provisioning file (or answers typed in French) to /etc/kiosk/kiosk.toml.

The provisioning file is a kiosk.toml (any of its sections, copied as they are) plus two tables naming the
material to install, with paths relative to the file:

    environment = "prod"
    [site]
    name = "CH de Test, accueil des urgences"
    finess = "750712184"
    [lps]                       # oid, insi_idam, dmp_homologation ...
    [certificates]
    auth = "auth.p12"           # PKCS#12, or PEM: auth = "auth.pem" with auth_key = "auth.key"
    auth_password = "..."
    dmp_auth = "dmp.p12"        # optional: another certificate for the DMP's mutual TLS (default: auth)
    dmp_auth_password = "..."
    signing = "signing.p12"     # the VIHF signing certificate (PEM with signing_key); DMP only
    signing_password = "..."
    ca_bundle = "igc-sante.pem" # trust anchors for the teleservices
    [dmp]                       # copied like any section; outside demo a DMP kiosk needs a signing certificate
    responsible_idnat = "3750712184/ACCUEIL01"  # and the person answering for calls made without a CPx card
    responsible_name = "DUPONT Marie"
    # or: enabled = false       -> an INSi-only kiosk, no DMP certificate asked
    [fleet]
    url = "https://flotte.example.org/kiosks"
    trusted_root = "root.json"  # the fleet's TUF root
    device_id = "accueil-01"
    site_id = "ch-test"

Everything is checked before anything is written (certificate CN, issuer for the environment, dates and
key, FINESS, URLs, the final configuration as `kiosk config check` would); then certificates are written as
PKCS#12 under <config dir>/certs with fresh random passwords in 0640 files, and the configuration last,
atomically. `remove_source` then deletes the provisioning file and the secrets it named (first boot:
nothing secret stays on the FAT boot partition).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from kiosk.atomicfile import atomic_write
from kiosk.config import parse_config
from kiosk.errors import ConfigError
from kiosk.teleservices.orgcert import AUTH_CNS, OrgCertificate, issuer_problem, load_ca_bundle, open_certificate

__all__ = ["CERT_WARN_DAYS", "Plan", "ask_interactively", "check_finess", "check_url", "install", "plan",
           "read_provisioning_file", "remove_source"]

CERT_WARN_DAYS = 30
FILE_MODE = 0o640  # root-owned, group kiosk through /etc/kiosk's setgid bit
_MATERIAL = ("certificates", "fleet")


@dataclass
class Plan:
    """What `install` will write, all of it already validated."""

    config_path: Path
    config_text: str
    files: dict[Path, bytes] = field(default_factory=dict)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)  # secret files named by the provisioning file
    environment: str = "demo"

    def summary(self) -> dict[str, Any]:
        return {"config": str(self.config_path), "environment": self.environment,
                "certificates": self.certificates, "files": sorted(str(p) for p in self.files),
                "warnings": self.warnings}


def check_finess(value: str) -> str | None:
    """The configuration's own rule for `site.finess`, as a French message, or None."""
    _, problems = parse_config(tomli_w.dumps({"site": {"finess": value}}))
    return problems[0].message if problems else None


def check_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme != "https":
        return f"URL https:// attendue : {value!r}"
    if not parts.hostname or " " in value:
        return f"URL sans nom d'hôte valide : {value!r}"
    if parts.username or parts.password:
        return "pas d'identifiants dans l'URL"
    if parts.fragment:
        return "pas de fragment (#...) dans l'URL"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"port invalide dans {value!r}"
    return None


def read_provisioning_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"fichier de provisionnement introuvable : {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"fichier de provisionnement illisible : {path} ({e.__class__.__name__})") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"fichier de provisionnement {path} : TOML invalide ({e})") from e


def plan(data: dict[str, Any], base: Path, config_path: Path, *, existing: dict[str, Any] | None = None,
         now: dt.datetime | None = None) -> Plan:
    """Validate a provisioning document (paths relative to `base`) into a `Plan`; raise `ConfigError` listing
    every problem found, in French."""
    now = now or dt.datetime.now(dt.UTC)
    problems: list[str] = []
    doc = {k: v for k, v in (existing or {}).items()}
    for key, value in data.items():
        if key not in _MATERIAL:
            doc[key] = value  # sections replace the existing ones: provisioning sets the site
    environment = doc.get("environment", "demo")
    result = Plan(config_path, "", environment=str(environment))
    config_dir = config_path.parent
    certs_dir = config_dir / "certs"

    site = doc.get("site", {}) if isinstance(doc.get("site"), dict) else {}
    finess = str(site.get("finess", ""))
    if environment in ("prod", "test") and not finess:
        problems.append("site.finess : numéro FINESS obligatoire")
    elif finess and (msg := check_finess(finess)):
        problems.append(f"site.finess : {msg}")
    for where, url in _urls(doc, data.get("fleet")):
        if msg := check_url(url):
            problems.append(f"{where} : {msg}")

    material = data.get("certificates") or {}
    if not isinstance(material, dict):
        problems.append("certificates : table attendue")
        material = {}
    dmp_enabled = _dmp_section(doc).get("enabled", True) is not False
    anchors = None
    if material.get("ca_bundle"):
        bundle_path = base / str(material["ca_bundle"])
        try:
            anchors = load_ca_bundle(bundle_path)
            target = certs_dir / "ca-bundle.pem"
            result.files[target] = bundle_path.read_bytes()
            for section in ("insi", "dmp") if dmp_enabled else ("insi",):
                doc.setdefault(section, {})["ca_bundle"] = str(target)
        except ConfigError as e:
            problems.append(f"certificates.ca_bundle : {e}")
    reported = _dmp_problems(doc, material, environment, dmp_enabled)
    problems += [f"{key} : {message}" for key, message in reported]
    dmp_auth = [("dmp", "pkcs12")] if dmp_enabled and not material.get("dmp_auth") else []
    roles = [("auth", "INSi (authentification)", [("insi", "pkcs12"), *dmp_auth], True),
             ("dmp_auth", "DMP (authentification)", [("dmp", "pkcs12")], False),
             ("signing", "DMP (signature VIHF)", [("dmp", "signing_pkcs12")], False)]
    for role, label, targets, insi_auth in roles:
        if not material.get(role):
            if role == "auth" and environment in ("prod", "test"):
                problems.append("certificates.auth : certificat d'authentification de l'organisation obligatoire")
            continue
        if role != "auth" and not dmp_enabled:
            continue  # refused by _dmp_problems: a DMP certificate on an INSi-only kiosk
        source = base / str(material[role])
        key_source = base / str(material[f"{role}_key"]) if material.get(f"{role}_key") else None
        try:
            cert = open_certificate(source, material.get(f"{role}_password"), key_source)
        except ConfigError as e:
            problems.append(f"certificates.{role} : {e}")
            continue
        result.sources += [source] + ([key_source] if key_source else [])
        problems += [
            f"certificates.{role} : {p}" for p in _certificate_problems(cert, environment, anchors, insi_auth, now)
        ]
        days = cert.days_left(now)
        if 0 <= days < CERT_WARN_DAYS:
            result.warnings.append(f"{label} : expire dans {days} jour(s), à renouveler")
        password = secrets.token_urlsafe(24)
        p12, pass_file = certs_dir / f"{role}.p12", certs_dir / f"{role}.pass"
        result.files[p12] = cert.to_pkcs12(password.encode())
        result.files[pass_file] = (password + "\n").encode()
        for section, key in targets:
            table = doc.setdefault(section, {})
            table[key] = str(p12)
            table[f"{key}_password_file"] = str(pass_file)
            table.pop(f"{key}_password", None)
        result.certificates.append({"role": role, "label": label, "cn": cert.cn, "issuer": cert.issuer_cn,
                                    "days_left": days, "installed_as": str(p12)})

    fleet = data.get("fleet")
    if fleet is not None:
        problems += _fleet(fleet, base, config_dir, doc, result)

    text = tomli_w.dumps(doc)
    _, config_problems = parse_config(text, str(config_path))
    # Keys already explained in the provisioning file's terms are not repeated in the configuration's; no line
    # numbers either: they would point into the generated kiosk.toml, not the technician's file.
    said = {key for key, _ in reported}
    said |= {"dmp.signing_pkcs12"} if "certificates.signing" in said else set()
    problems += [f"{p.key or '<racine>'} : {p.message}" for p in config_problems if p.key not in said]
    if problems:
        raise ConfigError("provisionnement refusé, rien n'a été écrit :\n" + "\n".join(f"  - {p}" for p in problems),
                          problems)
    result.config_text = text
    return result


def _dmp_section(doc: dict[str, Any]) -> dict[str, Any]:
    section = doc.get("dmp")
    return section if isinstance(section, dict) else {}


def _dmp_problems(doc: dict[str, Any], material: dict[str, Any], environment: Any,
                  dmp_enabled: bool) -> list[tuple[str, str]]:
    """What a DMP kiosk lacks, or an INSi-only one has too much of, in the provisioning file's own keys: the
    kiosk is INSi-only only when the file says so (`[dmp] enabled = false`), never because a certificate is
    missing."""
    if not dmp_enabled:
        extra = "certificat DMP inutile avec [dmp] enabled = false (borne INSi seule) : retirer l'un ou l'autre"
        return [(f"certificates.{role}", extra) for role in ("dmp_auth", "signing") if material.get(role)]
    if environment == "demo":
        return []
    or_insi_only = "(ou [dmp] enabled = false pour une borne INSi seule)"
    out = []
    dmp = _dmp_section(doc)
    if not material.get("signing") and not dmp.get("signing_pkcs12"):  # (nor one kept from the configuration)
        out.append(("certificates.signing",
                    f"certificat de signature VIHF de l'organisation obligatoire pour le DMP {or_insi_only}"))
    for key, what in (("responsible_idnat", "identifiant national (IdNat)"), ("responsible_name", "« NOM Prénom »")):
        if not str(dmp.get(key, "")).strip():
            out.append((f"dmp.{key}",
                        f"{what} de la personne responsable des appels DMP sans carte CPx obligatoire {or_insi_only}"))
    return out


def _urls(doc: dict[str, Any], fleet: Any) -> list[tuple[str, str]]:
    out = []
    for section in ("insi", "dmp"):
        url = (doc.get(section) or {}).get("endpoint") if isinstance(doc.get(section), dict) else None
        if url:
            out.append((f"{section}.endpoint", str(url)))
    params = doc.get("params")
    if isinstance(params, dict) and params.get("url"):
        out.append(("params.url", str(params["url"])))
    if isinstance(fleet, dict):
        out.append(("fleet.url", str(fleet.get("url", ""))))
    return out


def _certificate_problems(cert: OrgCertificate, environment: str, anchors: Any, insi_auth: bool,
                          now: dt.datetime) -> list[str]:
    problems = []
    if insi_auth and cert.cn not in AUTH_CNS:
        problems.append(f"CN « {cert.cn} » : INSi attend {' ou '.join(AUTH_CNS)} (sinon refus DESIR_560)")
    if msg := issuer_problem(cert, environment, anchors):
        problems.append(msg)
    if cert.days_left(now) < 0:
        problems.append(f"certificat expiré le {cert.cert.not_valid_after_utc:%d/%m/%Y}")
    if cert.not_yet_valid(now):
        problems.append(f"certificat valable seulement à partir du {cert.cert.not_valid_before_utc:%d/%m/%Y}")
    return problems


def _fleet(fleet: Any, base: Path, config_dir: Path, doc: dict[str, Any], result: Plan) -> list[str]:
    if not isinstance(fleet, dict):
        return ["fleet : table attendue"]
    problems: list[str] = []
    sync = doc.setdefault("sync", {})
    sync.update({"enabled": True, "url": str(fleet.get("url", ""))})
    for key in ("device_id", "site_id"):
        if fleet.get(key):
            sync[key] = str(fleet[key])
    if not fleet.get("trusted_root"):
        return problems + ["fleet.trusted_root : racine de confiance TUF de la flotte obligatoire"]
    source = base / str(fleet["trusted_root"])
    try:
        raw = source.read_bytes()
        root = json.loads(raw)
        if not (
            isinstance(root, dict)
            and isinstance(root.get("signed"), dict)
            and root["signed"].get("_type") == "root"
            and isinstance(root.get("signatures"), list)
        ):
            problems.append(f"fleet.trusted_root : {source} n'est pas une racine TUF (signed._type = root attendu)")
    except OSError as e:
        problems.append(f"fleet.trusted_root : {source} illisible ({e.strerror or e})")
    except ValueError:
        problems.append(f"fleet.trusted_root : {source} n'est pas du JSON valide")
    else:
        target = config_dir / "fleet-root.json"
        result.files[target] = raw
        sync["trusted_root"] = str(target)
    return problems


def install(result: Plan) -> None:
    """Write the certificates, then the configuration last (each atomically): a crash leaves the old
    configuration in force."""
    for path, data in sorted(result.files.items()):
        path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        atomic_write(path, data, FILE_MODE)
    atomic_write(result.config_path, result.config_text.encode("utf-8"), FILE_MODE)


def remove_source(provisioning_file: Path, result: Plan) -> list[str]:
    """Delete the provisioning file and the secret files it named (overwritten first: on a FAT boot
    partition this is best effort, flash wear levelling may keep old blocks)."""
    removed = []
    for path in [*result.sources, provisioning_file]:
        try:
            size = path.stat().st_size
            with path.open("r+b") as f:
                f.write(b"\0" * size)
                f.flush()
            path.unlink()
            removed.append(str(path))
        except FileNotFoundError:
            continue
    return removed


Ask = Callable[[str, bool], str]


def ask_interactively(ask: Ask, say: Callable[[str], None], base: Path, attempts: int = 3) -> dict[str, Any]:
    """Build a provisioning document from answers in French; each answer is checked at once and asked again
    (up to `attempts` times) when wrong."""

    def question(prompt: str, check: Callable[[str], str | None] | None = None, *, secret: bool = False,
                 default: str = "") -> str:
        for _ in range(attempts):
            shown = f"{prompt} [{default}] : " if default else f"{prompt} : "
            answer = ask(shown, secret).strip() or default
            problem = check(answer) if check else None
            if problem is None:
                return answer
            say(f"  ✗ {problem}")
        raise ConfigError(f"{prompt} : trop de réponses invalides, provisionnement abandonné")

    def required(value: str) -> str | None:
        return None if value else "réponse obligatoire"

    def environment(value: str) -> str | None:
        return None if value in ("prod", "test", "demo") else "prod, test ou demo"

    def existing_file(value: str) -> str | None:
        return None if not value or (base / value).is_file() else f"fichier introuvable : {base / value}"

    def yes_no(value: str) -> str | None:
        return None if value in ("oui", "non") else "oui ou non"

    def optional_url(value: str) -> str | None:
        return check_url(value) if value else None

    doc: dict[str, Any] = {}
    say("Provisionnement de la borne d'accueil (Entrée = valeur proposée)")
    doc["environment"] = question("Environnement (prod, test ou demo)", environment, default="prod")
    doc["site"] = {"name": question("Nom du site affiché", required),
                   "finess": question("Numéro FINESS de l'établissement", lambda v: check_finess(v) or required(v))}
    lps = {}
    for key, prompt in (("oid", "OID du logiciel (LPS)"), ("insi_idam", "Numéro d'autorisation INSi (IDAM)"),
                        ("dmp_homologation", "Numéro d'homologation DMP")):
        value = question(prompt)
        if value:
            lps[key] = value
    if lps:
        doc["lps"] = lps
    certs: dict[str, str] = {}
    auth = question("Certificat d'authentification (fichier .p12 ou .pem)", lambda v: existing_file(v) or required(v))
    certs["auth"] = auth
    if not auth.endswith((".p12", ".pfx")):
        certs["auth_key"] = question("Clé privée PEM (vide si dans le même fichier)", existing_file)
    certs["auth_password"] = question("Mot de passe du certificat", secret=True)
    # The DMP needs a signing certificate and a responsible person (outside demo); without them the kiosk is
    # INSi-only, and that is asked, not guessed from an empty answer.
    if question("Raccorder le DMP (oui, ou non pour une borne INSi seule)", yes_no, default="oui") == "oui":
        needed = (lambda v: None) if doc["environment"] == "demo" else required
        signing = question(
            "Certificat de signature VIHF (fichier .p12 ou .pem)", lambda v: existing_file(v) or needed(v)
        )
        if signing:
            certs["signing"] = signing
            if not signing.endswith((".p12", ".pfx")):
                certs["signing_key"] = question(
                    "Clé privée PEM de signature (vide si dans le même fichier)", existing_file
                )
            certs["signing_password"] = question("Mot de passe du certificat de signature", secret=True)
        dmp = {"responsible_idnat": question("IdNat de la personne responsable des appels DMP sans carte", needed),
               "responsible_name": question("Nom de cette personne (NOM Prénom)", needed)}
        if any(dmp.values()):
            doc["dmp"] = {k: v for k, v in dmp.items() if v}
    else:
        doc["dmp"] = {"enabled": False}
    bundle = question("Bundle des autorités IGC-Santé (PEM, vide = celles du système)", existing_file)
    if bundle:
        certs["ca_bundle"] = bundle
    doc["certificates"] = {k: v for k, v in certs.items() if v}
    fleet_url = question("URL du dépôt de flotte (vide = pas de flotte)", optional_url)
    if fleet_url:
        doc["fleet"] = {
            "url": fleet_url,
            "trusted_root": question("Racine de confiance TUF (root.json)", lambda v: existing_file(v) or required(v)),
            "device_id": question("Identifiant du poste dans la flotte", required),
            "site_id": question("Identifiant du site dans la flotte", required),
        }
    return doc
