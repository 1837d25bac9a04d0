"""Where the Vitale 2 data lives on the chip: the public facts and THE PROJECT'S ASSUMPTIONS, in one place.

Public (cards.md: cardpeek's script and a shorter open-source reader):
- SELECT MF `3F00`, READ BINARY by SFI 2: one `65` template per person with `80` last name, `81` first name,
  `82` birth date (YYYYMMDD, lunar dates possible).
- SELECT the VITALE application, READ BINARY by SFI 2: one `65` template per person with `93` NIR (15 ASCII
  characters) and `90` country; `66/80` the card validity start. The i-th template of one file goes with the
  i-th of the other.

ASSUMED by this project (not public; to be validated on real cards, which is an open item):
- birth rank, quality, birth name: tags `83`, `84`, `85` of the person template in the MF file;
- the card-level template `66` in the application file carries, besides the public `80`: `81` card serial,
  `82` card type, `83` regime, `84` managing caisse, `85` managing centre, `86` management code, `87` the
  insured's NIR ("ouvrant droit"), `89` the card's nature (`R` real, `T` test, `D` demonstration);
- `65/93` is the person's OWN certified NIR; when it equals the insured's NIR on a non-insured person it is
  taken as the insured's, not the person's (a child without a certified NIR);
- text is ASCII, else UTF-8, else ISO 8859-1.
Because these are assumptions, a field read from an assumed tag that does not parse is left empty and flagged
(`doubtful`), never a reason to refuse the card; unequal template counts read the persons both files describe.
A person whose quality cannot be read never gets the `93` NIR as their own: it is shown as the insured's only.
EF `2001` ("pointers", cardpeek) is selected with P1=02 by the reference; this reader does not use it (it reads
by SFI, the shorter public sequence).
Public heuristics for test cards (SESAM-Vitale API users): caisse `349` / centre `0349` (CNDA), regime `01` +
caisse `999` (SESAM-Vitale test card).
"""

from __future__ import annotations

AID_VITALE = bytes.fromhex("D250000002564954414C45")
AID_MF_VITALE = bytes.fromhex("D2500000024D465F564954414C45")

# APDUs (public sequence).
SELECT_MF = bytes.fromhex("00A40000023F00")
READ_SFI2 = bytes.fromhex("00B0820000")
SELECT_VITALE = bytes.fromhex("00A404000B") + AID_VITALE + b"\x00"

PERSON = 0x65
CARD = 0x66

# Person template, MF file.
NOM = 0x80  # public
PRENOM = 0x81  # public
DATE_NAISSANCE = 0x82  # public
RANG = 0x83  # ASSUMED
QUALITE = 0x84  # ASSUMED
NOM_NAISSANCE = 0x85  # ASSUMED

# Person template, application file.
NIR = 0x93  # public
PAYS = 0x90  # public

# Card template, application file.
CARD_FIELDS: dict[int, str] = {
    0x80: "debut_validite",  # public
    0x81: "serial",  # ASSUMED from here on
    0x82: "card_type",
    0x83: "regime",
    0x84: "caisse",
    0x85: "centre",
    0x86: "code_gestion",
    0x87: "nir_ouvrant_droit",
    0x89: "nature",
}
QUALITE_CODES = frozenset(f"{n:02d}" for n in range(10))  # SESAM-Vitale quality codes 00..09 (cards.md)
NATURE_CODES = {"R": "real", "T": "test", "D": "demo"}  # ASSUMED values of 66/89

TEXT_ENCODINGS = ("ascii", "utf-8", "latin-1")


def nature_of(card: dict[str, str]) -> str:
    """real / test / demo / unknown: the card's own marker first, then the public test-card heuristics."""
    marked = NATURE_CODES.get(card.get("nature", ""))
    if marked:
        return marked
    if card.get("caisse") == "349" or card.get("centre") == "0349":
        return "test"
    if card.get("regime") == "01" and card.get("caisse") == "999":
        return "test"
    return "unknown"
