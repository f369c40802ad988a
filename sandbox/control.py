"""Control API under ``/sandbox/``: act as users and staff, inspect chats and calls, wait for the bot.

Answers are plain JSON objects; errors are ``{"error": "..."}`` with status 400 or 404.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .core import SandboxCore
from .errors import ApiError, bad_request
from .files import tiny_ogg, tiny_png
from .formatting import detect_entities
from .markup import inline_buttons
from .state import BotRecord, ChatRecord, Conversation, MessageRecord, UserRecord, now

JsonHandler = Callable[[web.Request], Awaitable[Any]]
ACTION_SECONDS = 5
MAX_WAIT = 60.0


def _json_route(handler: JsonHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Turn a handler's return value into JSON and its ApiError into ``{"error": ...}``."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            result = await handler(request)
        except ApiError as error:
            text = error.description.removeprefix("Bad Request: ")
            return web.json_response({"error": text}, status=400 if error.code < 500 else error.code, dumps=_dumps)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result, dumps=_dumps)

    return wrapper


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def _int(value: Any, name: str, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise bad_request(f"{name} is required")
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer") from None


def _float(value: Any, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        raise bad_request("timeout must be a number") from None


def _b64(value: Any, name: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"{name} must be base64") from None


class ControlApi:
    """Handlers of the control API; everything goes through the shared core."""

    def __init__(self, core: SandboxCore) -> None:
        self.core = core

    def add_routes(self, app: web.Application) -> None:
        get, post = "GET", "POST"
        table: list[tuple[str, str, JsonHandler]] = [
            (get, "/sandbox/state", self.state),
            (post, "/sandbox/reset", self.reset),
            (get, "/sandbox/users", self.users),
            (post, "/sandbox/users", self.create_user),
            (post, "/sandbox/users/bulk", self.create_users),
            (post, "/sandbox/bots", self.register_bot),
            (get, "/sandbox/bots/wait", self.wait_bot),
            (post, "/sandbox/groups", self.create_group),
            (post, "/sandbox/groups/{chat_id}/members", self.set_member),
            (post, "/sandbox/groups/{chat_id}/bots", self.set_bot),
            (post, "/sandbox/groups/{chat_id}/topics", self.create_topic),
            (post, "/sandbox/groups/{chat_id}/topics/{thread_id}/delete", self.delete_topic),
            (post, "/sandbox/groups/{chat_id}/delete", self.delete_group),
            (post, "/sandbox/updates", self.raw_update),
            (get, "/sandbox/faults", self.faults),
            (post, "/sandbox/faults", self.add_fault),
            (post, "/sandbox/send", self.send),
            (post, "/sandbox/edit", self.edit),
            (post, "/sandbox/press", self.press),
            (post, "/sandbox/block", self.block),
            (get, "/sandbox/callback_answers/{query_id}", self.callback_answer),
            (get, "/sandbox/chats/{chat_id}/messages", self.messages),
            (get, "/sandbox/chats/{chat_id}/wait", self.wait),
            (get, "/sandbox/calls", self.calls),
            (get, "/sandbox/flood", self.flood),
            (post, "/sandbox/flood", self.set_flood),
            (get, "/sandbox/files/{file_id}", self.file),
        ]
        for verb, path, handler in table:
            app.router.add_route(verb, path, _json_route(handler))

    # --- views ----------------------------------------------------------------------------

    def _bot_view(self, bot: BotRecord) -> dict[str, Any]:
        return {
            **bot.to_user(),
            "default": bot.id == self.core.state.default_bot_id,
            "listening": self.core.is_listening(bot.id),
            "webhook_url": bot.webhook_url,
            "pending_updates": len(bot.updates),
        }

    def _user_view(self, user: UserRecord) -> dict[str, Any]:
        return {**user.to_api(), "phone_number": user.phone_number}

    def _group_view(self, chat: ChatRecord) -> dict[str, Any]:
        members = [
            {"user": self.core.state.person(member), "status": status} for member, status in chat.members.items()
        ]
        topics = [{**topic.to_api(), "is_closed": topic.is_closed} for topic in chat.topics.values()]
        return {**chat.to_api(), "members": members, "topics": topics}

    def _views(self, records: list[MessageRecord]) -> list[dict[str, Any]]:
        return [self.core.message_view(record) for record in records]

    # --- state, users, bots, groups -------------------------------------------------------

    async def state(self, request: web.Request) -> dict[str, Any]:
        state = self.core.state
        return {
            "users": [self._user_view(user) for user in state.users.values()],
            "bots": [self._bot_view(bot) for bot in state.bots.values()],
            "groups": [self._group_view(chat) for chat in state.chats.values()],
            "default_bot_id": state.default_bot_id,
            "flood": self.core.flood.limits.to_json(),
            "rev": state.rev,
        }

    async def reset(self, request: web.Request) -> dict[str, Any]:
        self.core.reset()
        return {"ok": True}

    async def users(self, request: web.Request) -> list[dict[str, Any]]:
        return [self._user_view(user) for user in self.core.state.users.values()]

    async def create_user(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        user = self.core.create_user(
            str(body.get("first_name", "")),
            str(body.get("last_name") or ""),
            str(body.get("username") or ""),
            str(body.get("language_code") or ""),
            _int(body["id"], "id") if body.get("id") else None,
            str(body.get("phone_number") or ""),
        )
        return self._user_view(user)

    async def create_users(self, request: web.Request) -> dict[str, Any]:
        """Many users at once (broadcast tests): ``count`` people named ``name`` N, who have all started the
        default bot (as if each had sent /start earlier) unless ``started`` is false. Returns their ids."""
        body = await _body(request)
        count = _int(body.get("count"), "count", 0)
        if not 0 < count <= 1_000_000:
            raise bad_request("count must be between 1 and 1000000")
        name = str(body.get("name") or "Користувач")
        language = str(body.get("language_code") or "uk")
        bot = self.core.bot(0) if body.get("started", True) else None
        ids = []
        for number in range(count):
            user = self.core.create_user(f"{name} {number + 1}", "", "", language)
            ids.append(user.id)
            if bot is not None:
                bot.started_by.append(user.id)
        return {"ids": ids}

    async def register_bot(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        bot = self.core.register_bot(str(body.get("token", "")), body.get("username"), body.get("first_name"))
        if body.get("default"):
            self.core.state.default_bot_id = bot.id
        return self._bot_view(bot)

    async def wait_bot(self, request: web.Request) -> dict[str, Any]:
        """Wait until a bot (the default one unless ``bot_id``) polls or has a webhook."""
        query = request.query
        timeout = min(_float(query.get("timeout"), 5.0), MAX_WAIT)
        wanted = _int(query.get("bot_id"), "bot_id", 0)

        def ready() -> bool:
            bot_id = wanted or self.core.state.default_bot_id
            return bool(bot_id) and self.core.is_listening(bot_id)

        return {"ready": await self.core.wait_until(ready, timeout)}

    async def create_group(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)

        def ids(key: str) -> list[int]:
            return [_int(item, key) for item in body.get(key) or []]

        chat = self.core.create_group(
            str(body.get("title", "")),
            forum=bool(body.get("forum")),
            members=ids("members"),
            admins=ids("admins"),
            bots=ids("bots") if "bots" in body else None,
            username=str(body.get("username") or ""),
            kind=str(body.get("type") or "supergroup"),
        )
        return self._group_view(chat)

    async def set_member(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        chat = self.core.chat(request.match_info["chat_id"])
        self.core.set_member(chat, _int(body.get("user_id"), "user_id"), str(body.get("status") or "member"))
        return self._group_view(chat)

    async def set_bot(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        chat = self.core.chat(request.match_info["chat_id"])
        bot = self.core.bot(_int(body.get("bot_id"), "bot_id", 0))
        self.core.set_bot_status(chat, bot, str(body.get("status") or "administrator"))
        return self._group_view(chat)

    async def create_topic(self, request: web.Request) -> dict[str, Any]:
        """A staff member opens a topic: the service message goes to the bots like in Telegram."""
        body = await _body(request)
        chat = self.core.chat(request.match_info["chat_id"])
        user = self.core.user(body.get("user_id"))
        if not chat.is_active(user.id):
            raise bad_request("user is not a member of the chat")
        topic = self.core.create_topic(chat, str(body.get("name", "")), user.id, body.get("icon_color"))
        conv = self.core.group_conversation(chat.id)
        self.core.deliver_message(conv, conv.messages[topic.message_thread_id])
        return {**topic.to_api(), "is_closed": topic.is_closed}

    async def delete_topic(self, request: web.Request) -> dict[str, Any]:
        """A staff member deletes a topic by hand in the app (bots are not told, as in Telegram)."""
        chat = self.core.chat(request.match_info["chat_id"])
        self.core.delete_topic(chat, _int(request.match_info["thread_id"], "thread_id"))
        return {"deleted": True}

    async def delete_group(self, request: web.Request) -> dict[str, Any]:
        """The owner deletes the whole group: from now on every call about it answers "chat not found"."""
        chat = self.core.chat(request.match_info["chat_id"])
        chat.deleted = True
        self.core.touch()
        return self._group_view(chat)

    async def raw_update(self, request: web.Request) -> dict[str, Any]:
        """Queue an update exactly as given: ``{"update": {...}, "bot_id": 0, "keep_id": false}``."""
        body = await _body(request)
        update = body.get("update")
        if not isinstance(update, dict):
            raise bad_request("update must be a JSON object")
        bot = self.core.bot(_int(body.get("bot_id"), "bot_id", 0))
        return {"update_id": self.core.enqueue_raw(bot, update, keep_id=bool(body.get("keep_id")))}

    async def faults(self, request: web.Request) -> dict[str, Any]:
        return self.core.faults.to_json()

    async def add_fault(self, request: web.Request) -> dict[str, Any]:
        """Switch a fault on (see faults.py), or ``{"clear": true}`` to switch them all off."""
        body = await _body(request)
        if body.get("clear"):
            self.core.faults.clear()
        else:
            try:
                self.core.faults.add(body)
            except (TypeError, ValueError) as exc:
                raise bad_request(str(exc)) from None
        return self.core.faults.to_json()

    # --- acting as a user -----------------------------------------------------------------

    def _user_chat(self, user: UserRecord, body: dict[str, Any]) -> Conversation:
        """The chat a user writes to: a group they are in, or their private chat with a bot."""
        chat_id = _int(body.get("chat_id"), "chat_id", 0)
        if chat_id < 0:
            chat = self.core.chat(chat_id)
            if not chat.is_active(user.id):
                raise bad_request("user is not a member of the chat")
            return self.core.group_conversation(chat.id)
        if chat_id and chat_id != user.id:
            raise bad_request("a user writes only to their own private chat with the bot (chat_id = user_id)")
        bot = self.core.bot(_int(body.get("bot_id"), "bot_id", 0))
        if user.id in bot.blocked_by:
            self._set_blocked(bot, user, False)
        if user.id not in bot.started_by:
            bot.started_by.append(user.id)
        return self.core.private_conversation(bot.id, user.id)

    def _content(self, user: UserRecord, body: dict[str, Any]) -> dict[str, Any]:
        """The content of a user's message from the request body."""
        caption = str(body.get("caption") or "")
        if body.get("contact") is not None:
            return {"contact": self._contact(user, body["contact"])}
        if body.get("location") is not None:
            location = body["location"]
            return {"location": {"latitude": float(location["latitude"]), "longitude": float(location["longitude"])}}
        for kind, builder in (("photo", self._photo), ("document", self._document), ("voice", self._voice)):
            if body.get(kind) is not None:
                content = builder(body[kind])
                if caption:
                    content.update({"caption": caption, "caption_entities": detect_entities(caption)})
                    if not content["caption_entities"]:
                        del content["caption_entities"]
                return content
        text = str(body.get("text") or "").strip()
        if not text:
            raise bad_request("text, contact, location, photo, document or voice is required")
        if len(text) > 4096:
            raise bad_request("message is too long")
        entities = detect_entities(text)
        return {"text": text, **({"entities": entities} if entities else {})}

    @staticmethod
    def _contact(user: UserRecord, value: Any) -> dict[str, Any]:
        """A contact; ``true`` or an empty object shares the user's own phone number."""
        value = value if isinstance(value, dict) else {}
        own = not value.get("phone_number")
        contact: dict[str, Any] = {
            "phone_number": str(value.get("phone_number") or user.phone_number),
            "first_name": str(value.get("first_name") or user.first_name),
        }
        last_name = value.get("last_name") if not own else user.last_name
        if last_name:
            contact["last_name"] = str(last_name)
        if own or value.get("user_id"):
            contact["user_id"] = int(value.get("user_id") or user.id)
        return contact

    def _photo(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            content = _b64(value["content_b64"], "photo") if value.get("content_b64") else tiny_png()
            name = str(value.get("file_name") or "photo.png")
        elif isinstance(value, str) and value:
            content, name = _b64(value, "photo"), "photo.jpg"
        else:
            content, name = tiny_png(), "photo.png"
        return {"photo": self.core.photo(content, name)}

    def _document(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise bad_request("document must be an object {file_name, content_b64 | text}")
        name = str(value.get("file_name") or "document.txt")
        if value.get("content_b64"):
            content = _b64(value["content_b64"], "document")
        else:
            content = str(value.get("text", "sandbox document")).encode("utf-8")
        record = self.core.store_file(content, "documents", name, str(value.get("mime_type") or ""))
        return {"document": self.core.file_api(record, file_name=name, mime_type=record.mime_type)}

    def _voice(self, value: Any) -> dict[str, Any]:
        value = value if isinstance(value, dict) else {}
        content = _b64(value["content_b64"], "voice") if value.get("content_b64") else tiny_ogg()
        record = self.core.store_file(content, "voice", "voice.oga", "audio/ogg")
        duration = _int(value.get("duration"), "duration", 3)
        return {"voice": self.core.file_api(record, duration=duration, mime_type="audio/ogg")}

    def _thread(self, conv: Conversation, body: dict[str, Any], reply_to: MessageRecord | None) -> int | None:
        """Topic of a user's message in a forum (from the body or from the replied message)."""
        thread_id = _int(body.get("message_thread_id"), "message_thread_id", 0)
        if conv.chat_id > 0:
            return None
        chat = self.core.state.chats[conv.chat_id]
        if not chat.is_forum:
            return None
        if not thread_id and reply_to is not None:
            thread_id = reply_to.data.get("message_thread_id", 0)
        if not thread_id:
            return None
        if self.core.topic(chat, thread_id).is_closed:
            raise bad_request("TOPIC_CLOSED")
        return thread_id

    async def send(self, request: web.Request) -> dict[str, Any]:
        """A user sends a message; the bot gets a ``message`` update."""
        body = await _body(request)
        user = self.core.user(body.get("user_id"))
        conv = self._user_chat(user, body)
        content = self._content(user, body)
        reply_to = None
        if body.get("reply_to_message_id"):
            reply_to = conv.messages.get(_int(body["reply_to_message_id"], "reply_to_message_id"))
            if reply_to is None or reply_to.deleted:
                raise bad_request("message to be replied not found")
        thread = self._thread(conv, body, reply_to)
        record = self.core.add_message(
            conv,
            sender="user",
            sender_id=user.id,
            content=content,
            thread_id=thread,
            reply_to=reply_to,
        )
        self.core.deliver_message(conv, record)
        return self.core.message_view(record)

    async def edit(self, request: web.Request) -> dict[str, Any]:
        """A user edits their text message; the bot gets an ``edited_message`` update."""
        body = await _body(request)
        user = self.core.user(body.get("user_id"))
        conv = self._user_chat(user, body)
        record = conv.messages.get(_int(body.get("message_id"), "message_id"))
        if record is None or record.deleted or record.sender_id != user.id or "text" not in record.data:
            raise bad_request("message to edit not found")
        text = str(body.get("text") or "").strip()
        if not text:
            raise bad_request("message text is empty")
        entities = detect_entities(text)
        self.core.edit_message(
            record, {"text": text, **({"entities": entities} if entities else {})}, None, remove=("entities",)
        )
        self.core.deliver_message(conv, record, "edited_message")
        return self.core.message_view(record)

    async def press(self, request: web.Request) -> dict[str, Any]:
        """A user taps an inline button (by ``callback_data`` or by its ``text``)."""
        body = await _body(request)
        user = self.core.user(body.get("user_id"))
        conv = self._user_chat(user, body)
        record = conv.messages.get(_int(body.get("message_id"), "message_id"))
        if record is None:
            raise bad_request("message not found")
        data = self._button_data(record, body)
        bot = self._message_bot(conv, record)
        return self.core.press(bot, user, conv, record, data).to_json()

    @staticmethod
    def _button_data(record: MessageRecord, body: dict[str, Any]) -> str:
        buttons = [] if record.deleted else inline_buttons(record.markup)
        if body.get("callback_data") is not None:
            data = str(body["callback_data"])
            if body.get("force") or any(button.get("callback_data") == data for button in buttons):
                return data
            raise bad_request(f"no button with callback_data {data!r} in the message")
        text = str(body.get("text") or "").strip()
        if not text:
            raise bad_request("callback_data or text is required")
        matches = [b for b in buttons if b["text"] == text] or [
            b for b in buttons if b["text"].strip().casefold() == text.casefold()
        ]
        if not matches:
            raise bad_request(f"no button {text!r} in the message; buttons: {[b['text'] for b in buttons]}")
        if "callback_data" not in matches[0]:
            raise bad_request(f"button {text!r} has no callback_data: {matches[0]}")
        return str(matches[0]["callback_data"])

    def _message_bot(self, conv: Conversation, record: MessageRecord) -> BotRecord:
        if conv.chat_id > 0:
            return self.core.state.bots[conv.bot_id]
        if record.sender == "bot" and record.sender_id in self.core.state.bots:
            return self.core.state.bots[record.sender_id]
        raise bad_request("only messages of a bot have inline buttons")

    async def block(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        user = self.core.user(body.get("user_id"))
        bot = self.core.bot(_int(body.get("bot_id"), "bot_id", 0))
        self._set_blocked(bot, user, bool(body.get("blocked", True)))
        return {"user_id": user.id, "bot_id": bot.id, "blocked": user.id in bot.blocked_by}

    def _set_blocked(self, bot: BotRecord, user: UserRecord, blocked: bool) -> None:
        """Block or unblock the bot; the bot learns it from a ``my_chat_member`` update."""
        if blocked == (user.id in bot.blocked_by):
            return
        if blocked:
            bot.blocked_by.append(user.id)
        else:
            bot.blocked_by.remove(user.id)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        chat = self.core.chat_api(self.core.private_conversation(bot.id, user.id))

        def member(status: str) -> dict[str, Any]:
            return {"status": status, "user": bot.to_user(), **({"until_date": 0} if status == "kicked" else {})}

        payload = {
            "chat": chat,
            "from": user.to_api(),
            "date": now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        self.core.enqueue(bot, "my_chat_member", payload)
        self.core.touch()

    async def callback_answer(self, request: web.Request) -> dict[str, Any]:
        """The bot's answer to a callback query; ``timeout`` waits for it."""
        query_id = request.match_info["query_id"]
        callback = self.core.state.callbacks.get(query_id)
        if callback is None:
            raise bad_request("callback query not found")
        timeout = min(_float(request.query.get("timeout"), 0.0), MAX_WAIT)
        await self.core.wait_until(lambda: callback.answered, timeout)
        return callback.to_json()

    # --- reading chats --------------------------------------------------------------------

    def _conversation(self, request: web.Request) -> Conversation:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        return self.core.conversation(chat_id, _int(request.query.get("bot_id"), "bot_id", 0))

    @staticmethod
    def _in_thread(record: MessageRecord, thread: str | None) -> bool:
        if thread is None or thread == "":
            return True
        return bool(record.data.get("message_thread_id", 0) == int(thread))

    def _reply_keyboard(self, conv: Conversation) -> dict[str, Any] | None:
        """The reply keyboard a user sees now (the last one a bot sent, unless removed)."""
        records = conv.visible()
        for index in range(len(records) - 1, -1, -1):
            record = records[index]
            if record.sender != "bot" or not ({"keyboard", "remove_keyboard"} & set(record.markup)):
                continue
            if "remove_keyboard" in record.markup:
                return None
            used = any(later.sender == "user" for later in records[index + 1 :])
            hidden = bool(record.markup.get("one_time_keyboard")) and used
            return {"markup": record.markup, "message_id": record.message_id, "hidden": hidden}
        return None

    def _action(self, conv: Conversation) -> str | None:
        action = self.core.chat_actions.get(conv.key)
        if not action or now() - action[1] > ACTION_SECONDS:
            return None
        sent_after = any(r.sender == "bot" and r.data.get("date", 0) > action[1] for r in conv.visible())
        return None if sent_after else action[0]

    async def messages(self, request: web.Request) -> dict[str, Any]:
        """Messages of a chat: all, newer than ``since_id``, or changed after ``since_rev`` (``wait`` s)."""
        conv = self._conversation(request)
        query = request.query
        thread = query.get("thread_id")
        if query.get("since_rev") not in (None, ""):
            since_rev = _int(query["since_rev"], "since_rev")

            def changed() -> list[MessageRecord]:
                return [r for r in conv.messages.values() if r.rev > since_rev and self._in_thread(r, thread)]

            action = self._action(conv)
            await self.core.wait_until(
                lambda: bool(changed()) or self._action(conv) != action, min(_float(query.get("wait"), 0.0), MAX_WAIT)
            )
            records = changed()
        else:
            since_id = _int(query.get("since_id"), "since_id", 0)
            records = [r for r in conv.visible() if r.message_id > since_id and self._in_thread(r, thread)]
        return {
            "chat": self.core.chat_api(conv),
            "messages": self._views(records),
            "rev": self.core.state.rev,
            "reply_keyboard": self._reply_keyboard(conv),
            "action": self._action(conv),
        }

    async def wait(self, request: web.Request) -> dict[str, Any]:
        """Wait until the bot sends ``count`` messages after ``after_id`` or edits/deletes one (``since_rev``)."""
        conv = self._conversation(request)
        query = request.query
        after_id = _int(query.get("after_id"), "after_id", 0)
        count = max(1, _int(query.get("count"), "count", 1))
        timeout = min(_float(query.get("timeout"), 5.0), MAX_WAIT)
        since_rev = _int(query.get("since_rev"), "since_rev", -1)
        thread = query.get("thread_id")

        def fresh() -> list[MessageRecord]:
            return [
                r
                for r in conv.visible()
                if r.message_id > after_id and r.sender == "bot" and not r.service and self._in_thread(r, thread)
            ]

        def edited() -> list[MessageRecord]:
            if since_rev < 0:
                return []
            return [
                r
                for r in conv.messages.values()
                if r.message_id <= after_id and r.rev > since_rev and r.sender == "bot"
            ]

        deadline = time.monotonic() + timeout
        done = await self.core.wait_until(
            lambda: len(fresh()) >= count or bool(edited()), timeout, chat_id=conv.chat_id
        )
        if done:
            await self._settle(conv, min(_float(query.get("settle"), 0.0), 5.0), deadline)
        return {
            "messages": self._views(fresh()),
            "edited": self._views(edited()),
            "rev": self.core.state.rev,
            "timed_out": not done,
            "reply_keyboard": self._reply_keyboard(conv),
        }

    async def _settle(self, conv: Conversation, quiet: float, deadline: float) -> None:
        """Keep waiting while the chat still changes (at most ``quiet`` s between changes)."""

        def latest() -> int:
            return max((record.rev for record in conv.messages.values()), default=0)

        while quiet > 0:
            seen = latest()

            def moved(seen: int = seen) -> bool:
                return latest() != seen

            pause = min(quiet, deadline - time.monotonic())
            if pause <= 0 or not await self.core.wait_until(moved, pause, chat_id=conv.chat_id):
                return

    async def calls(self, request: web.Request) -> dict[str, Any]:
        """The Bot API call log after ``since`` (a seq), filtered by ``method``/``bot_id``; ``wait`` s."""
        query = request.query
        since = _int(query.get("since"), "since", 0)
        wanted = (query.get("method") or "").lower()
        bot_id = _int(query.get("bot_id"), "bot_id", 0)

        def matching() -> list[dict[str, Any]]:
            return [
                call
                for call in self.core.state.calls
                if call["seq"] > since
                and (not wanted or call["method"].lower() == wanted)
                and (not bot_id or call["bot_id"] == bot_id)
            ]

        await self.core.wait_until(lambda: bool(matching()), min(_float(query.get("wait"), 0.0), MAX_WAIT))
        return {"calls": matching(), "last_seq": self.core.state.next_call_seq - 1}

    async def flood(self, request: web.Request) -> dict[str, Any]:
        return self.core.flood.limits.to_json()

    async def set_flood(self, request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        self.core.flood.limits.update(body)
        self.core.flood.reset()
        return self.core.flood.limits.to_json()

    async def file(self, request: web.Request) -> web.StreamResponse:
        record = self.core.state.files.get(request.match_info["file_id"])
        if record is None:
            return web.json_response({"error": "file not found"}, status=404)
        return web.Response(
            body=record.content, content_type=record.mime_type, headers={"Cache-Control": "max-age=3600"}
        )
