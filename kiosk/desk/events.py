"""The desk's vocabulary: what happened (`EventKind`), why (`Reason`), and what the journal records (`JournalAction`).

Codes travel (session, controller, JSON lines, audit journal, local API); French words are looked up at the
edge, in one catalogue (`kiosk.desk.texts`), which a site may override. Nothing compares display text: code
branches on these members only. Values are the wire names used in JSON and are stable.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DeskEvent", "EventKind", "JournalAction", "Problem", "Reason"]


class EventKind(str, enum.Enum):
    """Every event a controller listener may receive."""

    STAFF_CARD_INSERTED = "staff_card_inserted"
    STAFF_CARD_READ = "staff_card_read"
    STAFF_CARD_REFUSED = "staff_card_refused"
    STAFF_CARD_REMOVED = "staff_card_removed"
    PIN_CHECKING = "pin_checking"
    PIN_WRONG = "pin_wrong"
    PIN_BLOCKED = "pin_blocked"
    PIN_ERROR = "pin_error"
    DESK_OPENED = "desk_opened"
    DESK_LOCKED = "desk_locked"
    VITALE_INSERTED = "vitale_inserted"
    VITALE_READ = "vitale_read"
    VITALE_UNREADABLE = "vitale_unreadable"
    PATIENT_CLEARED = "patient_cleared"
    MANUAL_PATIENT = "manual_patient"
    LOOKUPS_STARTED = "lookups_started"
    INSI_RESULT = "insi_result"
    INSI_FAILED = "insi_failed"
    DMP_RESULT = "dmp_result"
    DMP_FAILED = "dmp_failed"
    QUALIFIED = "qualified"
    PAGE_OPENED = "page_opened"
    PAGE_CLOSED = "page_closed"
    LINK_PRINTED = "link_printed"
    TICKET_PRINTED = "ticket_printed"
    ACTION_FAILED = "action_failed"
    READERS_DOWN = "readers_down"
    READERS_UP = "readers_up"
    READERS_RESTARTED = "readers_restarted"
    CONFIG_RELOADED = "config_reloaded"
    CONFIG_REFUSED = "config_refused"
    PIN_DESK_ONLY = "pin_desk_only"
    AUDIT_UNAVAILABLE = "audit_unavailable"
    AUDIT_RESUMED = "audit_resumed"
    ERROR = "error"
    # the hospital system (issue 17): PDQ candidates per beneficiary, the identity sent, what waits for an ACK
    HIS_SEARCHING = "his_searching"
    HIS_CANDIDATES = "his_candidates"
    HIS_FAILED = "his_failed"
    HIS_CHOSEN = "his_chosen"
    HIS_SENT = "his_sent"
    HIS_ACKNOWLEDGED = "his_acknowledged"
    HIS_PENDING = "his_pending"


class Reason(str, enum.Enum):
    """Why something failed, was refused or changed. Rendered by `Texts.reason`; `Problem.detail` fills `{detail}`."""

    # the staff card and the lock
    PIN_WRONG = "pin_wrong"
    PIN_BLOCKED = "pin_blocked"
    PIN_FORMAT = "pin_format"
    LOCKED_MANUAL = "locked_manual"
    LOCKED_IDLE = "locked_idle"
    LOCKED_CONFIG = "locked_config"  # detail: the configuration keys that changed
    LOCKED_READERS_DOWN = "locked_readers_down"
    # cards and readers
    READER_UNREACHABLE = "reader_unreachable"
    CARD_SWAPPED = "card_swapped"
    CARD_DATA_INVALID = "card_data_invalid"
    NO_BENEFICIARY = "no_beneficiary"
    READERS_DOWN = "readers_down"
    PATIENT_CLEARED = "patient_cleared"
    # teleservices (the service's name goes in `{service}`)
    NETWORK_DOWN = "network_down"
    SERVICE_DOWN = "service_down"
    CERTIFICATE_REFUSED = "certificate_refused"
    SERVICE_ERROR = "service_error"
    CONFIG_INCOMPLETE = "config_incomplete"
    CONFIG_REFUSED = "config_refused"
    # Web PS and printer
    BROWSER_FAILED = "browser_failed"
    NO_DISPLAY = "no_display"
    BROWSER_CLOSED = "browser_closed"
    PRINTER_FAILED = "printer_failed"
    # intents refused by the desk (DeskStateError)
    DESK_NOT_OPEN = "desk_not_open"
    NO_PIN_ASKED = "no_pin_asked"
    NO_STAFF_READING = "no_staff_reading"
    NO_PIN_CHECK = "no_pin_check"
    NOTHING_TO_LOOK_UP = "nothing_to_look_up"
    NOTHING_TO_RETRY = "nothing_to_retry"
    DMP_BEFORE_INSI = "dmp_before_insi"
    UNKNOWN_BENEFICIARY = "unknown_beneficiary"
    NO_ANSWER_EXPECTED = "no_answer_expected"
    WAIT_FOR_INSI = "wait_for_insi"
    INS_KEY_INVALID = "ins_key_invalid"
    NO_VALID_INS = "no_valid_ins"
    NO_PATIENT_SELECTED = "no_patient_selected"
    CHOOSE_PAGE = "choose_page"
    # the traits form
    TRAITS_NAME = "traits_name"
    TRAITS_FIRST_NAME = "traits_first_name"
    TRAITS_SEX = "traits_sex"
    TRAITS_DATE = "traits_date"
    TRAITS_PLACE = "traits_place"
    TRAITS_PLACE_UNKNOWN = "traits_place_unknown"
    TRAITS_PLACE_AMBIGUOUS = "traits_place_ambiguous"
    CARD_CHANGED = "card_changed"
    AUDIT_UNAVAILABLE = "audit_unavailable"
    PIN_DESK_ONLY = "pin_desk_only"
    INTERNAL = "internal"
    # the hospital system (issue 17)
    HIS_WAIT = "his_wait"
    HIS_UNKNOWN_CANDIDATE = "his_unknown_candidate"
    HIS_CHOOSE_FIRST = "his_choose_first"
    HIS_DISABLED = "his_disabled"
    HIS_REFUSED = "his_refused"  # detail: the ACK code and the ERR text


class JournalAction(str, enum.Enum):
    """The audit journal's actions (`kiosk audit show --action` accepts these and no other)."""

    STAFF_CARD_READ = "staff_card_read"
    DESK_OPENED = "desk_opened"
    PIN_REFUSED = "pin_refused"
    DESK_LOCKED = "desk_locked"
    VITALE_READ = "vitale_read"
    LOOKUPS_RESTARTED = "lookups_restarted"
    INSI_CALL = "insi_call"
    DMP_CHECK = "dmp_check"
    ID_DOCUMENT_CHECKED = "id_document_checked"
    PAGE_OPENED = "page_opened"
    PAGE_CLOSED = "page_closed"
    LINK_PRINTED = "link_printed"
    TICKET_PRINTED = "ticket_printed"
    CONFIG_RELOADED = "config_reloaded"
    PIN_SUBMITTED = "pin_submitted"
    AUDIT_RESUMED = "audit_resumed"
    API_READ = "api_read"
    HIS_QUERY = "his_query"  # a PDQ query: control id, ACK code and query status, how many candidates
    HIS_SEND = "his_send"  # an identity message: queued, then its ACK code (or dropped), with its control id


@dataclass(frozen=True)
class Problem:
    """A reason with its technical detail (an exception class, an HTTP status, a key name; never patient data)."""

    reason: Reason
    detail: str = ""
    service: str = ""  # "INSi", "DMP"... for teleservice reasons


@dataclass(frozen=True)
class DeskEvent:
    """What just happened. `data` holds no patient value in clear (initials and masked INS at most); a
    `problem` entry (a `Problem`) says why, for the catalogue to render."""

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def problem(self) -> Problem | None:
        value = self.data.get("problem")
        return value if isinstance(value, Problem) else None
