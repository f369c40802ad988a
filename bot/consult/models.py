"""The consultation line's records as the rest of the bot sees them (a consultation, a booked time, a line of
a topic, one message of a transcript) and the line a topic goes to. No Telegram types here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from bot.catalogue.loader import Catalogue
from bot.catalogue.models import Hours
from bot.errors import RequestError
from bot.requests.routing import route

OPEN = ("queued", "active")
Clock = Callable[[], datetime]
# How long after its end a consultation still takes a message written before the end (`written_before_end`).
# Telegram keeps an update for a day at most, so nothing written before the end turns up later; and it numbers
# updates afresh only after a week without any, so within this window a lower number does mean earlier.
LATE_MESSAGES = timedelta(days=1)
# Booked times one resident may hold at once (a booking is a specialist's half hour kept for them).
MAX_FUTURE_BOOKINGS = 2


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Consultation:
    id: int
    community: str
    resident_id: Optional[int]
    topic: str
    institution_id: str
    status: str
    specialist_id: Optional[int]
    specialist_label: Optional[str]
    group_chat_id: Optional[int]
    thread_id: Optional[int]
    card_message_id: Optional[int]
    asked_at: str
    taken_at: Optional[str]
    ended_at: Optional[str]
    ended_by: Optional[str]
    rating: Optional[int]
    rating_comment: Optional[str]
    request_id: Optional[int]
    booking_id: Optional[int]
    purged_at: Optional[str]
    ended_update: Optional[int] = None  # the update that ended it (migration 0009)
    purged_why: Optional[str] = None  # 'resident' or 'retention' (migration 0013)

    @property
    def open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True)
class Line:
    topic: str
    institution_id: str
    hours: Hours


@dataclass(frozen=True)
class Booking:
    id: int
    community: str
    resident_id: Optional[int]
    topic: str
    institution_id: str
    starts_at: str
    status: str


@dataclass(frozen=True)
class Said:
    id: int
    at: str
    sender: str
    kind: str
    text: Optional[str]
    file_id: Optional[str]
    public: bool


def line_of(catalogue: Catalogue, community: str, topic: str) -> Line:
    """Who answers a topic in a community, and when: the community's `consultation` section, else the
    institution that handles the topic's life situation and the shared default hours."""
    view = catalogue.communities[community]
    topics = {t.id: t for t in catalogue.consultation_topics}
    if topic not in topics:
        raise RequestError("bad_topic")
    configured = next((line for line in view.model.consultation if line.topic == topic), None)
    institution = configured.institution if configured and configured.institution else None
    if institution is None:
        institution = route(view, situation_id=topics[topic].situation)
    hours = configured.hours if configured and configured.hours else catalogue.shared.schedule.default
    return Line(topic, institution, hours)

