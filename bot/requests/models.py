"""Plain data of requests, their history and the drafts residents compose."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from bot.storage.residents import is_web
from bot.webchat.files import UPLOAD_BYTES as WEB_UPLOAD_BYTES


class Status(str, Enum):
    new = "new"  # stored; on its way to or waiting in the institution's group
    in_progress = "in_progress"  # a staff member took it
    resolved = "resolved"  # staff say the help was given
    closed = "closed"  # closed without more work
    withdrawn = "withdrawn"  # the resident withdrew it

    @property
    def open(self) -> bool:
        return self in (Status.new, Status.in_progress)


# Why staff resolved or closed a request, chosen from this list (the words of "other" are the history entry's text)
FINISH_REASONS = ("helped", "referred", "unreachable", "not_ours", "duplicate", "other")


class ForWhom(str, Enum):
    self = "self"
    child = "child"
    other = "other"


class Contact(str, Enum):
    telegram = "telegram"  # the resident shared their Telegram contact
    phone = "phone"  # the resident typed a phone number
    chat = "chat"  # only here in the chat


MAX_FILES = 5
MAX_FILE_BYTES = 20 * 1024 * 1024  # what a bot may download through the Bot API


def max_file_bytes(user_id: int) -> int:
    """The largest file a resident may attach: Telegram's figure, or for a web resident what the web chat takes."""
    return WEB_UPLOAD_BYTES if is_web(user_id) else MAX_FILE_BYTES
MAX_DESCRIPTION = 3000


@dataclass
class Attachment:
    kind: str  # photo | document | voice
    file_id: str
    file_name: Optional[str] = None
    size: Optional[int] = None


@dataclass
class Draft:
    community: str
    resident_id: int
    kind: str = "help"  # help | report
    service_id: Optional[str] = None
    situation_id: Optional[str] = None
    for_whom: Optional[str] = None
    about_child: bool = False
    anonymous: bool = False
    description: str = ""
    contact_method: str = Contact.chat.value
    contact_phone: Optional[str] = None
    contact_name: Optional[str] = None
    files: list[Attachment] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["files"] = [a.__dict__ for a in self.files]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Draft":
        values = dict(data)
        values["files"] = [Attachment(**a) for a in values.get("files", [])]
        return cls(**values)


@dataclass(frozen=True)
class Request:
    id: int
    public_id: str
    community: str
    resident_id: Optional[int]
    kind: str
    anonymous: bool
    service_id: Optional[str]
    situation_id: Optional[str]
    for_whom: Optional[str]
    institution_id: str
    description: Optional[str]
    contact_method: Optional[str]
    contact_phone: Optional[str]
    contact_name: Optional[str]
    urgent: bool
    danger: Optional[str]
    status: Status
    assignee_id: Optional[int]
    assignee_label: Optional[str]
    created_at: str
    updated_at: str
    due_at: str
    first_response_at: Optional[str]
    closed_at: Optional[str]
    rating: Optional[int]
    rating_comment: Optional[str]
    group_chat_id: Optional[int]
    thread_id: Optional[int]
    card_message_id: Optional[int]
    purged_at: Optional[str]
    purged_why: Optional[str] = None  # 'resident' or 'retention' (migration 0013)
    finish_reason: Optional[str] = None  # one of FINISH_REASONS once resolved or closed (migration 0014)
    topic_title: Optional[str] = None  # the title its forum topic was last given

    @property
    def version(self) -> str:
        """A short token of the request's state: a button made for one state is refused once it changed."""
        state = f"{self.status.value}|{self.assignee_id}|{self.institution_id}|{self.updated_at}"
        return hashlib.sha256(state.encode()).hexdigest()[:8]

    @property
    def delivered(self) -> bool:
        return self.card_message_id is not None


@dataclass(frozen=True)
class Event:
    id: int
    request_id: int
    at: str
    actor: str
    actor_id: Optional[int]
    actor_label: Optional[str]
    kind: str
    text: Optional[str]
    public: bool
    institution_id: Optional[str]
    files: tuple[Attachment, ...] = ()
    reason: Optional[str] = None  # why it was resolved or closed (FINISH_REASONS)


@dataclass(frozen=True)
class GuessedFollowUp:
    """A resident's message the bot added to a request on its own (see `RequestService.guessed_message`): the
    history entry it became, and the token the resident's «it was a search» button carries."""

    event_id: int
    request_id: int
    token: str
