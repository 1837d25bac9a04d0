"""The INSi client: zeep on the packaged WSDL, mutual TLS, bounded exchanges, answers mapped to the domain.

zeep builds and sends the request (body validated against the project's XSD, SOAP 1.2 action, headers by
`InsiHeaders`); the answer comes back raw (`raw_response`) and `kiosk.teleservices.insi.response` reads it with the
hardened parser, by element name. One client per process: building it parses the WSDL; it is
thread-safe and the desk pipeline shares it between its workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import zeep
from zeep.transports import Transport

from kiosk.domain.patient import Beneficiary, VitaleRead
from kiosk.domain.states import InsiCode
from kiosk.errors import TeleserviceError
from kiosk.teleservices import tlsclient
from kiosk.teleservices.guards import check_card
from kiosk.teleservices.insi.headers import (
    CURRENT_CALL,
    CallData,
    InsiHeaders,
    LpsIdentity,
    coverage_from_card,
    iso_date,
)
from kiosk.teleservices.insi.model import InsiResult, SearchAttempt, Traits
from kiosk.teleservices.insi.response import SERVICE, parse_insi_reply

__all__ = ["WSDL", "InsiClient"]

log = logging.getLogger(__name__)
DEFAULT_LIMITS = tlsclient.HttpLimits()

WSDL = Path(__file__).resolve().parent / "wsdl" / "ICIR-v1.wsdl"
_BINDING = "{http://www.cnamts.fr/webservice}ICIRBinding"


class BoundedTransport(Transport):
    """zeep's transport, on `tlsclient.post` (deadline, size cap, clear errors); loads packaged files only."""

    def __init__(self, session: requests.Session, limits: tlsclient.HttpLimits) -> None:
        super().__init__(session=session, timeout=limits.timeout_s, operation_timeout=limits.timeout_s)  # type: ignore[no-untyped-call]
        self.limits = limits

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> tlsclient.HttpReply:  # type: ignore[override, unused-ignore]
        return tlsclient.post(self.session, address, message, headers, self.limits, SERVICE)

    def load(self, url: str) -> bytes:
        path = Path(url).resolve()
        if not path.is_relative_to(WSDL.parent):
            raise TeleserviceError(f"INSi : chargement de schéma refusé hors du paquet ({url})")
        return path.read_bytes()


class InsiClient(tlsclient.SessionClient):
    """`search_vitale` and `search_traits` / `search_traits_strategy`. Errors are `TeleserviceError`s."""

    def __init__(
        self,
        endpoint: str,
        lps: LpsIdentity,
        *,
        identity: tlsclient.ClientIdentity | None,
        ca_bundle: str = "",
        limits: tlsclient.HttpLimits = DEFAULT_LIMITS,
        environment: str = "demo",
        pool_size: int = 8,
    ) -> None:
        if not endpoint:
            raise TeleserviceError("INSi : aucune adresse de service configurée (insi.endpoint)")
        self.endpoint = endpoint
        self.environment = environment
        super().__init__(identity, ca_bundle, pool_size)
        settings = zeep.Settings(
            strict=True,
            raw_response=True,
            xml_huge_tree=False,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        client = zeep.Client(  # type: ignore[no-untyped-call]  # zeep ships no type hints
            str(WSDL), transport=BoundedTransport(self.session, limits), settings=settings, plugins=[InsiHeaders(lps)]
        )
        self._service = client.create_service(_BINDING, endpoint)  # type: ignore[no-untyped-call]

    def _call(self, operation: str, body: dict[str, Any], call: CallData) -> InsiResult:
        token = CURRENT_CALL.set(call)
        try:
            reply = getattr(self._service, operation)(**body)
        except (zeep.exceptions.Error, TypeError, ValueError) as e:  # the body does not fit the packaged XSD
            raise TeleserviceError(f"INSi : requête refusée par le schéma ({e.__class__.__name__})") from e
        finally:
            CURRENT_CALL.reset(token)
        result = parse_insi_reply(reply.status_code, reply.content_type, reply.content, call.message_id)
        log.info(
            "INSi %s : CR %s en %.0f ms (%s)", operation, result.code.value, reply.elapsed_s * 1000, call.message_id
        )
        return result

    def search_vitale(
        self, beneficiary: Beneficiary, read: VitaleRead | None = None, *, before_send: Callable[[], None] | None = None
    ) -> InsiResult:
        """`rechercherInsAvecCarteVitale` for one beneficiary of the card just read.

        `before_send` runs after the request is built and right before it is sent: the card-swap check.
        """
        check_card(read, self.environment, self.endpoint)
        body: dict[str, Any] = {}
        if beneficiary.nir_individuel is not None:
            body["MatriculeIndividu"] = {"NumIdentifiant": beneficiary.nir_individuel.number}
        if beneficiary.nir_ouvrant_droit is not None:
            body["MatriculeOD"] = {"NumIdentifiant": beneficiary.nir_ouvrant_droit.number}
        body["NomNaissance"] = beneficiary.birth_name
        body["DateNaissance"] = iso_date(beneficiary.date_naissance)
        if beneficiary.rang_naissance:
            body["RangNaissance"] = beneficiary.rang_naissance
        call = CallData(coverage=coverage_from_card(read, beneficiary), before_send=before_send)
        return self._call("rechercherInsAvecCarteVitale", body, call)

    def search_traits(self, traits: Traits, prenoms: tuple[str, ...] | None = None) -> InsiResult:
        """One `rechercherInsAvecTraitsIdentite` call with `prenoms` (default: all of them)."""
        body: dict[str, Any] = {
            "NomNaissance": traits.nom_naissance,
            "Prenom": list(traits.prenoms if prenoms is None else prenoms),
            "Sexe": traits.sexe,
            "DateNaissance": traits.date_naissance,
        }
        if traits.lieu_naissance:
            body["LieuNaissance"] = traits.lieu_naissance
        return self._call("rechercherInsAvecTraitsIdentite", body, CallData())

    def search_traits_strategy(self, traits: Traits) -> InsiResult:
        """The known practice with several first names: each one alone, then the whole list.

        Stops at the first CR 00 (or error, which propagates). Without a CR 00, a CR 02 seen on the way wins
        over CR 01: "several identities" tells staff to add traits, "none" would mislead them.
        """
        tries = [(p,) for p in traits.prenoms] + ([traits.prenoms] if len(traits.prenoms) != 1 else [])
        attempts: list[SearchAttempt] = []
        best: InsiResult | None = None
        for prenoms in tries:
            result = self.search_traits(traits, prenoms)
            attempts.append(SearchAttempt(len(prenoms), result.code.value))
            if result.found:
                best = result
                break
            if best is None or (result.code is InsiCode.SEVERAL and best.code is not InsiCode.SEVERAL):
                best = result
        assert best is not None  # `tries` is never empty
        return InsiResult(best.code, best.label, best.identity, best.message_id, tuple(attempts))
