"""Organisation certificates (INSi, DMP authentication and VIHF signature): readable, right issuer, not expiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.appliance.doctor.registry import DoctorContext, Finding, Level, check, fail, ok
from kiosk.config import Config
from kiosk.errors import ConfigError


def _certificates(config: Config) -> list[tuple[str, str, str, str, bool]]:
    """(label, pkcs12, password_file, inline password, is the INSi authentication certificate)."""
    out = []
    if config.insi.pkcs12:
        out.append(("INSi (authentification)", config.insi.pkcs12, config.insi.pkcs12_password_file,
                    config.insi.pkcs12_password, True))
    dmp = config.dmp
    if not dmp.enabled:  # an INSi-only kiosk: DMP certificates left in the file are not in use
        return out
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
    from kiosk.teleservices.orgcert import AUTH_CNS, issuer_problem, load_ca_bundle, open_certificate

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
            why = problem or (f"expiré depuis {-days} jour(s)" if days < 0 else "pas encore valide")
            lines.append(f"{label} : {why}")
        elif days < ctx.limits.cert_fail_days:
            level, action = Level.FAIL, "renouveler le certificat auprès de l'ANS (IGC-Santé) sans attendre"
            lines.append(f"{label} : CN {cert.cn}, expire dans {days} jour(s)")
        elif days < ctx.limits.cert_warn_days:
            level = max(level, Level.WARN)
            action = action or "renouveler le certificat auprès de l'ANS (IGC-Santé) avant son expiration"
            lines.append(f"{label} : CN {cert.cn}, expire dans {days} jour(s)")
        else:
            lines.append(f"{label} : CN {cert.cn}, émis par {cert.issuer_cn}, {days} jour(s) restants")
    return Finding(Level(level), " ; ".join(lines), action, {"certificates": details})
