"""Readers: pcscd and its polkit rule, the configured readers and their roles, the serial ports.

PC/SC is asked through `drivers.pcsc.probe` (no pyscard call here); this module only words its answer.
"""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from drivers.pcsc.probe import PcscdState, probe_pcscd
from kiosk.appliance.doctor.registry import NET_TIMEOUT_S, DoctorContext, Finding, Level, check, fail, ok, warn

_START = "démarrer pcscd : `systemctl start pcscd.socket` (paquet pcscd installé ?)"


def _pcsc_readers(ctx: DoctorContext) -> tuple[list[str] | None, Finding]:
    """The PC/SC readers pcscd reports (cached for the readers check), with the pcscd finding."""
    if "pcsc_readers" in ctx.cache:
        return ctx.cache["pcsc_readers"], ctx.cache["pcsc_finding"]
    readers, finding = _ask_pcscd(ctx)
    ctx.cache["pcsc_readers"], ctx.cache["pcsc_finding"] = readers, finding
    return readers, finding


def _ask_pcscd(ctx: DoctorContext) -> tuple[list[str] | None, Finding]:
    status = probe_pcscd(ctx.pcscd_socket, NET_TIMEOUT_S)
    path = status.socket
    match status.state:
        case PcscdState.SOCKET_MISSING:
            return None, fail(f"pcscd injoignable : {path} absent", _START, socket=str(path))
        case PcscdState.UNREACHABLE:
            return None, fail(f"pcscd injoignable sur {path} ({status.reason})", _START, socket=str(path))
        case PcscdState.REFUSED:
            return None, fail(f"pcscd refuse la connexion ({status.reason})",
                              "vérifier la règle polkit /etc/polkit-1/rules.d/50-kiosk-pcscd.rules "
                              "(actions org.debian.pcsc-lite.access_pcsc et access_card pour l'utilisateur kiosk) "
                              "et le journal : `journalctl -u pcscd`", socket=str(path))
        case PcscdState.LIST_FAILED:
            return None, fail(f"pcscd ne liste pas les lecteurs ({status.reason})",
                              "redémarrer pcscd : `systemctl restart pcscd`")
    readers = list(status.readers)
    return readers, ok(f"pcscd joignable et autorisé, {len(readers)} lecteur(s) PC/SC", readers=readers)


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

