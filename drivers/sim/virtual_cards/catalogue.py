"""The product's virtual cards (for `kiosk demo`, `kiosk sim card`, bench checks and tests).

The Vitale cards carry the CNDA INSi test identities (teleservices.md) so the INSi simulator answers for them:
ADRTROIS DOMINIQUE is the insured of the family card, ECETINSI PIERRE-ALAIN a child (with his own NIR) on
HERMANN GATIEN's card, TCHITCHI CATARINA a single insured, CORSE ANTHONY the insured of the accented-names
card, HOUILLES PIERRE (INSi: no identity) on the test card. Each call returns a fresh card (PIN counters).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from drivers.sim.pki import Holder
from drivers.sim.virtual_cards.cpx_card import VirtualCps4, VirtualCpx
from drivers.sim.virtual_cards.iso import IsoCard
from drivers.sim.virtual_cards.vitale_card import VirtualVitale, VitalePerson

__all__ = [
    "CPX_PROFILES",
    "DEMO_STAFF_CARDS",
    "VITALE_PROFILES",
    "demo_cpe",
    "demo_cpe_service",
    "demo_cps",
    "demo_cps4",
    "demo_vitale_accents",
    "demo_vitale_child",
    "demo_vitale_family",
    "demo_vitale_lunar",
    "demo_vitale_single",
    "make_card",
    "nir_with_key",
    "test_cpf",
    "test_cps",
    "test_cps_contactless",
    "test_cps_gip",
    "test_vitale",
]

DEMO_CARD = {"regime": "01", "caisse": "751", "centre": "0751", "nature": "D", "card_type": "VITALE 2"}


def nir_with_key(number13: str) -> str:
    """13 characters + their mod-97 key (2A/2B count as 19/18): for the invented identities."""
    digits = number13[:5] + {"2A": "19", "2B": "18"}.get(number13[5:7], number13[5:7]) + number13[7:]
    return f"{number13}{97 - int(digits) % 97:02d}"


def _vitale(label: str, persons: list[VitalePerson], serial: str, **card: str) -> VirtualVitale:
    fields = {**DEMO_CARD, "serial": serial, "debut_validite": "20240101", **card}
    if "nir_ouvrant_droit" not in fields:
        fields["nir_ouvrant_droit"] = next(p.nir for p in persons if p.qualite == "00")
    return VirtualVitale(persons=persons, card=fields, label=label)


def demo_vitale_family() -> VirtualVitale:
    """ADRTROIS DOMINIQUE, her spouse and twins born the same day (birth ranks 1 and 2)."""
    return _vitale("famille", [
        VitalePerson("ADRTROIS", "DOMINIQUE", "19970226", "00", nir="297022A02077878"),
        VitalePerson("ADRTROIS", "MICHEL", "19950612", "02", nom_naissance="BERNARD"),
        VitalePerson("ADRTROIS", "LÉO", "20210314", "06", rang="1"),
        VitalePerson("ADRTROIS", "LINA", "20210314", "06", rang="2"),
    ], serial="0012345678")


def demo_vitale_child() -> VirtualVitale:
    """HERMANN GATIEN insured; ECETINSI PIERRE-ALAIN a child with his own certified NIR."""
    return _vitale("enfant", [
        VitalePerson("HERMANN", "GATIEN", "19810324", "00", nir="181036322045660"),
        VitalePerson("ECETINSI", "PIERRE-ALAIN", "20090714", "06", nir="109076322083489"),
    ], serial="0012345679")


def demo_vitale_single() -> VirtualVitale:
    return _vitale("seul", [VitalePerson("TCHITCHI", "CATARINA", "19360621", "00", nir="236066322083656")],
                   serial="0012345680")


def demo_vitale_accents() -> VirtualVitale:
    """Accents, hyphens and an apostrophe, and a birth name distinct from the usual name."""
    return _vitale("accents", [
        VitalePerson("CORSE", "ANTHONY", "19800302", "00", nir="180032B02040123"),
        VitalePerson("D'ALEMBERT-LÉVÊQUE", "MARIE-ÈVE", "19820911", "02", nom_naissance="LÉVÊQUE"),
    ], serial="0012345681")


def demo_vitale_lunar() -> VirtualVitale:
    """A person born abroad whose day and month are unknown: the card says 00, and so must the kiosk."""
    return _vitale("lunaire", [
        VitalePerson("OUEDRAOGO", "AMINATA", "19650000", "00", nir=nir_with_key("2659999123456"), pays="BFA"),
    ], serial="0012345682")


def test_vitale() -> VirtualVitale:
    """A test card (CNDA caisse 349, centre 0349, marked T): refused in production."""
    return _vitale("test", [VitalePerson("HOUILLES", "PIERRE", "19930127", "00", nir=nir_with_key("1930163220123"))],
                   serial="0099999901", caisse="349", centre="0349", nature="T")


_RECEPTION = Holder("3760021832/000000018", "ACCUEIL", "CLAIRE", "Secrétaire médicale", "CH DE DEMONSTRATION",
                    "1760021832")


def demo_cpe() -> VirtualCpx:
    """The receptionist's CPE (staff of the establishment, FINESS 760021832)."""
    return VirtualCpx(_RECEPTION, serial="00000018", label="CPE accueil")


def demo_cpe_service() -> VirtualCpx:
    """A CPE "carte de service": pseudonym and IdNat only, no name on the card (cards.md's public subject shape)."""
    return VirtualCpx(
        Holder(
            "3760021832/000000027",
            "",
            "",
            "Carte de service santé ou social",
            "CH DE DEMONSTRATION",
            "1760021832",
            pseudonym="EMPLOYE000000027",
        ),
        serial="00000027",
        label="CPE carte de service",
    )


def test_cps() -> VirtualCpx:
    """A doctor's CPS (RPPS 10101234567)."""
    return VirtualCpx(Holder("810101234567", "MEDECIN", "PAUL", "Médecin"), serial="00000042", label="CPS médecin")


def demo_cps() -> VirtualCpx:
    return VirtualCpx(Holder("810109876543", "PHARMACIEN", "JEANNE", "Pharmacien"), serial="00000043",
                      label="CPS pharmacien")


def test_cps_gip() -> VirtualCpx:
    """An older GIP-CPS subject: the profession in OU beside O=TEST, no title."""
    return VirtualCpx(Holder("010012345678", "KINE", "ALAIN", "Masseur-Kinésithérapeute", "TEST", gip_cps=True),
                      serial="00000045", label="CPS GIP-CPS")


def test_cps_contactless() -> VirtualCpx:
    """The doctor's CPS3 presented on its contactless application (technical certificate only)."""
    return VirtualCpx(Holder("810101234567", "MEDECIN", "PAUL", "Médecin"), serial="00000042", contactless=True,
                      label="CPS médecin sans contact")


def test_cpf() -> VirtualCpx:
    return VirtualCpx(Holder("810107654321", "ETUDIANT", "LOUIS", "Médecin en formation"), serial="00000044",
                      label="CPF interne")


def demo_cps4(atr_kind: str = "contact") -> VirtualCps4:
    """A CPS4 CPE (ChipDoc) for the reception desk; `atr_kind` contact, rc or t0 (the official ATR list)."""
    holder = Holder("3760021832/000000036", "ACCUEIL", "SOPHIE", "Secrétaire médicale", "CH DE DEMONSTRATION",
                    "1760021832")
    return VirtualCps4(holder, serial="00000036", atr_kind=atr_kind, label=f"CPS4 CPE accueil ({atr_kind})")


VITALE_PROFILES: dict[str, Callable[[], VirtualVitale]] = {
    "famille": demo_vitale_family, "enfant": demo_vitale_child, "seul": demo_vitale_single,
    "accents": demo_vitale_accents, "lunaire": demo_vitale_lunar, "test": test_vitale,
}
CPX_PROFILES: dict[str, dict[str, Callable[[], VirtualCpx]]] = {
    "cpe": {"accueil": demo_cpe, "service": demo_cpe_service},
    "cps": {"medecin": test_cps, "pharmacien": demo_cps, "gip": test_cps_gip, "sans-contact": test_cps_contactless},
    "cpf": {"interne": test_cpf},
    "cps4": {"accueil": demo_cps4, "rc": lambda: demo_cps4("rc"), "t0": lambda: demo_cps4("t0")},
}
# The staff cards the demo's staff key cycles through, in order (each can open the desk).
DEMO_STAFF_CARDS: tuple[Callable[[], VirtualCpx], ...] = (demo_cpe, demo_cpe_service, demo_cps4)


def make_card(kind: str, profile: str | None = None) -> IsoCard:
    """`kind` vitale|cpe|cps|cpf|cps4 and a profile name (None = the first): `KeyError` lists what exists."""
    tables: dict[str, Mapping[str, Callable[[], IsoCard]]] = {"vitale": VITALE_PROFILES, **CPX_PROFILES}
    table = tables.get(kind)
    if table is None:
        raise KeyError(f"type de carte inconnu {kind!r} ({', '.join(tables)})")
    name = profile or next(iter(table))
    if name not in table:
        raise KeyError(f"profil {name!r} inconnu pour {kind} ({', '.join(table)})")
    return table[name]()
