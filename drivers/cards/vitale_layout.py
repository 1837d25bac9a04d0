"""Where the Vitale 2 data lives on the chip, each fact with the public source that confirms it or "ASSUMPTION".

Sources: [CARDPEEK] L1L1/cardpeek `dot_cardpeek_dir/scripts/vitale_2.lua`; [RUFUS] ukinoki/Rufus
`lecteurvitale.cpp` (the shorter public reader); [PCSC-TOOLS] pcsc-tools' `smartcard_list.txt` (ATRs);
[SESAM-API] public code using SESAM-Vitale's "API Lecture" groups 101/104 (field names, quality codes).

| fact | source |
| --- | --- |
| ATR `3B 75 13 00 00 4x 09 EA 90 00` / `... 45 09 FA 90 00` | [PCSC-TOOLS] (drivers/atr.py) |
| AIDs VITALE `D2 50 00 00 02 56 49 54 41 4C 45`, MF_VITALE `D2 50 00 00 02 4D 46 5F ...` | [CARDPEEK], [RUFUS] |
| SELECT MF `00 A4 00 00 02 3F 00`, READ BINARY by SFI 2 `00 B0 82 00 00` | [RUFUS] |
| MF file: one `65` template per person, `80` last name, `81` first name, `82` birth date (lunar dates kept) | [RUFUS], [CARDPEEK] |
| VITALE application, READ BINARY by SFI 2: one `65` per person, `93` NIR (15 ASCII), `90` country | [RUFUS] |
| the i-th template of one file goes with the i-th of the other | [RUFUS] |
| `66/80` card validity start | [CARDPEEK] |
| EF `2001` ("pointers") selected with P1=02 under VITALE | [CARDPEEK]; not used by this reader (SFI sequence) |
| T=0: `61xx` -> GET RESPONSE, `6Cxx` -> resend with Le | [CARDPEEK], ISO 7816-4 (drivers/apdu.py) |
| quality codes 00..09 (00 = insured), field names | [SESAM-API] |
| test cards: caisse `349` / centre `0349` (CNDA), regime `01` + caisse `999` | [SESAM-API] heuristics |
| birth rank `83`, quality `84`, birth name `85` in the person template | ASSUMPTION |
| template `66`: `81` serial, `82` card type, `83` regime, `84` caisse, `85` centre, `86` management code, `87` the insured's NIR, `89` nature (`R`/`T`/`D`) | ASSUMPTION |
| `65/93` is the person's OWN certified NIR (equal to the insured's on a non-insured person: the insured's) | ASSUMPTION |
| text is ASCII, else UTF-8, else ISO 8859-1 | ASSUMPTION |
| the Vitale 1 layout | not public: Vitale 1 is recognised by its ATR and not read |

Because the assumed tags are assumptions, a field read from one that does not parse is left empty and flagged
(`doubtful`), never a reason to refuse the card; unequal template counts read the persons both files describe.
A person whose quality cannot be read never gets the `93` NIR as their own: it is shown as the insured's only.
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
