"""In-memory state of the sandbox: users, bots, chats, topics, messages, files, callbacks, calls.

Everything here is plain data that can be saved to and restored from JSON.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FIRST_USER_ID = 100001
FIRST_GROUP_ID = -1001000000001
# After a crash the state file may be a moment older than what the bot saw: every id counter then moves on
# by this much, so that no id the bot may have seen is given again (Telegram's ids have gaps too).
CRASH_MARGIN = 1000
ACTIVE_STATUSES = ("creator", "administrator", "member", "restricted")
DEFAULT_UPDATES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)


def now() -> int:
    return int(time.time())


@dataclass
class UserRecord:
    id: int
    first_name: str
    last_name: str = ""
    username: str = ""
    language_code: str = ""
    is_bot: bool = False
    phone_number: str = ""

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class IdList(list):
    """A list of user ids with a set beside it: "has this user started the bot?" is asked on every
    message, with up to hundreds of thousands of users in a broadcast benchmark."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__(items)
        self._ids = set(self)

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def append(self, item: int) -> None:
        if item not in self._ids:
            super().append(item)
            self._ids.add(item)

    def extend(self, items: Any) -> None:
        for item in items:
            self.append(item)

    def remove(self, item: int) -> None:
        super().remove(item)
        self._ids.discard(item)

    def clear(self) -> None:
        super().clear()
        self._ids.clear()


@dataclass
class BotRecord:
    id: int
    token: str
    username: str
    first_name: str
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    menu_buttons: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_url: str = ""
    webhook_secret: str = ""
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int = 0
    last_error_message: str = ""
    next_update_id: int = 1
    updates: list[dict[str, Any]] = field(default_factory=list)
    started_by: list[int] = field(default_factory=lambda: IdList())
    blocked_by: list[int] = field(default_factory=lambda: IdList())

    def __post_init__(self) -> None:
        self.started_by = IdList(self.started_by)
        self.blocked_by = IdList(self.blocked_by)

    def to_user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def wants(self, kind: str) -> bool:
        allowed = self.allowed_updates if self.allowed_updates else DEFAULT_UPDATES
        return kind in allowed


@dataclass
class TopicRecord:
    message_thread_id: int
    name: str
    icon_color: int = 7322096
    icon_custom_emoji_id: str = ""
    is_closed: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


@dataclass
class ChatRecord:
    """A group or supergroup (private chats are the users themselves)."""

    id: int
    type: str
    title: str
    is_forum: bool = False
    username: str = ""
    members: dict[int, str] = field(default_factory=dict)
    topics: dict[int, TopicRecord] = field(default_factory=dict)
    pinned_message_id: int = 0
    deleted: bool = False  # deleted by its owner: every call about it answers "chat not found"

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data

    def status(self, member_id: int) -> str:
        return self.members.get(member_id, "left")

    def is_active(self, member_id: int) -> bool:
        return self.status(member_id) in ACTIVE_STATUSES


@dataclass
class MessageRecord:
    """One message as Telegram shows it (``data`` is the Bot API Message) plus sandbox bookkeeping."""

    message_id: int
    data: dict[str, Any]
    sender: str  # "bot" or "user"
    sender_id: int
    rev: int = 0
    deleted: bool = False
    html: str = ""
    markup: dict[str, Any] = field(default_factory=dict)
    service: bool = False


@dataclass
class Conversation:
    """The messages of one chat as seen from one side: a private chat of a bot and a user, or a group."""

    key: str
    chat_id: int
    bot_id: int = 0
    next_message_id: int = 1
    messages: dict[int, MessageRecord] = field(default_factory=dict)

    def visible(self) -> list[MessageRecord]:
        return [record for record in self.messages.values() if not record.deleted]


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    mime_type: str = "application/octet-stream"
    file_name: str = ""

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class CallbackRecord:
    id: str
    bot_id: int
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bot_id": self.bot_id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            **self.answer,
        }


@dataclass
class State:
    """Everything the sandbox remembers; saved to ``state_file`` when asked."""

    users: dict[int, UserRecord] = field(default_factory=dict)
    bots: dict[int, BotRecord] = field(default_factory=dict)
    chats: dict[int, ChatRecord] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    callbacks: dict[str, CallbackRecord] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    default_bot_id: int = 0
    next_user_id: int = FIRST_USER_ID
    next_group_id: int = FIRST_GROUP_ID
    next_file_number: int = 1
    next_callback_number: int = 1
    next_call_seq: int = 1
    rev: int = 0
    first_message_id: int = 1  # of a chat opened from now on (raised after a crash, see recover())
    clean: bool = True  # False in the saves made while running: only a save at stop is a clean one

    # --- lookups --------------------------------------------------------------------------

    def user_by_username(self, username: str) -> UserRecord | None:
        wanted = username.lstrip("@").lower()
        return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def chat_by_username(self, username: str) -> ChatRecord | None:
        wanted = username.lstrip("@").lower()
        return next((c for c in self.chats.values() if c.username and c.username.lower() == wanted), None)

    def person(self, person_id: int) -> dict[str, Any] | None:
        """The User object of a user or a bot."""
        if person_id in self.users:
            return self.users[person_id].to_api()
        if person_id in self.bots:
            return self.bots[person_id].to_user()
        return None

    def default_bot(self) -> BotRecord | None:
        return self.bots.get(self.default_bot_id)

    # --- persistence ----------------------------------------------------------------------

    def to_json(self, *, calls: bool = True) -> dict[str, Any]:
        return {
            "users": [asdict(user) for user in self.users.values()],
            "bots": [asdict(bot) for bot in self.bots.values()],
            "chats": [_chat_to_json(chat) for chat in self.chats.values()],
            "conversations": [_conversation_to_json(conv) for conv in self.conversations.values()],
            "files": [_file_to_json(item) for item in self.files.values()],
            "callbacks": [asdict(item) for item in self.callbacks.values()],
            "calls": self.calls if calls else [],
            "counters": {
                "default_bot_id": self.default_bot_id,
                "next_user_id": self.next_user_id,
                "next_group_id": self.next_group_id,
                "next_file_number": self.next_file_number,
                "next_callback_number": self.next_callback_number,
                "next_call_seq": self.next_call_seq,
                "rev": self.rev,
                "first_message_id": self.first_message_id,
                "clean": self.clean,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        state = cls(**data.get("counters", {}))
        state.users = {u["id"]: UserRecord(**u) for u in data.get("users", [])}
        state.bots = {b["id"]: BotRecord(**b) for b in data.get("bots", [])}
        state.chats = {c["id"]: _chat_from_json(c) for c in data.get("chats", [])}
        state.conversations = {c["key"]: _conversation_from_json(c) for c in data.get("conversations", [])}
        state.files = {f["file_id"]: _file_from_json(f) for f in data.get("files", [])}
        state.callbacks = {c["id"]: CallbackRecord(**c) for c in data.get("callbacks", [])}
        state.calls = list(data.get("calls", []))
        return state

    def save(self, path: Path, *, clean: bool = True) -> None:
        """Write the state (atomically: a crash leaves the previous file or this one). ``clean``: the sandbox
        stops after this save, so nothing happened after it."""
        self.clean = clean
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        # the call log (up to 20,000 calls) only at stop: saved every moment it would slow the bot down
        data = self.to_json(calls=clean)
        with open(temporary, "w", encoding="utf-8", opener=_private) as sink:
            json.dump(data, sink, ensure_ascii=False)
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> State:
        state = cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        if not state.clean:
            state.recover()
        return state

    def recover(self) -> None:
        """The file was saved while running and the process died: ids handed out after that save are not in
        it. Move every counter past them so none is given to another person, group, message or update."""
        self.next_user_id += CRASH_MARGIN
        self.next_group_id -= CRASH_MARGIN
        self.next_file_number += CRASH_MARGIN
        self.next_callback_number += CRASH_MARGIN
        highest = max((conv.next_message_id for conv in self.conversations.values()), default=1)
        self.first_message_id = max(self.first_message_id, highest) + CRASH_MARGIN
        for conv in self.conversations.values():
            conv.next_message_id += CRASH_MARGIN
        for bot in self.bots.values():
            bot.next_update_id += CRASH_MARGIN
        self.clean = True


def _private(path: str, flags: int) -> int:
    """Open for writing, readable by the owner only (the state holds what the sandbox's people wrote)."""
    return os.open(path, flags, 0o600)


def _chat_to_json(chat: ChatRecord) -> dict[str, Any]:
    data = asdict(chat)
    data["members"] = [[member, status] for member, status in chat.members.items()]
    data["topics"] = [asdict(topic) for topic in chat.topics.values()]
    return data


def _chat_from_json(data: dict[str, Any]) -> ChatRecord:
    chat = ChatRecord(**{**data, "members": {}, "topics": {}})
    chat.members = {int(member): status for member, status in data.get("members", [])}
    chat.topics = {t["message_thread_id"]: TopicRecord(**t) for t in data.get("topics", [])}
    return chat


def _conversation_to_json(conv: Conversation) -> dict[str, Any]:
    data = asdict(conv)
    data["messages"] = [asdict(record) for record in conv.messages.values()]
    return data


def _conversation_from_json(data: dict[str, Any]) -> Conversation:
    conv = Conversation(**{**data, "messages": {}})
    conv.messages = {m["message_id"]: MessageRecord(**m) for m in data.get("messages", [])}
    return conv


def _file_to_json(item: FileRecord) -> dict[str, Any]:
    data = asdict(item)
    data["content"] = base64.b64encode(item.content).decode("ascii")
    return data


def _file_from_json(data: dict[str, Any]) -> FileRecord:
    return FileRecord(**{**data, "content": base64.b64decode(data["content"])})
