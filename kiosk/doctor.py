"""`kiosk doctor`: what a technician checks on site, as a registry of small checks.

Each check is a function `(DoctorContext) -> Finding` registered with `@check(name, title, order=...)`; it
says ok / warn / fail in French with what to do next. Other parts add theirs the same way in a module named
`doctor_checks.py` anywhere under kiosk/, drivers/ or ui/: `discover()` imports those modules, and
registration happens at import. A check that raises is reported as a failure of that check, never as a crash
of the whole report. The worst finding decides the exit code (ok 0, warn 1, fail 3; 2 when the
configuration itself is what fails).
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import IntEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk import exitcodes
from kiosk.config import Config, load_config
from kiosk.errors import ConfigError

__all__ = [
    "Check", "DoctorContext", "Finding", "Level", "Result", "check", "checks", "discover", "exit_code", "fail",
    "ok", "register", "run", "warn",
]

log = logging.getLogger(__name__)

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
CERT_WARN_DAYS = 30
PARAMS_WARN_HOURS = 24.0  # homologation: param-lps refreshed at least daily
PARAMS_FAIL_HOURS = 72.0
SKEW_WARN_S = 60.0
SKEW_FAIL_S = 300.0  # VIHF assertions and TLS start failing past a few minutes
FREE_WARN_BYTES = 500 * 2**20
FREE_FAIL_BYTES = 100 * 2**20
NET_TIMEOUT_S = 5.0


class Level(IntEnum):
    OK = 0
    WARN = 1
    FAIL = 2

    @property
    def label(self) -> str:
        return ("ok", "warn", "fail")[self]


@dataclass(frozen=True)
class Finding:
    level: Level
    message: str  # French, one line: what was found
    action: str = ""  # French: what to do next (empty when nothing to do)
    details: dict[str, Any] = field(default_factory=dict)


def ok(message: str, **details: Any) -> Finding:
    return Finding(Level.OK, message, "", details)


def warn(message: str, action: str, **details: Any) -> Finding:
    return Finding(Level.WARN, message, action, details)


def fail(message: str, action: str, **details: Any) -> Finding:
    return Finding(Level.FAIL, message, action, details)


@dataclass
class DoctorContext:
    """What checks share: the configuration (None when invalid), paths, the clock, and a cache between checks."""

    config_path: Path
    config: Config | None = None
    config_error: ConfigError | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    pcscd_socket: Path = PCSCD_SOCKET
    cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, config_path: Path, **overrides: Any) -> DoctorContext:
        ctx = cls(config_path, **overrides)
        try:
            ctx.config = load_config(config_path)
        except ConfigError as e:
            ctx.config_error = e
        return ctx

    @property
    def state_dir(self) -> Path:
        from kiosk.params.store import resolve_state_dir

        return resolve_state_dir(self.config)


CheckFn = Callable[[DoctorContext], Finding]


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    fn: CheckFn
    order: int = 50
    needs_config: bool = True  # skipped (reported as such) when the configuration is invalid


@dataclass(frozen=True)
class Result:
    check: Check
    finding: Finding
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        return {"name": self.check.name, "title": self.check.title, "level": f.level.label, "message": f.message,
                "action": f.action, "details": f.details, "seconds": round(self.seconds, 3)}


_REGISTRY: dict[str, Check] = {}
PLUGIN_MODULE = "doctor_checks"
_PLUGIN_ROOTS = ("kiosk", "drivers", "ui")


def register(name: str, title: str, fn: CheckFn, *, order: int = 50, needs_config: bool = True) -> Check:
    """Add (or replace, by name) a check. `order` sorts the report: 10s configuration, 20-39 readers,
    40-59 certificates and network, 60-79 state and data, 80+ fleet and service."""
    entry = Check(name, title, fn, order, needs_config)
    _REGISTRY[name] = entry
    return entry


def check(name: str, title: str, *, order: int = 50, needs_config: bool = True) -> Callable[[CheckFn], CheckFn]:
    """Decorator form of `register`."""

    def wrap(fn: CheckFn) -> CheckFn:
        register(name, title, fn, order=order, needs_config=needs_config)
        return fn

    return wrap


def checks() -> list[Check]:
    return sorted(_REGISTRY.values(), key=lambda c: (c.order, c.name))


def discover() -> None:
    """Import every `doctor_checks.py` module under kiosk/, drivers/ and ui/ so that they register."""
    for root_name in _PLUGIN_ROOTS:
        try:
            root = importlib.import_module(root_name)
        except ImportError:
            continue
        for base in getattr(root, "__path__", []):
            for path in sorted(Path(base).rglob(f"{PLUGIN_MODULE}.py")):
                parts = path.relative_to(base).with_suffix("").parts
                name = ".".join((root_name, *parts))
                try:
                    importlib.import_module(name)
                except Exception as e:  # noqa: BLE001 - a broken plug-in must not hide the other checks
                    log.warning("contrôles %s non chargés : %s", name, e)
                    register(name, f"Contrôles de {name}", _broken(name, e), order=99, needs_config=False)


def _broken(name: str, error: Exception) -> CheckFn:
    return lambda ctx: fail(f"module de contrôles {name} impossible à charger ({error.__class__.__name__})",
                            "signaler au support : version du logiciel incohérente")


def run(ctx: DoctorContext, only: Iterable[str] | None = None) -> list[Result]:
    wanted = set(only) if only else None
    results = []
    for entry in checks():
        if wanted is not None and entry.name not in wanted:
            continue
        start = time.monotonic()
        if entry.needs_config and ctx.config is None:
            finding = warn("non vérifié : la configuration est invalide", "corriger d'abord la configuration")
        else:
            try:
                finding = entry.fn(ctx)
            except Exception as e:
                log.debug("contrôle %s en erreur", entry.name, exc_info=e)
                finding = fail(f"le contrôle a échoué ({e.__class__.__name__}: {e})",
                               "relancer avec -vv et transmettre la sortie au support")
        results.append(Result(entry, finding, time.monotonic() - start))
    return results


def exit_code(results: list[Result]) -> int:
    worst = max((r.finding.level for r in results), default=Level.OK)
    if worst == Level.FAIL:
        config_failed = any(r.check.name == "config" and r.finding.level == Level.FAIL for r in results)
        return exitcodes.USAGE if config_failed else exitcodes.EXTERNAL
    return exitcodes.NEGATIVE if worst == Level.WARN else exitcodes.OK


# -- the built-in checks -------------------------------------------------------------------------------


@check("config", "Configuration", order=10, needs_config=False)
def check_config(ctx: DoctorContext) -> Finding:
    if ctx.config_error is not None:
        problems = [str(p) for p in ctx.config_error.problems] or [str(ctx.config_error)]
        return fail(f"{ctx.config_path} invalide : {len(problems)} problème(s)",
                    f"corriger avec `kiosk config check {ctx.config_path}` ou refaire `kiosk provision`",
                    problems=problems)
    assert ctx.config is not None
    if not ctx.config_path.exists():
        return warn(f"{ctx.config_path} absent : configuration de démonstration",
                    "installer la configuration du site avec `kiosk provision`", environment=ctx.config.environment)
    return ok(f"{ctx.config_path} valide (environnement {ctx.config.environment})", environment=ctx.config.environment)


def _pcsc_readers(ctx: DoctorContext) -> tuple[list[str] | None, Finding]:
    """The PC/SC readers pcscd reports (cached for the readers check), with the pcscd finding."""
    if "pcsc_readers" in ctx.cache:
        return ctx.cache["pcsc_readers"], ctx.cache["pcsc_finding"]
    readers, finding = _ask_pcscd(ctx)
    ctx.cache["pcsc_readers"], ctx.cache["pcsc_finding"] = readers, finding
    return readers, finding


def _ask_pcscd(ctx: DoctorContext) -> tuple[list[str] | None, Finding]:
    start = "démarrer pcscd : `systemctl start pcscd.socket` (paquet pcscd installé ?)"
    path = ctx.pcscd_socket
    if not path.exists():
        return None, fail(f"pcscd injoignable : {path} absent", start, socket=str(path))
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(NET_TIMEOUT_S)
    try:
        probe.connect(str(path))
    except OSError as e:
        return None, fail(f"pcscd injoignable sur {path} ({e.strerror or e})", start, socket=str(path))
    finally:
        probe.close()
    from smartcard.scard import (
        SCARD_E_NO_READERS_AVAILABLE,
        SCARD_S_SUCCESS,
        SCARD_SCOPE_USER,
        SCardEstablishContext,
        SCardGetErrorMessage,
        SCardListReaders,
        SCardReleaseContext,
    )

    rc, hcontext = SCardEstablishContext(SCARD_SCOPE_USER)
    if rc != SCARD_S_SUCCESS:
        return None, fail(f"pcscd refuse la connexion ({SCardGetErrorMessage(rc).strip()})",
                          "vérifier la règle polkit /etc/polkit-1/rules.d/50-kiosk-pcscd.rules "
                          "(actions org.debian.pcsc-lite.access_pcsc et access_card pour l'utilisateur kiosk) "
                          "et le journal : `journalctl -u pcscd`", socket=str(path))
    try:
        rc, readers = SCardListReaders(hcontext, [])
    finally:
        SCardReleaseContext(hcontext)
    if rc == SCARD_E_NO_READERS_AVAILABLE:
        readers = []
    elif rc != SCARD_S_SUCCESS:
        return None, fail(f"pcscd ne liste pas les lecteurs ({SCardGetErrorMessage(rc).strip()})",
                          "redémarrer pcscd : `systemctl restart pcscd`")
    return list(readers), ok(f"pcscd joignable et autorisé, {len(readers)} lecteur(s) PC/SC", readers=list(readers))


@check("pcscd", "Service PC/SC (pcscd)", order=20)
def check_pcscd(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    uses_pcsc = any(r.backend == "pcsc" for r in ctx.config.readers) or (
        not ctx.config.readers and ctx.config.environment != "demo")
    _, finding = _pcsc_readers(ctx)
    if not uses_pcsc and finding.level != Level.OK:
        return ok("aucun lecteur PC/SC configuré : pcscd non nécessaire", pcscd=finding.message)
    return finding


@check("readers", "Lecteurs et rôles", order=30)
def check_readers(ctx: DoctorContext) -> Finding:
    config = ctx.config
    assert config is not None
    if not config.readers:
        if config.environment == "demo":
            return ok("aucun lecteur configuré : simulateurs intégrés (démonstration)")
        seen, _ = _pcsc_readers(ctx)
        if not seen:
            return fail("aucun lecteur configuré ni vu par pcscd", "brancher les lecteurs, puis déclarer leurs "
                        "rôles : `kiosk config set readers.0.role patient`")
        return warn(f"aucun lecteur déclaré ; vus : {', '.join(seen)}",
                    "déclarer le lecteur patient et le lecteur personnel ([[readers]], rôles patient et staff)",
                    seen=seen)
    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for reader in config.readers:
        name = reader.name or reader.match or reader.port or reader.backend
        if reader.backend == "pcsc":
            seen, _ = _pcsc_readers(ctx)
            matches = [r for r in seen or [] if fnmatchcase(r, reader.match or "*")]
            if not matches:
                missing.append(f"{name} ({reader.role}, motif {reader.match or '*'!r})")
            found.append({"name": name, "role": reader.role, "backend": "pcsc", "matches": matches})
        else:
            found.append({"name": name, "role": reader.role, "backend": reader.backend})
    roles = {r.role for r in config.readers}
    if missing:
        return fail(f"lecteur(s) introuvable(s) : {'; '.join(missing)}",
                    "brancher le lecteur, vérifier `kiosk readers` et le motif `match` de la configuration",
                    readers=found)
    if not ({"patient", "any"} & roles and {"staff", "any"} & roles):
        absent = "patient (Vitale)" if not {"patient", "any"} & roles else "personnel (CPx)"
        return warn(f"aucun lecteur pour le rôle {absent}", "déclarer un lecteur avec ce rôle ou le rôle any",
                    readers=found)
    summary = ", ".join(f"{r['name']} ({r['role']})" for r in found)
    return ok(f"{len(found)} lecteur(s) présent(s) : {summary}", readers=found)


@check("serial", "Ports série", order=35)
def check_serial(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    serial = [r for r in ctx.config.readers if r.backend == "serial"]
    if not serial:
        return ok("aucun lecteur série configuré")
    problems, ports = [], []
    for reader in serial:
        port = reader.port
        ports.append(port)
        if "://" in port:
            continue  # a pyserial URL (socket://, loop://): nothing on disk to check
        if not port:
            problems.append(f"{reader.name or 'lecteur série'} : port non renseigné")
        elif not Path(port).exists():
            problems.append(f"{port} absent (lecteur débranché ou adaptateur USB-série non reconnu)")
        elif not os.access(port, os.R_OK | os.W_OK):
            problems.append(f"{port} : accès refusé (l'utilisateur doit être dans le groupe dialout)")
    if problems:
        return fail("; ".join(problems), "brancher le lecteur série, vérifier `ls -l /dev/ttyUSB* /dev/ttyACM*` "
                    "et l'appartenance au groupe dialout", ports=ports)
    return ok(f"{len(ports)} port(s) série accessible(s) : {', '.join(ports)}", ports=ports)


def _certificates(config: Config) -> list[tuple[str, str, str, str, bool]]:
    """(label, pkcs12, password_file, inline password, is the INSi authentication certificate)."""
    out = []
    if config.insi.pkcs12:
        out.append(("INSi (authentification)", config.insi.pkcs12, config.insi.pkcs12_password_file,
                    config.insi.pkcs12_password, True))
    dmp = config.dmp
    if dmp.pkcs12:
        out.append(("DMP (authentification)", dmp.pkcs12, dmp.pkcs12_password_file, dmp.pkcs12_password, False))
    if dmp.signing_pkcs12:
        out.append(("DMP (signature VIHF)", dmp.signing_pkcs12, dmp.signing_pkcs12_password_file,
                    dmp.signing_pkcs12_password, False))
    return out


def _password(password_file: str, inline: str) -> str:
    if password_file:
        text = Path(password_file).read_text(encoding="utf-8")
        return (text.splitlines() or [""])[0]
    return inline


@check("certificates", "Certificats d'organisation", order=40)
def check_certificates(ctx: DoctorContext) -> Finding:
    from kiosk.orgcert import AUTH_CNS, issuer_problem, load_ca_bundle, open_certificate

    config = ctx.config
    assert config is not None
    entries = _certificates(config)
    if not entries:
        if config.environment == "demo":
            return ok("aucun certificat configuré (démonstration : PKI de test intégrée)")
        return fail("aucun certificat d'organisation configuré", "installer les certificats avec `kiosk provision`")
    anchors: list[Any] | None = None
    bundle_error: ConfigError | None = None
    try:  # read once for every certificate; an unreadable bundle is reported against each of them
        anchors = load_ca_bundle(config.insi.ca_bundle) if config.insi.ca_bundle else None
    except ConfigError as e:
        bundle_error = e
    level, lines, details = Level.OK, [], []
    action = ""
    for label, path, password_file, inline, is_insi_auth in entries:
        error: Exception | None = bundle_error
        try:
            cert = open_certificate(path, _password(password_file, inline))
        except (ConfigError, OSError, UnicodeDecodeError) as e:
            error = e
        if error is not None:
            level, action = Level.FAIL, "réinstaller le certificat et son mot de passe avec `kiosk provision`"
            lines.append(f"{label} : {error}")
            continue
        days = cert.days_left(ctx.now)
        item = {"label": label, "path": path, "cn": cert.cn, "issuer": cert.issuer_cn, "days_left": days,
                "not_after": cert.cert.not_valid_after_utc.isoformat()}
        details.append(item)
        problem = issuer_problem(cert, config.environment, anchors)
        if is_insi_auth and cert.cn not in AUTH_CNS:
            problem = f"CN « {cert.cn} », INSi attend {' ou '.join(AUTH_CNS)} (refus DESIR_560)"
        if problem or days < 0 or cert.not_yet_valid(ctx.now):
            level, action = Level.FAIL, "commander ou réinstaller le bon certificat (IGC-Santé) puis `kiosk provision`"
            lines.append(f"{label} : {problem or ('expiré depuis ' + str(-days) + ' jour(s)' if days < 0 else 'pas encore valide')}")
        elif days < CERT_WARN_DAYS:
            level = max(level, Level.WARN)
            action = action or "renouveler le certificat auprès de l'ANS (IGC-Santé) avant son expiration"
            lines.append(f"{label} : CN {cert.cn}, expire dans {days} jour(s)")
        else:
            lines.append(f"{label} : CN {cert.cn}, émis par {cert.issuer_cn}, {days} jour(s) restants")
    return Finding(Level(level), " ; ".join(lines), action, {"certificates": details})


def _endpoints(config: Config) -> list[tuple[str, str, str]]:
    """(label, URL, ca_bundle) of every remote service in use."""
    out = []
    for label, section in (("INSi", config.insi), ("DMP", config.dmp)):
        url = section.resolved_endpoint(config.environment)
        if url:
            out.append((label, url, section.ca_bundle))
    if config.environment != "demo":
        out.append(("param-lps", config.params.url, config.params.ca_bundle))
    if config.sync.enabled and config.sync.url:
        out.append(("flotte", config.sync.url, config.sync.ca_bundle))
    return out


def tls_probe(url: str, ca_bundle: str, timeout: float = NET_TIMEOUT_S) -> tuple[str | None, datetime | None]:
    """TLS handshake with `url`'s server (verified), then a HEAD for its Date header.

    Returns (problem in French or None, the server's clock or None). No client certificate is presented:
    this tests the network path and the server's certificate, not our authorisation.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"URL https:// attendue ({url})", None
    context = ssl.create_default_context(cafile=ca_bundle or None)
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            request = f"HEAD {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
            tls.sendall(request.encode("ascii", "replace"))
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                head += chunk
    except ssl.SSLCertVerificationError as e:
        return f"certificat du serveur refusé ({e.verify_message})", None
    except ssl.SSLError as e:
        return f"échec de la négociation TLS ({e.reason or e})", None
    except socket.gaierror:
        return f"nom d'hôte inconnu ({parts.hostname})", None
    except TimeoutError:
        return "délai dépassé", None
    except OSError as e:
        return f"injoignable ({e.strerror or e})", None
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("date:"):
            try:
                return None, parsedate_to_datetime(line[5:].strip())
            except (TypeError, ValueError):
                break
    return None, None


@check("endpoints", "Téléservices joignables (TLS)", order=50)
def check_endpoints(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    endpoints = _endpoints(ctx.config)
    if not endpoints:
        return ok("démonstration : téléservices simulés, rien à joindre")
    failures, reached, dates = [], [], []
    for label, url, ca_bundle in endpoints:
        problem, server_date = tls_probe(url, ca_bundle)
        if problem:
            failures.append(f"{label} ({urlsplit(url).netloc}) : {problem}")
        else:
            reached.append(label)
            if server_date is not None:
                dates.append((label, server_date, datetime.now(UTC)))
    ctx.cache["server_dates"] = dates
    details = {"reached": reached, "failed": failures}
    if failures:
        return fail(" ; ".join(failures), "vérifier le réseau, le proxy, le DNS et le pare-feu de l'établissement "
                    "(sortie HTTPS vers ces serveurs)", **details)
    return ok(f"négociation TLS réussie : {', '.join(reached)}", **details)


@check("clock", "Horloge", order=55)
def check_clock(ctx: DoctorContext) -> Finding:
    dates = ctx.cache.get("server_dates") or []
    synced = Path("/run/systemd/timesync/synchronized").exists()
    if dates:
        label, server, local = max(dates, key=lambda d: abs((d[2] - d[1]).total_seconds()))
        skew = (local - server).total_seconds()
        details = {"skew_s": round(skew, 1), "reference": label, "ntp_synchronized": synced}
        if abs(skew) > SKEW_FAIL_S:
            return fail(f"horloge décalée de {skew:+.0f} s par rapport à {label}",
                        "activer la synchronisation NTP : `timedatectl set-ntp true` (serveur NTP de l'établissement)",
                        **details)
        if abs(skew) > SKEW_WARN_S:
            return warn(f"horloge décalée de {skew:+.0f} s par rapport à {label}", "vérifier la synchronisation NTP",
                        **details)
        return ok(f"horloge à l'heure ({skew:+.0f} s par rapport à {label})", **details)
    if synced:
        return ok("horloge synchronisée par NTP (systemd-timesyncd)", ntp_synchronized=True)
    return warn("horloge non vérifiée : aucun serveur de référence ni synchronisation NTP constatée",
                "activer la synchronisation NTP : `timedatectl set-ntp true`", ntp_synchronized=False)


@check("state", "Répertoire d'état", order=60)
def check_state(ctx: DoctorContext) -> Finding:
    directory = ctx.state_dir
    if not directory.is_dir():
        return fail(f"{directory} absent", "le créer : `systemd-tmpfiles --create kiosk.conf` (ou réinstaller)",
                    state_dir=str(directory))
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            pass
    except OSError as e:
        return fail(f"{directory} non inscriptible ({e.strerror or e})",
                    "rendre le répertoire à l'utilisateur kiosk : `chown -R kiosk:kiosk " + str(directory) + "`",
                    state_dir=str(directory))
    return ok(f"{directory} inscriptible", state_dir=str(directory))


@check("disk", "Espace disque", order=65)
def check_disk(ctx: DoctorContext) -> Finding:
    directory = ctx.state_dir
    target = directory if directory.exists() else Path("/")
    free = shutil.disk_usage(target).free
    mib = free // 2**20
    if free < FREE_FAIL_BYTES:
        return fail(f"{mib} Mio libres sur {target}", "libérer de la place (journaux : `journalctl --vacuum-size=50M`)",
                    free_bytes=free)
    if free < FREE_WARN_BYTES:
        return warn(f"{mib} Mio libres sur {target}", "surveiller l'espace disque", free_bytes=free)
    return ok(f"{mib} Mio libres sur {target}", free_bytes=free)


@check("params", "Fichier param-lps", order=70)
def check_params(ctx: DoctorContext) -> Finding:
    from kiosk.params.store import Store

    state = Store(ctx.state_dir).load()
    hint = "lancer `kiosk params sync` (ou `systemctl start kiosk-params.service`) et lire son message"
    if state.current is None or state.checked is None:
        level = warn if ctx.config is not None and ctx.config.environment == "demo" else fail
        return level("param-lps jamais téléchargé : adresses Web PS par défaut", hint)
    hours = (ctx.now - state.checked).total_seconds() / 3600
    details = {"checked_at": state.checked_at, "age_hours": round(hours, 1), "last_error": state.last_error}
    text = f"param-lps confirmé il y a {hours:.0f} h"
    if state.last_error:
        text += f" ; dernière tentative en échec : {state.last_error}"
    if hours > PARAMS_FAIL_HOURS:
        return fail(text, hint, **details)
    if hours > PARAMS_WARN_HOURS or state.last_error:
        return warn(text, hint, **details)
    return ok(text, **details)


@check("sync", "Configuration de flotte", order=80)
def check_sync(ctx: DoctorContext) -> Finding:
    assert ctx.config is not None
    sync = ctx.config.sync
    if not sync.enabled:
        return ok("synchronisation de flotte désactivée (configuration locale)")
    root = Path(sync.trusted_root)
    try:
        size = root.stat().st_size
        with root.open("rb"):
            pass
    except OSError as e:
        return fail(f"racine de confiance {root} illisible ({e.strerror or e})",
                    "réinstaller la racine TUF de la flotte avec `kiosk provision`")
    return ok(f"synchronisation active vers {sync.url}, racine de confiance présente ({size} octets)")


SYSTEMD_RUNTIME = Path("/run/systemd/system")  # exists when systemd is the running init
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(us|ms|min|s|h|d)?")
_SPAN_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "": 1.0}


def _span_seconds(text: str) -> float:
    """`systemctl show` time spans ("30s", "1min 30s", "0", "infinity") in seconds."""
    if text.strip() in ("", "infinity"):
        return 0.0
    return sum(float(n) * _SPAN_S[unit] for n, unit in _SPAN.findall(text))


def _systemctl_show(unit: str) -> dict[str, str]:
    done = subprocess.run(["systemctl", "show", unit, "--property=ActiveState,SubState,WatchdogUSec,NRestarts,Type"],
                          capture_output=True, text=True, timeout=10, check=False)
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


@check("watchdog", "Service et chien de garde", order=90, needs_config=False)
def check_watchdog(ctx: DoctorContext) -> Finding:
    if not SYSTEMD_RUNTIME.is_dir() or not shutil.which("systemctl"):
        return ok("systemd absent (poste de test) : service non vérifié")
    service, desk = _systemctl_show("kiosk.service"), _systemctl_show("kiosk-desk.service")
    if desk.get("ActiveState") == "active":
        return ok("écran du poste (kiosk-desk.service) actif", restarts=desk.get("NRestarts"))
    if service.get("ActiveState") != "active":
        return fail(f"kiosk.service {service.get('ActiveState', 'inconnu')} ({service.get('SubState', '')})",
                    "voir `journalctl -u kiosk -b` puis `systemctl restart kiosk`", **service)
    watchdog_s = _span_seconds(service.get("WatchdogUSec", ""))
    restarts = int(service.get("NRestarts", "0") or 0)
    if not watchdog_s:
        return warn("kiosk.service actif sans chien de garde", "réinstaller l'unité (WatchdogSec)", **service)
    if restarts:
        return warn(f"kiosk.service actif, redémarré {restarts} fois depuis le démarrage",
                    "lire les causes : `journalctl -u kiosk -b | grep -i watchdog`", **service)
    return ok(f"kiosk.service actif, chien de garde {watchdog_s:g} s", **service)
