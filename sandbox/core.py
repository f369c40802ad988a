"""The sandbox at run time: state changes shared by the Bot API and the control API.

Users, bots, groups, messages, updates (long polling and webhooks), files, callback queries,
the call log and waiting for changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from .errors import ApiError, bad_request, forbidden, unauthorized
from .faults import Faults
from .files import extension, guess_mime, image_size, photo_sizes
from .flood import FloodControl, FloodLimits
from .formatting import entities_to_html
from .schema import Schema
from .state import (
    BotRecord,
    CallbackRecord,
    ChatRecord,
    Conversation,
    FileRecord,
    MessageRecord,
    State,
    TopicRecord,
    UserRecord,
    now,
)

log = logging.getLogger("sandbox")
TOKEN_RE = re.compile(r"^(\d{1,20}):([A-Za-z0-9_-]{20,64})$")
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
CONFLICT_POLLING = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
# "restricted": a member with restrictions; "restricted_left": restricted, but no longer in the group (Telegram
# answers status "restricted" with is_member false for such a person)
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "restricted_left", "left", "kicked")
RESTRICTED_RIGHTS = {name: False for name in (
    "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
    "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
    "can_add_web_page_previews", "can_react_to_messages", "can_edit_tag", "can_change_info", "can_invite_users",
    "can_pin_messages", "can_manage_topics")}
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": True,
    "can_send_welcome_messages": False,
}
SAVE_EVERY = 0.25  # seconds between saves of a changed state file while running
SERVICE_KEYS = ("new_chat_members", "left_chat_member", "pinned_message", "new_chat_title")
MethodRunner = Callable[[BotRecord, str, dict[str, Any]], Awaitable[Any]]


@dataclass
class SandboxConfig:
    """Settings of one sandbox; every limit can be changed for a test."""

    flood_control: bool = False
    per_chat_per_sec: int = 1
    per_group_per_min: int = 20
    global_per_sec: int = 30
    state_file: Path | None = None
    bot_token: str | None = None
    bot_username: str = "hromada_help_bot"
    bot_first_name: str = "Громада: допомога"
    callback_timeout: float = 15.0
    max_poll_timeout: float = 50.0
    webhook_timeout: float = 30.0
    max_calls: int = 20000
    # the control API's token (a random one is made at start when empty) and the names besides
    # 127.0.0.1/localhost/[::1] that requests may give in Host (see guard.py)
    control_token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def _is_service(content: dict[str, Any]) -> bool:
    return any(key.startswith("forum_topic") or key in SERVICE_KEYS for key in content)


class Signal:
    """Wakes every waiter at once; waiting never misses a ``fire`` that happens after it starts."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def fire(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float | None) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        finally:
            self._waiters.discard(waiter)
            if not waiter.done():
                waiter.cancel()


class SandboxCore:
    """State plus everything that waits on it; one per sandbox, no globals."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.schema = Schema.load()
        self.state = State()
        self.flood = FloodControl(
            FloodLimits(config.flood_control, config.per_chat_per_sec, config.per_group_per_min, config.global_per_sec)
        )
        self.faults = Faults()
        self.changes = Signal()
        # Changes of one chat's messages: waiting for a bot's answer in a chat wakes only on those,
        # so many residents waiting at once do not all re-check on every change anywhere.
        self._chat_signals: dict[int, Signal] = {}
        self.closing = False
        self.http: aiohttp.ClientSession | None = None
        self.method_runner: MethodRunner | None = None
        self._bot_signals: dict[int, Signal] = {}
        self._poll_generation: dict[int, int] = {}
        self._polling_bots: set[int] = set()
        self._webhook_tasks: dict[int, asyncio.Task[None]] = {}
        self.chat_actions: dict[str, tuple[str, int]] = {}
        self.pinned: dict[str, int] = {}
        self._saver: asyncio.Task[None] | None = None
        self._saved: tuple[int, int, int] = (-1, -1, -1)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        path = self.config.state_file
        if path and Path(path).exists():
            self.state = State.load(Path(path))
            log.info("sandbox state restored from %s", path)
        if self.config.bot_token:
            self.register_bot(self.config.bot_token)
        self.http = aiohttp.ClientSession()
        for bot in self.state.bots.values():
            if bot.webhook_url:
                self._ensure_webhook_task(bot.id)
        if path:
            self.save_state(clean=False)
            self._saver = asyncio.create_task(self._save_changes(Path(path)), name="sandbox state")

    def _changes_seen(self) -> tuple[int, int, int]:
        """What moves with every change: chats and messages (rev), Bot API calls (the bot's sends, edits and
        getUpdates offsets), updates queued."""
        return self.state.rev, self.state.next_call_seq, sum(bot.next_update_id for bot in self.state.bots.values())

    def save_state(self, *, clean: bool) -> None:
        if self.config.state_file:
            self.state.save(Path(self.config.state_file), clean=clean)
            self._saved = self._changes_seen()

    async def _save_changes(self, path: Path) -> None:
        """Keep the state file at most SAVE_EVERY seconds behind while running (the bot's database commits
        at once; a sandbox that forgot the last minutes would show chats the database does not match)."""
        while not self.closing:
            await asyncio.sleep(SAVE_EVERY)
            if self._changes_seen() != self._saved:
                try:
                    self.save_state(clean=False)
                except OSError as exc:
                    log.warning("could not save the sandbox state to %s: %s", path, exc)

    async def stop(self) -> None:
        self.closing = True
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        self.changes.fire()
        for chat_signal in self._chat_signals.values():
            chat_signal.fire()
        for signal in self._bot_signals.values():
            signal.fire()
        for task in self._webhook_tasks.values():
            task.cancel()
        for task in self._webhook_tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._webhook_tasks.clear()
        if self.http:
            await self.http.close()
        self.save_state(clean=True)

    def reset(self) -> None:
        """Forget users, chats, messages, files and calls; bots keep their identity and update ids.

        ``rev`` and call numbers keep growing so that pollers never miss what comes next.
        """
        old = self.state
        bots = old.bots
        # ids go on from where they were: a bot's database may still know the people and groups of before
        self.state = State(bots=bots, default_bot_id=old.default_bot_id, rev=old.rev, next_call_seq=old.next_call_seq,
                           next_user_id=old.next_user_id, next_group_id=old.next_group_id,
                           next_file_number=old.next_file_number, next_callback_number=old.next_callback_number,
                           first_message_id=max([old.first_message_id, *(
                               conv.next_message_id for conv in old.conversations.values())]))
        for bot in bots.values():
            bot.updates.clear()
            bot.started_by.clear()
            bot.blocked_by.clear()
            bot.commands.clear()
            bot.menu_buttons.clear()
        self.flood.reset()
        self.chat_actions.clear()
        self.pinned.clear()
        self.touch()
        for chat_signal in self._chat_signals.values():
            chat_signal.fire()

    def touch(self) -> None:
        """Mark a change of messages or chats and wake those who wait for one."""
        self.state.rev += 1
        self.changes.fire()

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float, *, chat_id: int | None = None
    ) -> bool:
        """Wait (without polling) until ``predicate()`` holds or the timeout passes.

        With ``chat_id`` the predicate is re-checked only when a message of that chat changes.
        """
        signal = self.changes if chat_id is None else self._chat_signals.setdefault(chat_id, Signal())
        deadline = time.monotonic() + max(0.0, timeout)
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closing:
                return False
            await signal.wait(remaining)
        return True

    def _message_changed(self, record: MessageRecord) -> None:
        chat_signal = self._chat_signals.get(record.data.get("chat", {}).get("id", 0))
        if chat_signal is not None:
            chat_signal.fire()

    # --- bots -----------------------------------------------------------------------------

    def authenticate(self, token: str) -> BotRecord:
        match = TOKEN_RE.match(token)
        if not match:
            raise unauthorized()
        bot = self.state.bots.get(int(match.group(1)))
        if bot is None:
            return self.register_bot(token)
        if bot.token != token:
            raise unauthorized()
        return bot

    def bot_id_for(self, token: str) -> int:
        """The bot a token names (0 when it names none), without registering it."""
        match = TOKEN_RE.match(token)
        return int(match.group(1)) if match else 0

    def mark_last_call_fault(self, kind: str) -> None:
        """The call just logged was carried out, but its answer will be lost on the way (a fault)."""
        if self.state.calls:
            self.state.calls[-1]["fault"] = kind

    def register_bot(self, token: str, username: str | None = None, first_name: str | None = None) -> BotRecord:
        """Add a bot (or rename a known one); the first bot is the default one."""
        match = TOKEN_RE.match(token)
        if not match:
            raise bad_request("invalid bot token")
        bot_id = int(match.group(1))
        bot = self.state.bots.get(bot_id)
        is_default = not self.state.default_bot_id or self.state.default_bot_id == bot_id
        if bot is None:
            bot = BotRecord(
                id=bot_id,
                token=token,
                username=self.config.bot_username if is_default else f"sandbox{bot_id}_bot",
                first_name=self.config.bot_first_name if is_default else f"Sandbox bot {bot_id}",
            )
            self.state.bots[bot_id] = bot
            if not self.state.default_bot_id:
                self.state.default_bot_id = bot_id
        bot.token = token
        bot.username = username or bot.username
        bot.first_name = first_name or bot.first_name
        return bot

    def bot(self, bot_id: int | None) -> BotRecord:
        """A known bot, or the default one when ``bot_id`` is empty."""
        bot = self.state.bots.get(bot_id) if bot_id else self.state.default_bot()
        if bot is None:
            raise bad_request("no such bot: start the bot first or register it with POST /sandbox/bots")
        return bot

    def is_listening(self, bot_id: int) -> bool:
        """The bot polls for updates or has a webhook."""
        bot = self.state.bots.get(bot_id)
        return bool(bot and (bot.webhook_url or bot_id in self._polling_bots))

    # --- users and groups -----------------------------------------------------------------

    def create_user(
        self,
        first_name: str,
        last_name: str = "",
        username: str = "",
        language_code: str = "",
        user_id: int | None = None,
        phone_number: str = "",
    ) -> UserRecord:
        if not first_name.strip():
            raise bad_request("first_name is empty")
        if username and self.state.user_by_username(username):
            raise bad_request(f"username @{username} is taken")
        state = self.state
        if user_id is None:
            while state.next_user_id in state.users or state.next_user_id in state.bots:
                state.next_user_id += 1
            user_id = state.next_user_id
            state.next_user_id += 1
        elif user_id in state.users or user_id <= 0:
            raise bad_request(f"user id {user_id} is taken or invalid")
        phone = phone_number or f"+38050{user_id % 10_000_000:07d}"
        user = UserRecord(
            user_id, first_name.strip(), last_name.strip(), username.lstrip("@"), language_code, phone_number=phone
        )
        state.users[user_id] = user
        self.touch()
        return user

    def user(self, user_id: Any) -> UserRecord:
        try:
            return self.state.users[int(user_id)]
        except (KeyError, TypeError, ValueError):
            raise bad_request("user not found") from None

    def create_group(
        self,
        title: str,
        *,
        forum: bool = False,
        members: list[int] | None = None,
        admins: list[int] | None = None,
        bots: list[int] | None = None,
        username: str = "",
        kind: str = "supergroup",
    ) -> ChatRecord:
        if not title.strip():
            raise bad_request("title is empty")
        state = self.state
        chat = ChatRecord(state.next_group_id, "supergroup" if forum else kind, title.strip(), forum, username)
        state.next_group_id -= 1
        people = list(dict.fromkeys([*(admins or []), *(members or [])]))
        for index, person in enumerate(people):
            self.user(person)
            chat.members[person] = (
                "creator" if index == 0 else "administrator" if person in (admins or []) else "member"
            )
        state.chats[chat.id] = chat
        # Message 1 of a group is its creation (not stored); in forums thread 1 is the General topic.
        conv = self.group_conversation(chat.id)
        conv.next_message_id = max(2, conv.next_message_id)
        bot_ids = bots if bots is not None else ([state.default_bot_id] if state.default_bot_id else [])
        for bot_id in bot_ids:
            self.set_bot_status(chat, self.bot(bot_id), "administrator")
        self.touch()
        return chat

    def chat(self, chat_id: Any) -> ChatRecord:
        try:
            return self.state.chats[int(chat_id)]
        except (KeyError, TypeError, ValueError):
            raise bad_request("chat not found") from None

    def set_bot_status(self, chat: ChatRecord, bot: BotRecord, status: str, actor_id: int | None = None) -> None:
        """Change the bot's membership and tell the bot with a ``my_chat_member`` update."""
        if status not in MEMBER_STATUSES:
            raise bad_request(f"status must be one of {', '.join(MEMBER_STATUSES)}")
        old = self.member_api(chat, bot.id)
        chat.members[bot.id] = status
        actor = actor_id or next((m for m, s in chat.members.items() if s == "creator"), bot.id)
        payload = {
            "chat": chat.to_api(),
            "from": self.state.person(actor),
            "date": now(),
            "old_chat_member": old,
            "new_chat_member": self.member_api(chat, bot.id),
        }
        self.enqueue(bot, "my_chat_member", payload)
        self.touch()

    def set_member(self, chat: ChatRecord, user_id: int, status: str) -> None:
        """Change a user's membership; member bots get a ``chat_member`` update if they asked for it."""
        if status not in MEMBER_STATUSES:
            raise bad_request(f"status must be one of {', '.join(MEMBER_STATUSES)}")
        user = self.user(user_id)
        old = self.member_api(chat, user.id)
        chat.members[user.id] = status
        payload = {
            "chat": chat.to_api(),
            "from": user.to_api(),
            "date": now(),
            "old_chat_member": old,
            "new_chat_member": self.member_api(chat, user.id),
        }
        for bot in self.member_bots(chat):
            self.enqueue(bot, "chat_member", payload)
        self.touch()

    def member_bots(self, chat: ChatRecord) -> list[BotRecord]:
        return [bot for bot in self.state.bots.values() if chat.is_active(bot.id)]

    def member_api(self, chat: ChatRecord, person_id: int) -> dict[str, Any]:
        """The ChatMember object of a user or a bot in a group."""
        person = self.state.person(person_id) or {"id": person_id, "is_bot": False, "first_name": ""}
        status = chat.status(person_id)
        if status == "creator":
            return {"status": "creator", "user": person, "is_anonymous": False}
        if status == "administrator":
            return {"status": "administrator", "user": person, **ADMIN_RIGHTS}
        if status == "kicked":
            return {"status": "kicked", "user": person, "until_date": 0}
        if status in ("restricted", "restricted_left"):
            return {"status": "restricted", "user": person, "is_member": status == "restricted",
                    **RESTRICTED_RIGHTS, "can_send_messages": status == "restricted", "until_date": 0}
        return {"status": "member" if status == "member" else "left", "user": person}

    # --- conversations --------------------------------------------------------------------

    def private_conversation(self, bot_id: int, user_id: int) -> Conversation:
        key = f"p:{bot_id}:{user_id}"
        conv = self.state.conversations.get(key)
        if conv is None:
            conv = self.state.conversations[key] = Conversation(key, user_id, bot_id, self.state.first_message_id)
        return conv

    def group_conversation(self, chat_id: int) -> Conversation:
        key = f"g:{chat_id}"
        conv = self.state.conversations.get(key)
        if conv is None:
            conv = self.state.conversations[key] = Conversation(key, chat_id, 0, self.state.first_message_id)
        return conv

    def conversation(self, chat_id: int, bot_id: int | None = None) -> Conversation:
        """A chat as the control API names it: a group id, or a user id (private chat with a bot)."""
        if chat_id < 0:
            self.chat(chat_id)
            return self.group_conversation(chat_id)
        self.user(chat_id)
        return self.private_conversation(self.bot(bot_id).id, chat_id)

    def chat_api(self, conv: Conversation) -> dict[str, Any]:
        if conv.chat_id < 0:
            return self.state.chats[conv.chat_id].to_api()
        user = self.state.users[conv.chat_id]
        data = {
            key: value for key, value in user.to_api().items() if key in ("id", "first_name", "last_name", "username")
        }
        return {**data, "type": "private"}

    def resolve_chat(self, bot: BotRecord, chat_id: int | str, *, sending: bool = True) -> Conversation:
        """The chat a bot names in a request, with Telegram's errors for unknown or closed ones."""
        if isinstance(chat_id, str):
            chat = self.state.chat_by_username(chat_id) if chat_id.startswith("@") else None
            if chat is None:
                raise bad_request("chat not found")
            chat_id = chat.id
        if chat_id > 0:
            return self._private_for_bot(bot, chat_id, sending)
        chat = self.state.chats.get(chat_id)
        if chat is None or chat.deleted:
            raise bad_request("chat not found")
        status = chat.status(bot.id)
        kind = "supergroup" if chat.type == "supergroup" else "group"
        if status == "kicked":
            raise forbidden(f"bot was kicked from the {kind} chat")
        if not chat.is_active(bot.id):
            raise forbidden(f"bot is not a member of the {kind} chat")
        return self.group_conversation(chat_id)

    def _private_for_bot(self, bot: BotRecord, user_id: int, sending: bool) -> Conversation:
        if user_id not in self.state.users:
            raise bad_request("chat not found")
        if sending and user_id in bot.blocked_by:
            raise forbidden("bot was blocked by the user")
        if sending and user_id not in bot.started_by:
            raise forbidden("bot can't initiate conversation with a user")
        return self.private_conversation(bot.id, user_id)

    # --- messages -------------------------------------------------------------------------

    def add_message(
        self,
        conv: Conversation,
        *,
        sender: str,
        sender_id: int,
        content: dict[str, Any],
        thread_id: int | None = None,
        reply_to: MessageRecord | None = None,
        markup: dict[str, Any] | None = None,
    ) -> MessageRecord:
        """Store a new message of a bot or a user and return it."""
        message_id = conv.next_message_id
        conv.next_message_id += 1
        data: dict[str, Any] = {"message_id": message_id}
        if thread_id:
            data["message_thread_id"] = thread_id
        data["from"] = self.state.person(sender_id)
        data["date"] = now()
        data["chat"] = self.chat_api(conv)
        if thread_id:
            data["is_topic_message"] = True
        if reply_to is None and thread_id and thread_id in conv.messages:
            reply_to = conv.messages[thread_id]
        if reply_to is not None:
            data["reply_to_message"] = {k: v for k, v in reply_to.data.items() if k != "reply_to_message"}
        data.update(content)
        record = MessageRecord(message_id, data, sender, sender_id, service=_is_service(content))
        self._set_markup(record, markup)
        conv.messages[message_id] = record
        self._refresh(record)
        return record

    def _set_markup(self, record: MessageRecord, markup: dict[str, Any] | None) -> None:
        record.markup = markup or {}
        if markup and "inline_keyboard" in markup:
            record.data["reply_markup"] = markup
        else:
            record.data.pop("reply_markup", None)

    def _refresh(self, record: MessageRecord) -> None:
        data = record.data
        if "text" in data:
            record.html = entities_to_html(data["text"], data.get("entities", []))
        elif "caption" in data:
            record.html = entities_to_html(data["caption"], data.get("caption_entities", []))
        else:
            record.html = ""
        self.touch()
        record.rev = self.state.rev
        self._message_changed(record)

    def edit_message(
        self,
        record: MessageRecord,
        changes: dict[str, Any],
        markup: dict[str, Any] | None,
        *,
        remove: tuple[str, ...] = (),
    ) -> MessageRecord:
        """Apply an edit (content and markup) and stamp ``edit_date``."""
        for key in remove:
            record.data.pop(key, None)
        record.data.update(changes)
        self._set_markup(record, markup)
        record.data["edit_date"] = now()
        self._refresh(record)
        return record

    def delete_message(self, record: MessageRecord) -> None:
        record.deleted = True
        self.touch()
        record.rev = self.state.rev
        self._message_changed(record)

    def message_view(self, record: MessageRecord) -> dict[str, Any]:
        """A message for the control API: the Bot API object plus sandbox details."""
        if record.deleted:
            return {"message_id": record.message_id, "deleted": True, "rev": record.rev}
        view = dict(record.data)
        if record.markup:
            view["reply_markup"] = record.markup
        view.update({"sender": record.sender, "html": record.html, "rev": record.rev})
        return view

    def deliver_message(self, conv: Conversation, record: MessageRecord, kind: str = "message") -> None:
        """Send a user's new or edited message to the bots of the chat."""
        if conv.chat_id > 0:
            self.enqueue(self.state.bots[conv.bot_id], kind, record.data)
            return
        chat = self.state.chats[conv.chat_id]
        for bot in self.member_bots(chat):
            if bot.id != record.sender_id:
                self.enqueue(bot, kind, record.data)

    # --- topics ---------------------------------------------------------------------------

    def create_topic(
        self,
        chat: ChatRecord,
        name: str,
        creator_id: int,
        icon_color: int | None = None,
        icon_custom_emoji_id: str = "",
    ) -> TopicRecord:
        """Open a forum topic; its id is the id of its service message, as in Telegram."""
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        if not name.strip() or len(name) > 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name.strip() else "TOPIC_TITLE_TOO_LONG")
        color = icon_color if icon_color is not None else TOPIC_COLORS[len(chat.topics) % len(TOPIC_COLORS)]
        if color not in TOPIC_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID" if icon_color is not None else "invalid color")
        conv = self.group_conversation(chat.id)
        service = {"forum_topic_created": {"name": name, "icon_color": color}}
        if icon_custom_emoji_id:
            service["forum_topic_created"]["icon_custom_emoji_id"] = icon_custom_emoji_id
        thread_id = conv.next_message_id
        record = self.add_message(
            conv,
            sender="bot" if creator_id in self.state.bots else "user",
            sender_id=creator_id,
            content=service,
            thread_id=thread_id,
        )
        topic = TopicRecord(record.message_id, name, color, icon_custom_emoji_id)
        chat.topics[topic.message_thread_id] = topic
        self.touch()
        return topic

    def delete_topic(self, chat: ChatRecord, thread_id: int) -> None:
        """A topic and all its messages go away (by a bot's call or by hand in the app)."""
        thread_id = self.topic(chat, thread_id).message_thread_id
        conv = self.group_conversation(chat.id)
        for record in conv.visible():
            if record.data.get("message_thread_id") == thread_id:
                self.delete_message(record)
        del chat.topics[thread_id]
        self.touch()

    def enqueue_raw(self, bot: BotRecord, update: dict[str, Any], keep_id: bool = False) -> int:
        """Queue an update exactly as given (a fuzzer's or a replayed one); its id is the next one unless
        `keep_id`. Returns the id."""
        update = copy.deepcopy(update)
        if not keep_id or not isinstance(update.get("update_id"), int):
            update["update_id"] = bot.next_update_id
            bot.next_update_id += 1
        bot.updates.append(update)
        self._signal(bot.id).fire()
        if bot.webhook_url:
            self._ensure_webhook_task(bot.id)
        return int(update["update_id"])

    def topic(self, chat: ChatRecord, thread_id: int) -> TopicRecord:
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise bad_request("message thread not found")
        return topic

    def thread_for_send(self, conv: Conversation, thread_id: int | None, reply_to: MessageRecord | None) -> int | None:
        """The topic a new message goes to (checked: exists and open), or None."""
        if conv.chat_id > 0:
            return None
        chat = self.state.chats[conv.chat_id]
        if not chat.is_forum:
            return None
        if not thread_id and reply_to is not None:
            thread_id = reply_to.data.get("message_thread_id")
        if not thread_id or thread_id == 1:
            return None
        if self.topic(chat, thread_id).is_closed:
            raise bad_request("TOPIC_CLOSED")
        return thread_id

    # --- updates --------------------------------------------------------------------------

    def _signal(self, bot_id: int) -> Signal:
        return self._bot_signals.setdefault(bot_id, Signal())

    def enqueue(self, bot: BotRecord, kind: str, payload: dict[str, Any]) -> None:
        """Queue an update for a bot (dropped if the bot did not ask for this kind)."""
        if not bot.wants(kind):
            return
        bot.updates.append({"update_id": bot.next_update_id, kind: copy.deepcopy(payload)})
        bot.next_update_id += 1
        self._signal(bot.id).fire()
        if bot.webhook_url:
            self._ensure_webhook_task(bot.id)

    async def get_updates(
        self,
        bot: BotRecord,
        offset: int | None,
        limit: int,
        timeout: float,
        allowed: list[str] | None,
    ) -> list[dict[str, Any]]:
        """Long polling: confirm by offset, then wait until there is an update or time is up."""
        if bot.webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        if allowed is not None:
            bot.allowed_updates = list(allowed) or None
        self._confirm(bot, offset)
        generation = self._poll_generation.get(bot.id, 0) + 1
        self._poll_generation[bot.id] = generation
        self._polling_bots.add(bot.id)
        self._signal(bot.id).fire()
        self.changes.fire()
        deadline = time.monotonic() + min(max(timeout, 0.0), self.config.max_poll_timeout)
        try:
            while True:
                if self._poll_generation.get(bot.id) != generation:
                    raise ApiError(409, CONFLICT_POLLING)
                if bot.webhook_url:
                    raise ApiError(409, CONFLICT_WEBHOOK)
                remaining = deadline - time.monotonic()
                if bot.updates or remaining <= 0 or self.closing:
                    return [dict(update) for update in bot.updates[: max(1, min(limit, 100))]]
                await self._signal(bot.id).wait(remaining)
        except asyncio.CancelledError:
            # The poller hung up (the bot stopped): it no longer listens unless a newer poll runs.
            if self._poll_generation.get(bot.id) == generation:
                self._polling_bots.discard(bot.id)
                self.changes.fire()
            raise

    @staticmethod
    def _confirm(bot: BotRecord, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            bot.updates[:] = bot.updates[offset:]
        else:
            bot.updates[:] = [update for update in bot.updates if update["update_id"] >= offset]

    def set_webhook(
        self,
        bot: BotRecord,
        url: str,
        secret: str = "",
        allowed: list[str] | None = None,
        drop_pending: bool = False,
        max_connections: int = 40,
    ) -> None:
        if url and not re.match(r"^https?://[^\s/]+", url):
            raise bad_request("bad webhook: an HTTP or HTTPS URL must be provided for webhook")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if drop_pending:
            bot.updates.clear()
        bot.webhook_url, bot.webhook_secret = url, secret if url else ""
        bot.max_connections = max_connections
        bot.last_error_date, bot.last_error_message = 0, ""
        if allowed is not None:
            bot.allowed_updates = list(allowed) or None
        self._signal(bot.id).fire()
        if url:
            self._ensure_webhook_task(bot.id)
        self.changes.fire()

    def webhook_info(self, bot: BotRecord) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": bot.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if bot.webhook_url:
            info["max_connections"] = bot.max_connections
            info["ip_address"] = "127.0.0.1"
            if bot.allowed_updates:
                info["allowed_updates"] = bot.allowed_updates
        if bot.last_error_date:
            info["last_error_date"] = bot.last_error_date
            info["last_error_message"] = bot.last_error_message
        return info

    def _ensure_webhook_task(self, bot_id: int) -> None:
        task = self._webhook_tasks.get(bot_id)
        if (task is None or task.done()) and not self.closing:
            self._webhook_tasks[bot_id] = asyncio.get_running_loop().create_task(self._webhook_loop(bot_id))

    async def _webhook_loop(self, bot_id: int) -> None:
        """Deliver queued updates one by one, in order, retrying with a growing pause."""
        pause = 0.1
        while not self.closing:
            bot = self.state.bots.get(bot_id)
            if bot is None or not bot.webhook_url:
                return
            if not bot.updates:
                await self._signal(bot_id).wait(1.0)
                continue
            update = bot.updates[0]
            if await self._post_update(bot, update):
                if bot.updates and bot.updates[0] is update:
                    bot.updates.pop(0)
                pause = 0.1
            else:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def _post_update(self, bot: BotRecord, update: dict[str, Any]) -> bool:
        headers = {"X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret} if bot.webhook_secret else {}
        assert self.http is not None
        try:
            timeout = aiohttp.ClientTimeout(total=self.config.webhook_timeout)
            async with self.http.post(bot.webhook_url, json=update, headers=headers, timeout=timeout) as response:
                body = await response.read()
                if response.status >= 300:
                    self._webhook_error(bot, f"Wrong response from the webhook: {response.status} {response.reason}")
                    return False
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._webhook_error(bot, f"Connection error: {type(exc).__name__}")
            return False
        await self._run_webhook_reply(bot, body)
        return True

    def _webhook_error(self, bot: BotRecord, message: str) -> None:
        bot.last_error_date, bot.last_error_message = now(), message
        log.debug("webhook of bot %s failed: %s", bot.id, message)

    async def _run_webhook_reply(self, bot: BotRecord, body: bytes) -> None:
        """A bot may answer a webhook with a method call in the response body."""
        if not body.strip() or self.method_runner is None:
            return
        try:
            reply = json.loads(body)
        except ValueError:
            return
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            params = {k: v for k, v in reply.items() if k != "method"}
            with contextlib.suppress(Exception):
                await self.method_runner(bot, reply["method"], params)

    # --- files ----------------------------------------------------------------------------

    def store_file(self, content: bytes, folder: str, file_name: str = "", mime: str = "") -> FileRecord:
        state = self.state
        number = state.next_file_number
        state.next_file_number += 1
        mime = mime or guess_mime(file_name)
        file_id = f"SBX{folder[:3].upper()}{number:06d}{secrets.token_urlsafe(12)}"
        record = FileRecord(
            file_id=file_id,
            file_unique_id=f"U{number:06d}{secrets.token_hex(3)}",
            file_path=f"{folder}/file_{number}.{extension(file_name, mime)}",
            content=content,
            mime_type=mime,
            file_name=file_name,
        )
        state.files[file_id] = record
        return record

    def file(self, file_id: str) -> FileRecord:
        record = self.state.files.get(file_id)
        if record is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return record

    def file_by_path(self, path: str) -> FileRecord | None:
        return next((f for f in self.state.files.values() if f.file_path == path), None)

    def photo(self, content: bytes, file_name: str = "photo.jpg") -> list[dict[str, Any]]:
        """A PhotoSize array for an image (the sizes share the content: nothing is resized)."""
        width, height = image_size(content) or (1280, 960)
        sizes = []
        for size_width, size_height in photo_sizes(width, height):
            record = self.store_file(content, "photos", file_name, guess_mime(file_name, "image/jpeg"))
            sizes.append(
                {
                    "file_id": record.file_id,
                    "file_unique_id": record.file_unique_id,
                    "file_size": record.size,
                    "width": size_width,
                    "height": size_height,
                }
            )
        return sizes

    @staticmethod
    def file_api(record: FileRecord, **extra: Any) -> dict[str, Any]:
        return {"file_id": record.file_id, "file_unique_id": record.file_unique_id, "file_size": record.size, **extra}

    # --- callback queries -----------------------------------------------------------------

    def press(
        self, bot: BotRecord, user: UserRecord, conv: Conversation, record: MessageRecord, data: str
    ) -> CallbackRecord:
        """A user taps an inline button: a callback query goes to the bot."""
        state = self.state
        query_id = f"{bot.id}{state.next_callback_number:08d}"
        state.next_callback_number += 1
        callback = CallbackRecord(query_id, bot.id, user.id, conv.chat_id, record.message_id, data, time.time())
        state.callbacks[query_id] = callback
        message = (
            {"chat": self.chat_api(conv), "message_id": record.message_id, "date": 0} if record.deleted else record.data
        )
        payload = {
            "id": query_id,
            "from": user.to_api(),
            "message": message,
            "chat_instance": str(abs(conv.chat_id) * 1000 + bot.id % 1000),
            "data": data,
        }
        self.enqueue(bot, "callback_query", payload)
        self.touch()
        return callback

    def answer_callback(self, bot: BotRecord, query_id: str, answer: dict[str, Any]) -> None:
        callback = self.state.callbacks.get(query_id)
        too_old = callback is not None and time.time() - callback.created > self.config.callback_timeout
        if callback is None or callback.bot_id != bot.id or callback.answered or too_old:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        callback.answered = True
        callback.answer = answer
        self.touch()

    # --- call log -------------------------------------------------------------------------

    def record_call(self, bot_id: int, method: str, params: dict[str, Any], response: dict[str, Any],
                    fault: str | None = None) -> None:
        state = self.state
        state.calls.append(
            {
                **({"fault": fault} if fault else {}),
                "seq": state.next_call_seq,
                "time": time.time(),
                "bot_id": bot_id,
                "method": method,
                "params": params,
                "ok": response.get("ok", False),
                "error_code": response.get("error_code"),
                "description": response.get("description"),
                "result": response.get("result"),
            }
        )
        state.next_call_seq += 1
        if len(state.calls) > self.config.max_calls:
            del state.calls[: len(state.calls) - self.config.max_calls]
        self.changes.fire()
