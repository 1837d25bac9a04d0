"""The simulators' people: the public CNDA test identities (teleservices.md) and scenario identities.

The CNDA entries are public test data, reproduced as the recorded CNDA answers show them (padoa/tlsi-ins
fixtures, ../shared/peers/insi/cnda-answers): HERMANN's active INS keeps its key 60, which fails the mod-97
rule; ECETINSI has two former INS and no `Prenom` in its TIQ (only `ListePrenom`); CORSE lists his own INS
as a former one; PROVISOIRE MATRICULE is a NIA (OID .9) whose matricule starts with 1. The scenario identities (birth
names in capitals
below) trigger the answers a desk must survive: several identities, SOAP fault, slow, hung, broken XML,
hostile XML. DMP states are the simulator's choice, one per state the desk shows.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DMP_STATES", "IDENTITIES", "INSI_SCENARIOS", "NIA_OID", "NIR_OID", "TEST_OID", "SimIdentity"]

NIR_OID = "1.2.250.1.213.1.4.8"  # the INSi test server answers its test identities with the production OID
NIA_OID = "1.2.250.1.213.1.4.9"
TEST_OID = "1.2.250.1.213.1.4.10"


@dataclass(frozen=True)
class SimIdentity:
    nom: str
    prenoms: tuple[str, ...]
    sexe: str
    naissance: str  # YYYY-MM-DD
    lieu: str
    nir: str  # 13 characters
    cle: str
    histo: tuple[tuple[str, str], ...] = ()
    oid: str = NIR_OID
    prenom_in_tiq: bool = True  # False: the TIQ carries ListePrenom only (CNDA TEST_2.04 cas 2)

    @property
    def ins(self) -> str:
        return self.nir + self.cle


IDENTITIES: tuple[SimIdentity, ...] = (
    SimIdentity("ADRTROIS", ("DOMINIQUE",), "F", "1997-02-26", "2A020", "297022A020778", "78"),
    SimIdentity(
        "CORSE", ("ANTHONY",), "M", "1980-03-02", "2B020", "180032B020401", "23", histo=(("180032B020401", "23"),)
    ),
    SimIdentity("TCHITCHI", ("CATARINA",), "F", "1936-06-21", "63220", "2360663220836", "56"),
    SimIdentity(
        "ECETINSI",
        ("PIERRE-ALAIN", "MURIEL", "FLORIANT"),
        "M",
        "2009-07-14",
        "63220",
        "1090763220834",
        "89",
        histo=(("2090763220834", "39"), ("2090663220123", "55")),
        prenom_in_tiq=False,
    ),
    SimIdentity("PROVISOIRE", ("MATRICULE",), "M", "2009-07-01", "63220", "1090763220888", "35", oid=NIA_OID),
    SimIdentity(
        "HERMANN",
        ("GATIEN",),
        "M",
        "1981-03-24",
        "63220",
        "1810363220456",
        "60",
        histo=(("1810363220456", "60"), ("2810363220456", "10")),
    ),
    # Two people sharing a first name and birth date: "CLAUDE" alone is ambiguous (CR 02), the second name is not.
    SimIdentity("JUMEAU", ("CLAUDE", "MARIE"), "F", "1985-02-07", "75056", "2850275056123", "87"),
    SimIdentity("JUMEAU", ("CLAUDE", "JEANNE"), "F", "1985-02-07", "75056", "2850275056001", "15"),
    # DMP states without a CNDA identity: blocked by the patient, emergency refused, unknown code.
    SimIdentity("BLOQUE", ("LEA",), "F", "1964-02-13", "13055", "2640213055123", "07"),
    SimIdentity("URGENCE", ("PAUL",), "M", "1977-06-19", "99100", "1770699123456", "27"),
    SimIdentity("INCONNU", ("LOUIS",), "M", "1979-01-19", "99100", "1790199123400", "02"),
)

# Birth names that make the INSi simulator misbehave on purpose (the value says how).
INSI_SCENARIOS: dict[str, str] = {
    "HOUILLES": "cr01",  # CNDA: no identity
    "FAUTE": "fault",  # Receiver siram_40 fault, as recorded from the real service: "réessayez"
    "LENTEUR": "slow",  # answers after `slow_s`
    "SILENCE": "hang",  # never answers
    "GOUTTE": "drip",  # trickles its answer one byte every 50 ms (about 20 s in all)
    "GZIP": "gzip",  # a compressed answer nobody asked for
    "CASSE": "broken",  # not well-formed XML
    "ENTITES": "entities",  # a DOCTYPE with entity expansion
    "ENORME": "huge",  # a multi-megabyte answer
    "SOAP11": "soap11",  # a SOAP 1.1 envelope (wrong namespace)
    "PANNE": "http503",  # an HTML error page
}

# INS (15 characters) -> the DMP state the DMP simulator answers; anything else is "not created".
DMP_STATES: dict[str, str] = {
    "297022A02077878": "authorised",  # ADRTROIS
    "180032B02040123": "not_created",  # CORSE
    "236066322083656": "closed",  # TCHITCHI
    "109076322083489": "not_authorised",  # ECETINSI
    "109076322088835": "authorised",  # PROVISOIRE MATRICULE, a NIA (asked with OID .9)
    "181036322045660": "authorised",  # HERMANN (the kiosk does not ask: its key fails)
    "285027505612387": "authorised",  # JUMEAU CLAUDE MARIE
    "285027505600115": "not_authorised",  # JUMEAU CLAUDE JEANNE
    "264021305512307": "blocked",  # BLOQUE
    "177069912345627": "emergency_refused",  # URGENCE
    "179019912340002": "unknown",  # INCONNU: a status code the kiosk does not know
    # Misbehaviour, by INS (valid keys, no person behind them).
    "190017505600195": "fault",  # SOAP fault (VIHF refused)
    "190017505600294": "slow",  # answers after `slow_s`
    "190017505600393": "hang",  # never answers
    "190017505600492": "broken",  # not well-formed XML
    "190017505600591": "entities",  # entity expansion attempt
}
