"""What an outbox row is about (its kind) and whom it goes to (its target), as typed values.

Both are stored as plain text in the `outbox` table (`kind`, `target`); the values here are those strings, so
rows written before these types existed read the same. A `Kind` is a `str`: it compares equal to its stored
text and goes into SQL and JSON as it is. A `Target` is formatted with `str()` and read back with
`Target.parse()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Optional


class Kind(StrEnum):
    # a request, to the institution's group
    CARD = "card"
    CARD_UPDATE = "card_update"
    CARD_MOVED = "card_moved"  # the card left behind in the group a request was passed on from
    RELAY_TO_GROUP = "relay_to_group"
    RELAY_WITHDRAWN = "relay_withdrawn"
    GROUP_NOTICE = "group_notice"
    # a request, to the resident
    STATUS = "status"
    REPLY = "reply"
    REDIRECTED = "redirected"
    FINISHED = "finished"
    # whether the help came (bot/requests/confirmation.py): the question to the resident, the «partly»/«no» and the
    # resident's words to the group; the payload's "what" says which
    CONFIRMATION = "confirmation"
    # to the administrators
    ADMIN_NOTICE = "admin_notice"
    GROUP_LOST = "group_lost"
    LOST_NOTICE = "lost_notice"
    GROUP_BOUND = "group_bound"
    ADMINS_CHANGED = "admins_changed"
    # staff groups as such
    REGROUP = "regroup"  # the cards a newly bound group gets
    CARD_ERASED = "card_erased"  # a card whose request's or consultation's data were deleted
    # a consultation, to the institution's group
    CONSULT_CARD = "consult_card"
    CONSULT_CARD_UPDATE = "consult_card_update"
    CONSULT_CARD_MOVED = "consult_card_moved"
    CONSULT_TO_GROUP = "consult_to_group"
    CONSULT_GROUP_NOTICE = "consult_group_notice"
    # a consultation, to the resident
    CONSULT_TO_RESIDENT = "consult_to_resident"
    CONSULT_TAKEN = "consult_taken"
    CONSULT_BOOKED_OPEN = "consult_booked_open"
    CONSULT_ENDED = "consult_ended"
    CONSULT_TIMED_OUT = "consult_timed_out"
    CONSULT_TRANSFERRED = "consult_transferred"
    CONSULT_CONVERTED = "consult_converted"
    # bookings of a consultation
    BOOKING_TO_GROUP = "booking_to_group"
    BOOKING_CANCELLED_TO_GROUP = "booking_cancelled_to_group"
    BOOKING_REMINDER_DAY = "booking_reminder_day"
    BOOKING_REMINDER_HOUR = "booking_reminder_hour"


BOOKING_REMINDERS = frozenset({Kind.BOOKING_REMINDER_DAY, Kind.BOOKING_REMINDER_HOUR})  # to the resident
ANSWERS = frozenset({Kind.REPLY, Kind.CONSULT_TO_RESIDENT})  # staff answers: a resident waits for them
CONSULT_NOTICES = frozenset({Kind.CONSULT_TAKEN, Kind.CONSULT_BOOKED_OPEN, Kind.CONSULT_ENDED, Kind.CONSULT_TIMED_OUT,
                             Kind.CONSULT_TRANSFERRED, Kind.CONSULT_CONVERTED})  # to the resident
RESIDENT_NOTICES = frozenset({Kind.STATUS, Kind.REDIRECTED, Kind.FINISHED})  # about a request, to the resident

RESIDENT, INSTITUTION, ADMINS = "resident", "institution", "admins"


@dataclass(frozen=True)
class Target:
    """Whom a row goes to: a resident's private chat (`resident:ID`), an institution's staff group, whichever
    group is bound to it when the row goes out (`institution:COMMUNITY/INSTITUTION`), or the administrators
    (`admins`)."""

    to: str  # RESIDENT, INSTITUTION or ADMINS
    resident_id: Optional[int] = None
    community: str = ""
    institution_id: str = ""

    @classmethod
    def resident(cls, resident_id: int) -> Target:
        return cls(RESIDENT, resident_id=int(resident_id))

    @classmethod
    def institution(cls, community: str, institution_id: str) -> Target:
        return cls(INSTITUTION, community=community, institution_id=institution_id)

    @classmethod
    def admins(cls) -> Target:
        return cls(ADMINS)

    @classmethod
    def parse(cls, text: str) -> Target:
        """The target stored as `text`; ValueError when it is none of the three forms."""
        head, colon, rest = text.partition(":")
        if head == ADMINS and not colon:
            return cls.admins()
        if head == RESIDENT and colon:
            return cls.resident(int(rest))
        if head == INSTITUTION and colon:
            community, slash, institution_id = rest.partition("/")
            if slash and community and institution_id:
                return cls.institution(community, institution_id)
        raise ValueError(f"not an outbox target: {text!r}")

    @property
    def is_resident(self) -> bool:
        return self.to == RESIDENT

    @property
    def is_institution(self) -> bool:
        return self.to == INSTITUTION

    def __str__(self) -> str:
        if self.to == RESIDENT:
            return f"{RESIDENT}:{self.resident_id}"
        if self.to == INSTITUTION:
            return f"{INSTITUTION}:{self.community}/{self.institution_id}"
        return ADMINS


def is_group_target(text: str) -> bool:
    """Whether the stored target `text` is an institution's staff group (cheap: the outbox asks it per row)."""
    return text.startswith(INSTITUTION + ":")


def is_resident_target(text: str) -> bool:
    return text.startswith(RESIDENT + ":")
