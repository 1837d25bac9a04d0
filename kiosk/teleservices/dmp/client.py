"""The DMP client for TD0.2: SOAP 1.2 envelope with WS-Addressing and the signed VIHF, over mutual TLS.

Which patient OID goes on the wire is a setting (`PatientOid`): the OID INSi returned (production), or the
test NIR OID `.10` that the ANS example kit and DRIMbox send on the DMP test platforms. The Web PS `typeINS`
is not affected: it stays the OID INSi returned.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable

from lxml import etree

from kiosk.domain.ins import InsMatricule, InsOid
from kiosk.errors import TeleserviceError
from kiosk.teleservices import tlsclient
from kiosk.teleservices.dmp.td02 import ACTION, SERVICE, DmpStatus, build_query, parse_td02_reply
from kiosk.teleservices.dmp.vihf import Requester, VihfProfile, build_vihf
from kiosk.teleservices.guards import check_oid
from kiosk.teleservices.soapxml import SOAP12

__all__ = ["WSA", "WSSE", "DmpClient", "PatientOid"]

log = logging.getLogger(__name__)
DEFAULT_LIMITS = tlsclient.HttpLimits()

WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


class PatientOid(str, enum.Enum):
    """`[dmp] patient_oid`: which OID the query and the VIHF carry for the patient."""

    AS_RECEIVED = "as-received"  # the OID INSi returned (.8 NIR, .9 NIA)
    TEST_NIR = "test-nir"  # 1.2.250.1.213.1.4.10, as the ANS kit and DRIMbox send on DMP test platforms


class DmpClient(tlsclient.SessionClient):
    """`exists(matricule, oid)`: the TD0.2 existence test. Thread-safe; one per process."""

    def __init__(
        self,
        base_url: str,
        profile: VihfProfile,
        *,
        identity: tlsclient.ClientIdentity | None,
        signer: tlsclient.ClientIdentity,
        ca_bundle: str = "",
        limits: tlsclient.HttpLimits = DEFAULT_LIMITS,
        environment: str = "demo",
        pool_size: int = 8,
        responsible: Requester | None = None,
        patient_oid: PatientOid = PatientOid.AS_RECEIVED,
    ) -> None:
        if not base_url:
            raise TeleserviceError("DMP : aucune adresse de service configurée (dmp.endpoint)")
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/patients"
        self.profile = profile
        self.signer = signer
        self.limits = limits
        self.environment = environment
        self.responsible = responsible  # who asks when no CPx card opened a desk (CLI calls)
        self.patient_oid = patient_oid
        super().__init__(identity, ca_bundle, pool_size)

    def envelope(self, ins: str, oid: str, requester: Requester) -> bytes:
        soap = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12, "wsa": WSA})
        header = etree.SubElement(soap, f"{{{SOAP12}}}Header")
        must = {f"{{{SOAP12}}}mustUnderstand": "true"}
        etree.SubElement(header, f"{{{WSA}}}Action", must).text = ACTION
        etree.SubElement(header, f"{{{WSA}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
        etree.SubElement(header, f"{{{WSA}}}To").text = self.url
        security = etree.SubElement(header, f"{{{WSSE}}}Security", must, nsmap={"wsse": WSSE})
        security.append(build_vihf(self.profile, requester, self.signer, ins, oid))
        etree.SubElement(soap, f"{{{SOAP12}}}Body").append(
            build_query(ins, oid, self.profile.lps_id, self.profile.lps_name)
        )
        return bytes(etree.tostring(soap, xml_declaration=True, encoding="UTF-8"))

    def exists(
        self, matricule: InsMatricule, oid: str, *, requester: Requester | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> DmpStatus:
        """TD0.2 for one INS, with the OID INSi returned (NIR .8 or NIA .9: the OID decides, not the first digit).

        `requester` is the staff member who opened the desk; None means the configured person responsible.
        """
        who = requester or self.responsible
        if who is None:
            raise TeleserviceError(
                "DMP : personne responsable inconnue (renseigner dmp.responsible_idnat et dmp.responsible_name)"
            )
        wire_oid = InsOid.TEST.value if self.patient_oid is PatientOid.TEST_NIR else oid
        check_oid(wire_oid, self.environment, self.base_url)
        body = self.envelope(matricule.value, wire_oid, who)
        if before_send is not None:
            before_send()
        headers = {"Content-Type": f'application/soap+xml;charset=UTF-8;action="{ACTION}"'}
        reply = tlsclient.post(self.session, self.url, body, headers, self.limits, SERVICE)
        status = parse_td02_reply(reply.status_code, reply.content)
        log.info("DMP TD0.2 %s : %s en %.0f ms", matricule, status.state.value, reply.elapsed_s * 1000)
        return status
