"""Where the CPx (CPS3 / CPS4) data lives, and THE PROJECT'S ASSUMPTIONS, in one place.

Public (cards.md: ANS's open Cryptolib sources, OpenSC, public certificates):
- EF.SN.ICC at `3F00/D003`, read without PIN: `5A 0A` + 10-byte BCD PAN whose first 5 bytes are `80 25 00 00 01`.
- PKCS#15 on IAS-ECC: application DF `3F00/0001`, ODF `5031`; walk ODF -> CDF -> certificate EFs. Select by
  full path with `00 A4 09 0C`; read with `00 B0`, at most 0xE7 bytes per command.
- The holder is in the authentication certificate's subject: `CN=<IdNat> + SN + GN`, `title`, and `O`/`OU`
  for establishment staff (CPE). IdNat prefixes: `0` ADELI, `8` RPPS (professionals), `1`, `3`, `4`, `5`, `6`
  (internal numbers of structures: staff).
- PIN try counter: GET DATA `00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80` after selecting the MF;
  `9A` = max tries, `9B` = tries left. VERIFY with status `63Cx` / `6983`.

ASSUMED by this project (to be validated on real cards):
- the CDF's file ids are not public: they are found by walking the ODF (tag `A4` certificates, else `A5`/`A6`),
  and the authentication certificate is the CDF entry whose label contains "authentif" (Cryptolib's PKCS#11
  label "Authentification"); relative paths are under `3F00/0001`;
- the PIN reference for VERIFY is `01` (inferred in cards.md);
- the card type (CPS / CPE / CPF) is not in a known certificate field: inferred from the IdNat prefix and the
  presence of O/OU (see `infer_card_type`); "CPF" when the title says the holder is in training.
"""

from __future__ import annotations

import unicodedata

SN_ICC_PATH = bytes.fromhex("3F00D003")
APP_PATH = bytes.fromhex("3F000001")
ODF_FID = bytes.fromhex("5031")
ANS_ISSUER_PREFIX = "8025000001"
MAX_READ = 0xE7
PIN_REFERENCE = 0x01
GET_PIN_COUNTER = bytes.fromhex("00CB3FFF0A4D087006BF810102A08000")
SELECT_MF = bytes.fromhex("00A4090C023F00")

PROFESSIONAL_PREFIXES = {"0": "ADELI", "8": "RPPS"}
STAFF_PREFIXES = {"1": "FINESS/ADELI interne", "3": "FINESS", "4": "SIREN", "5": "SIRET", "6": "RPPS cabinet"}
_TRAINING_WORDS = ("formation", "etudiant", "interne en")


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def is_authentication_label(label: str) -> bool:
    return "authentif" in _plain(label)


def infer_card_type(idnat: str, title: str, has_organisation: bool) -> str:
    """CPS / CPE / CPF, or "" when the certificate does not allow a decision (ASSUMPTION, see module doc)."""
    if any(w in _plain(title) for w in _TRAINING_WORDS):
        return "CPF"
    prefix = idnat[:1]
    if prefix in PROFESSIONAL_PREFIXES and not has_organisation:
        return "CPS"
    if prefix in STAFF_PREFIXES and has_organisation:
        return "CPE"
    return ""
