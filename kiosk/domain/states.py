"""The domain's enumerated values, each defined once: INS identity status, INSi result code, DMP state.

The INSi and DMP clients produce them, the desk keeps them, the UI and the journal render them. Every
mapping from one of these to something else (French texts, exit codes, colours) is a dict keyed by member,
and a test checks that each such dict covers every member: a new member cannot fall through to a default.
"""

from __future__ import annotations

import enum

__all__ = ["DmpState", "InsStatus", "InsiCode"]


class InsiCode(str, enum.Enum):
    """INSi's `CR/CodeCR` (teleservices.md)."""

    FOUND = "00"  # exactly one identity
    NOT_FOUND = "01"
    SEVERAL = "02"  # several identities match: never pick one, ask for more traits


class InsStatus(str, enum.Enum):
    """The RNIV identity status (teleservices.md, "INS identity status")."""

    PROVISOIRE = "provisoire"
    RECUPEREE = "récupérée"  # INS from INSi, no ID document checked yet
    VALIDEE = "validée"  # ID document checked, no INS
    QUALIFIEE = "qualifiée"  # INSi result + high-trust ID document checked by staff


class DmpState(str, enum.Enum):
    """What the desk must be able to say about a DMP (teleservices.md, from the Web PS tutorial).

    The TD0.2 client returns every member but `NO_INS`, which the desk sets when it did not ask.
    """

    AUTHORISED = "authorised"
    NOT_AUTHORISED = "not_authorised"  # first access, or last one more than 6 months ago
    BLOCKED = "blocked"  # the patient blocked this professional
    EMERGENCY_REFUSED = "emergency_refused"
    CLOSED = "closed"
    NOT_CREATED = "not_created"
    NO_INS = "no_ins"  # no INS usable for the DMP: the DMP was not asked
    UNKNOWN = "unknown"  # the DMP answered with a state the kiosk does not know: shown, never guessed

    @property
    def exists(self) -> bool:
        """An open DMP, whatever the access."""
        return self in _OPEN


_OPEN = frozenset({DmpState.AUTHORISED, DmpState.NOT_AUTHORISED, DmpState.BLOCKED, DmpState.EMERGENCY_REFUSED})
