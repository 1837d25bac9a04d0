"""The hospital system link: the interface engine reachable (TCP, or TLS verified), and no identity left waiting."""

from __future__ import annotations

import socket
import ssl
import time

from kiosk.appliance.doctor.registry import NET_TIMEOUT_S, DoctorContext, Finding, check, fail, ok, warn


@check("his", "Système d'information hospitalier (MLLP)", order=52)
def check_his(ctx: DoctorContext) -> Finding:
    from kiosk.config.schema_his import split_endpoint

    assert ctx.config is not None
    his = ctx.config.his
    if not his.enabled:
        return ok("liaison avec le système de l'hôpital désactivée ([his] enabled = false)")
    if not his.endpoint:
        return ok("démonstration : système de l'hôpital simulé")
    where = split_endpoint(his.endpoint)
    if where is None:
        return fail(f"adresse his.endpoint invalide ({his.endpoint})", "corriger his.endpoint (hôte:port)")
    problem = _probe(where[0], where[1], his.tls, his.ca_bundle)
    if problem:
        return fail(f"moteur d'interfaces {his.endpoint} : {problem}",
                    "vérifier le réseau, le port MLLP ouvert pour cette borne et, en TLS, le certificat ; "
                    "puis `kiosk his ping`", endpoint=his.endpoint)
    return ok(f"moteur d'interfaces {his.endpoint} joignable{' (TLS vérifié)' if his.tls else ''}",
              endpoint=his.endpoint)


def _probe(host: str, port: int, tls: bool, ca_bundle: str) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=NET_TIMEOUT_S) as raw:
            if tls:
                context = ssl.create_default_context(cafile=ca_bundle or None)
                with context.wrap_socket(raw, server_hostname=host):
                    pass
    except ssl.SSLCertVerificationError as e:
        return f"certificat du serveur refusé ({e.verify_message})"
    except ssl.SSLError as e:
        return f"échec de la négociation TLS ({e.reason or e})"
    except socket.gaierror:
        return f"nom d'hôte inconnu ({host})"
    except TimeoutError:
        return "délai dépassé"
    except OSError as e:
        return f"injoignable ({e.strerror or e})"
    return None


@check("his_pending", "Messages d'identité en attente d'acquittement", order=53, needs_config=False)
def check_his_pending(ctx: DoctorContext) -> Finding:
    from kiosk.teleservices.his.link import PendingState
    from kiosk.teleservices.his.status import read_status, status_path

    status = read_status()
    if status is None:
        return ok("aucun message en attente (service arrêté ou liaison inutilisée)")
    pending = status.get("pending") or []
    if not pending:
        return ok("aucun message d'identité en attente")
    oldest = min(float(p.get("queued_at", time.time())) for p in pending)
    minutes = max(0, int((time.time() - oldest) // 60))
    refused = [p for p in pending if p.get("state") == PendingState.REFUSED.value]
    details = {"pending": pending, "file": str(status_path())}
    words = f"{len(pending)} message(s) non acquitté(s), le plus ancien depuis {minutes} min"
    if refused:
        words += f", dont {len(refused)} refusé(s) ({', '.join(sorted({p.get('ack', '') for p in refused}))})"
    action = ("voir le motif sur le poste d'accueil (liste des messages en attente), corriger ou abandonner ; "
              "les messages en attente sont perdus si la borne s'arrête")
    return warn(words, action, **details)
