"""Async client of the sandbox control API for tests and benchmarks, and the ``Resident`` helper.

async with SandboxClient(sandbox.url) as client:
    olena = await client.resident("Олена")
    answer = await olena.say("/start")
    await olena.tap("Знайти послугу")
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aiohttp

Message = dict[str, Any]
UserRef = Mapping[str, Any] | int
TOKEN_HEADER = "X-Sandbox-Token"
TOKEN_VARIABLE = "SANDBOX_CONTROL_TOKEN"
# Control tokens of the sandboxes this process knows, by base URL: a Sandbox started here, or one started
# in a process of its own by code that gave it the token (remember_token). Every SandboxClient finds its
# sandbox's token here, so callers pass only the URL.
_TOKENS: dict[str, str] = {}


def remember_token(base_url: str, token: str) -> None:
    """The control token of the sandbox at ``base_url`` (for every SandboxClient made for it later)."""
    _TOKENS[base_url.rstrip("/")] = token


def forget_token(base_url: str) -> None:
    _TOKENS.pop(base_url.rstrip("/"), None)


def token_for(base_url: str) -> str:
    """The control token for ``base_url``: remembered, else the variable SANDBOX_CONTROL_TOKEN, else ""."""
    return _TOKENS.get(base_url.rstrip("/")) or os.environ.get(TOKEN_VARIABLE, "")


class SandboxError(Exception):
    """The control API refused a request (bad arguments, unknown user or chat...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class WaitTimeout(AssertionError):
    """The bot did not answer in time (an AssertionError so pytest shows it plainly)."""


def _id(ref: UserRef | Message) -> int:
    if isinstance(ref, int):
        return ref
    if "message_id" in ref and "id" not in ref:
        return int(ref["message_id"])
    return int(ref["id"])


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def message_text(message: Message | None) -> str:
    """The text or caption of a message ("" when it has none)."""
    if not message:
        return ""
    return str(message.get("text") or message.get("caption") or "")


def inline_buttons(message: Message | None) -> list[dict[str, Any]]:
    markup = (message or {}).get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def keyboard_buttons(keyboard: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Buttons of a reply keyboard as returned in ``reply_keyboard`` by the control API."""
    markup = (keyboard or {}).get("markup") or {}
    return [button for row in markup.get("keyboard", []) for button in row]


class SandboxClient:
    """Control API wrapper; every method maps to one endpoint under ``/sandbox/``."""

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        bot_id: int | None = None,
        timeout: float = 5.0,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token if token is not None else token_for(self.base_url)
        self.bot_id = bot_id
        self.timeout = timeout
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def _request(
        self, verb: str, path: str, *, params: Mapping[str, Any] | None = None, body: Mapping[str, Any] | None = None
    ) -> Any:
        query = {k: str(v) for k, v in _clean(params or {}).items()}
        async with self._http().request(
            verb, self.base_url + path, params=query, json=_clean(body) if body is not None else None,
            headers=self.headers,
        ) as response:
            data = await response.json(content_type=None)
            if response.status >= 400:
                raise SandboxError(
                    response.status, data.get("error", str(data)) if isinstance(data, dict) else str(data)
                )
            return data

    @property
    def headers(self) -> dict[str, str]:
        """What every control API request carries (the control token)."""
        return {TOKEN_HEADER: self.token} if self.token else {}

    async def _get(self, path: str, **params: Any) -> Any:
        return await self._request("GET", path, params=params)

    async def _post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return await self._request("POST", path, body=body or {})

    def _chat_body(self, user: UserRef, chat_id: int | None, **extra: Any) -> dict[str, Any]:
        return {"user_id": _id(user), "chat_id": chat_id, "bot_id": self.bot_id, **extra}

    # --- state, users, bots, groups -------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        return await self._get("/sandbox/state")

    async def reset(self) -> None:
        await self._post("/sandbox/reset")

    async def create_user(
        self,
        first_name: str,
        last_name: str = "",
        username: str = "",
        language_code: str = "uk",
        *,
        user_id: int | None = None,
        phone_number: str | None = None,
    ) -> dict[str, Any]:
        return await self._post(
            "/sandbox/users",
            {
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "language_code": language_code,
                "id": user_id,
                "phone_number": phone_number,
            },
        )

    async def create_users(self, count: int, name: str = "Користувач", language_code: str = "uk",
                           started: bool = True) -> list[int]:
        """Many users at once, who have started the bot unless `started` is false; their ids."""
        result = await self._post("/sandbox/users/bulk", {"count": count, "name": name,
                                                          "language_code": language_code, "started": started})
        return result["ids"]

    async def register_bot(
        self, token: str, username: str | None = None, first_name: str | None = None, *, default: bool = False
    ) -> dict[str, Any]:
        return await self._post(
            "/sandbox/bots", {"token": token, "username": username, "first_name": first_name, "default": default}
        )

    async def wait_bot_ready(self, timeout: float = 5.0, bot_id: int | None = None) -> None:
        """Wait until the bot polls for updates (or has a webhook)."""
        result = await self._get("/sandbox/bots/wait", timeout=timeout, bot_id=bot_id or self.bot_id)
        if not result["ready"]:
            raise WaitTimeout(f"the bot did not start polling within {timeout} s")

    async def create_group(
        self,
        title: str,
        *,
        forum: bool = False,
        members: Iterable[UserRef] = (),
        admins: Iterable[UserRef] = (),
        bots: Iterable[int] | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        return await self._post(
            "/sandbox/groups",
            {
                "title": title,
                "forum": forum,
                "members": [_id(m) for m in members],
                "admins": [_id(a) for a in admins],
                "bots": list(bots) if bots is not None else None,
                "username": username,
            },
        )

    async def add_member(self, chat_id: int, user: UserRef, status: str = "member") -> dict[str, Any]:
        return await self._post(f"/sandbox/groups/{chat_id}/members", {"user_id": _id(user), "status": status})

    async def add_bot(self, chat_id: int, bot_id: int | None = None, status: str = "administrator") -> dict[str, Any]:
        return await self._post(f"/sandbox/groups/{chat_id}/bots", {"bot_id": bot_id or self.bot_id, "status": status})

    async def create_topic(self, chat_id: int, user: UserRef, name: str) -> dict[str, Any]:
        return await self._post(f"/sandbox/groups/{chat_id}/topics", {"user_id": _id(user), "name": name})

    # --- acting as a user -----------------------------------------------------------------

    async def send(self, user: UserRef, chat_id: int | None = None, **content: Any) -> Message:
        """Send any content (text, contact, photo, document, voice, location, caption...)."""
        return await self._post("/sandbox/send", self._chat_body(user, chat_id, **content))

    async def send_text(
        self,
        user: UserRef,
        text: str,
        chat_id: int | None = None,
        thread_id: int | None = None,
        reply_to: Message | int | None = None,
    ) -> Message:
        return await self.send(
            user,
            chat_id,
            text=text,
            message_thread_id=thread_id,
            reply_to_message_id=_id(reply_to) if reply_to is not None else None,
        )

    async def send_contact(
        self, user: UserRef, phone_number: str | None = None, first_name: str | None = None, chat_id: int | None = None
    ) -> Message:
        """Share a contact; without a phone number the user shares their own (as the contact button does)."""
        contact = _clean({"phone_number": phone_number, "first_name": first_name})
        return await self.send(user, chat_id, contact=contact)

    async def send_photo(
        self,
        user: UserRef,
        content: bytes | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
        thread_id: int | None = None,
    ) -> Message:
        photo: Any = base64.b64encode(content).decode("ascii") if content else True
        return await self.send(user, chat_id, photo=photo, caption=caption, message_thread_id=thread_id)

    async def send_document(
        self,
        user: UserRef,
        file_name: str,
        content: bytes | str = b"",
        caption: str | None = None,
        chat_id: int | None = None,
        thread_id: int | None = None,
        mime_type: str | None = None,
    ) -> Message:
        raw = content.encode("utf-8") if isinstance(content, str) else content
        document = {
            "file_name": file_name,
            "content_b64": base64.b64encode(raw).decode("ascii"),
            "mime_type": mime_type,
        }
        return await self.send(user, chat_id, document=_clean(document), caption=caption, message_thread_id=thread_id)

    async def send_voice(self, user: UserRef, duration: int = 3, chat_id: int | None = None) -> Message:
        return await self.send(user, chat_id, voice={"duration": duration})

    async def send_location(
        self, user: UserRef, latitude: float, longitude: float, chat_id: int | None = None
    ) -> Message:
        return await self.send(user, chat_id, location={"latitude": latitude, "longitude": longitude})

    async def edit_text(self, user: UserRef, message: Message | int, text: str, chat_id: int | None = None) -> Message:
        return await self._post("/sandbox/edit", self._chat_body(user, chat_id, message_id=_id(message), text=text))

    async def press(
        self, user: UserRef, message: Message | int, button: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """Tap an inline button found by its visible text (or, failing that, its callback_data)."""
        chat = chat_id if chat_id is not None else (message["chat"]["id"] if isinstance(message, dict) else None)
        if isinstance(message, dict) and chat is not None and chat > 0:
            chat = None  # private chat: addressed through the bot
        buttons = inline_buttons(message) if isinstance(message, dict) else []
        by_data = any(b.get("callback_data") == button for b in buttons) and not any(
            b["text"] == button for b in buttons
        )
        key = "callback_data" if by_data else "text"
        return await self._post("/sandbox/press", self._chat_body(user, chat, message_id=_id(message), **{key: button}))

    async def press_data(
        self,
        user: UserRef,
        message: Message | int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Send a callback query with exact data (``force`` even if no such button exists)."""
        return await self._post(
            "/sandbox/press",
            self._chat_body(user, chat_id, message_id=_id(message), callback_data=callback_data, force=force),
        )

    async def callback_answer(self, query: Mapping[str, Any] | str, timeout: float | None = None) -> dict[str, Any]:
        """The bot's answerCallbackQuery for a press (waits up to ``timeout`` for it)."""
        query_id = query if isinstance(query, str) else query["id"]
        return await self._get(f"/sandbox/callback_answers/{query_id}", timeout=timeout or self.timeout)

    async def block(self, user: UserRef, blocked: bool = True) -> None:
        await self._post("/sandbox/block", {"user_id": _id(user), "blocked": blocked, "bot_id": self.bot_id})

    async def set_flood(self, enabled: bool = True, **limits: int) -> dict[str, Any]:
        return await self._post("/sandbox/flood", {"enabled": enabled, **limits})

    async def fault(self, kind: str, *, seconds: float = 0, count: int | None = None,
                    methods: Sequence[str] | None = None, share: float = 1.0, retry_after: int = 5,
                    hang: float = 10.0) -> dict[str, Any]:
        """Make the Bot API fail: ``500``, ``502``, ``429``, ``close``, ``timeout`` or ``lost`` (carried out, answer
        lost) for ``seconds`` or ``count`` calls, on every call or a ``share`` of them, for ``methods`` or all."""
        body: dict[str, Any] = {"kind": kind, "seconds": seconds, "share": share, "retry_after": retry_after,
                                "hang": hang}
        if count is not None:
            body["count"] = count
        if methods:
            body["methods"] = list(methods)
        return await self._post("/sandbox/faults", body)

    async def clear_faults(self) -> dict[str, Any]:
        return await self._post("/sandbox/faults", {"clear": True})

    async def faults(self) -> dict[str, Any]:
        return await self._get("/sandbox/faults")

    async def raw_update(self, update: Mapping[str, Any], *, keep_id: bool = False) -> int:
        """Queue an update for the bot exactly as given; returns its update_id."""
        answer = await self._post("/sandbox/updates", {"update": dict(update), "bot_id": self.bot_id or 0,
                                                       "keep_id": keep_id})
        return int(answer["update_id"])

    async def delete_topic(self, chat_id: int, thread_id: int) -> dict[str, Any]:
        return await self._post(f"/sandbox/groups/{chat_id}/topics/{thread_id}/delete")

    async def delete_group(self, chat_id: int) -> dict[str, Any]:
        return await self._post(f"/sandbox/groups/{chat_id}/delete")

    # --- reading --------------------------------------------------------------------------

    async def chat(self, chat_id: int, *, since_id: int = 0, thread_id: int | None = None) -> dict[str, Any]:
        """Messages plus ``reply_keyboard``, ``action`` and ``rev`` of a chat (user id = private chat)."""
        return await self._get(
            f"/sandbox/chats/{chat_id}/messages", since_id=since_id, thread_id=thread_id, bot_id=self.bot_id
        )

    async def messages(self, chat_id: int, since_id: int = 0, thread_id: int | None = None) -> list[Message]:
        return (await self.chat(chat_id, since_id=since_id, thread_id=thread_id))["messages"]

    async def last_id(self, chat_id: int) -> int:
        """The id of the newest message of a chat (0 if empty): a mark to wait after."""
        return max((m["message_id"] for m in await self.messages(chat_id)), default=0)

    async def rev(self) -> int:
        return int((await self.state())["rev"])

    async def wait(
        self,
        chat_id: int,
        after_id: int = 0,
        count: int = 1,
        timeout: float | None = None,
        *,
        since_rev: int | None = None,
        thread_id: int | None = None,
        settle: float = 0.0,
    ) -> dict[str, Any]:
        """Raw wait: returns ``messages`` (new bot messages), ``edited``, ``rev`` and ``timed_out``."""
        timeout = self.timeout if timeout is None else timeout
        return await self._get(
            f"/sandbox/chats/{chat_id}/wait",
            after_id=after_id,
            count=count,
            timeout=timeout,
            since_rev=since_rev,
            thread_id=thread_id,
            settle=settle or None,
            bot_id=self.bot_id,
        )

    async def wait_bot_messages(
        self,
        chat_id: int,
        after_id: int = 0,
        count: int = 1,
        timeout: float | None = None,
        *,
        thread_id: int | None = None,
        settle: float = 0.0,
    ) -> list[Message]:
        """Wait for ``count`` new bot messages after ``after_id``; raise WaitTimeout otherwise."""
        result = await self.wait(chat_id, after_id, count, timeout, thread_id=thread_id, settle=settle)
        if len(result["messages"]) < count:
            got = [message_text(m)[:80] for m in result["messages"]]
            raise WaitTimeout(f"chat {chat_id}: expected {count} bot message(s) after #{after_id}, got {got}")
        return result["messages"]

    async def calls(self, since: int = 0, method: str | None = None, wait: float | None = None) -> list[dict[str, Any]]:
        """Logged Bot API calls with seq > ``since`` (``wait`` seconds for the first one)."""
        return (await self._get("/sandbox/calls", since=since, method=method, bot_id=self.bot_id, wait=wait))["calls"]

    async def file_content(self, file_id: str) -> bytes:
        async with self._http().get(f"{self.base_url}/sandbox/files/{file_id}", headers=self.headers) as response:
            if response.status != 200:
                raise SandboxError(response.status, "file not found")
            return await response.read()

    async def resident(
        self,
        first_name: str,
        last_name: str = "",
        *,
        language_code: str = "uk",
        username: str = "",
        user_id: int | None = None,
        chat_id: int | None = None,
        thread_id: int | None = None,
        settle: float = 0.15,
    ) -> Resident:
        """Create a user and return a :class:`Resident` acting as them."""
        user = await self.create_user(first_name, last_name, username, language_code, user_id=user_id)
        return Resident(self, user, chat_id=chat_id, thread_id=thread_id, settle=settle)


class Resident:
    """A person chatting with the bot: ``say`` and ``tap`` send and wait for the bot's answer.

    In a private chat (default) ``chat_id`` is the user's id; pass a group id to act in a group
    (``thread_id`` picks the forum topic).
    """

    def __init__(
        self,
        client: SandboxClient,
        user: Mapping[str, Any],
        *,
        chat_id: int | None = None,
        thread_id: int | None = None,
        settle: float = 0.15,
    ) -> None:
        self.client = client
        self.user = dict(user)
        self.chat_id = chat_id if chat_id is not None else int(user["id"])
        self.thread_id = thread_id
        self.settle = settle
        self.received: list[Message] = []
        self.last_sent: Message | None = None
        self.last_answer: dict[str, Any] | None = None
        self.reply_keyboard: dict[str, Any] | None = None
        self._last_id = 0

    def __repr__(self) -> str:
        return f"Resident({self.name!r}, id={self.id}, chat={self.chat_id})"

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def name(self) -> str:
        return str(self.user["first_name"])

    @property
    def last(self) -> Message | None:
        """The newest bot message this resident has seen."""
        return self.received[-1] if self.received else None

    @property
    def text(self) -> str:
        return message_text(self.last)

    @property
    def buttons(self) -> list[str]:
        """Texts of the inline buttons of the last bot message and of the reply keyboard."""
        return [b["text"] for b in inline_buttons(self.last)] + [
            b["text"] for b in keyboard_buttons(self.reply_keyboard)
        ]

    def _group_chat(self) -> int | None:
        return self.chat_id if self.chat_id < 0 else None

    async def _after_send(self, sent: Message, count: int, timeout: float | None, expect: bool) -> list[Message]:
        self.last_sent = sent
        self._last_id = max(self._last_id, sent["message_id"])
        if not expect:
            return []
        result = await self.client.wait(
            self.chat_id,
            self._last_id,
            count,
            timeout,
            thread_id=self.thread_id if self.chat_id < 0 else None,
            settle=self.settle,
        )
        return self._take(result, count)

    def _take(self, result: dict[str, Any], count: int, rev_edits: bool = False) -> list[Message]:
        fresh: list[Message] = result["messages"]
        edited = [m for m in result.get("edited", []) if not m.get("deleted")]
        if len(fresh) < count and not (rev_edits and result.get("edited")):
            got = [message_text(m)[:80] for m in fresh]
            raise WaitTimeout(f"{self.name}: expected {count} bot message(s) in chat {self.chat_id}, got {got}")
        self._absorb(edited + fresh)
        self.reply_keyboard = result.get("reply_keyboard")
        return fresh or edited

    def _absorb(self, messages: list[Message]) -> None:
        for message in messages:
            self.received = [m for m in self.received if m["message_id"] != message["message_id"]]
            self.received.append(message)
            self._last_id = max(self._last_id, message["message_id"])
        self.received.sort(key=lambda m: m["message_id"])

    async def say(
        self,
        text: str,
        *,
        count: int = 1,
        timeout: float | None = None,
        expect: bool = True,
        reply_to: Message | int | None = None,
    ) -> list[Message]:
        """Send text and return the bot's new messages (at least ``count`` unless ``expect=False``)."""
        sent = await self.client.send_text(self.id, text, self._group_chat(), self.thread_id, reply_to)
        return await self._after_send(sent, count, timeout, expect)

    async def reply(self, message: Message | int, text: str, **options: Any) -> list[Message]:
        return await self.say(text, reply_to=message, **options)

    async def share_contact(
        self, phone_number: str | None = None, *, count: int = 1, timeout: float | None = None, expect: bool = True
    ) -> list[Message]:
        sent = await self.client.send_contact(self.id, phone_number, chat_id=self._group_chat())
        return await self._after_send(sent, count, timeout, expect)

    async def send_photo(
        self,
        content: bytes | None = None,
        caption: str | None = None,
        *,
        count: int = 1,
        timeout: float | None = None,
        expect: bool = True,
    ) -> list[Message]:
        sent = await self.client.send_photo(self.id, content, caption, self._group_chat(), self.thread_id)
        return await self._after_send(sent, count, timeout, expect)

    async def send_document(
        self,
        file_name: str,
        content: bytes | str = b"",
        caption: str | None = None,
        *,
        count: int = 1,
        timeout: float | None = None,
        expect: bool = True,
    ) -> list[Message]:
        sent = await self.client.send_document(self.id, file_name, content, caption, self._group_chat(), self.thread_id)
        return await self._after_send(sent, count, timeout, expect)

    async def send_voice(
        self, duration: int = 3, *, count: int = 1, timeout: float | None = None, expect: bool = True
    ) -> list[Message]:
        sent = await self.client.send_voice(self.id, duration, self._group_chat())
        return await self._after_send(sent, count, timeout, expect)

    async def refresh(self) -> Message | None:
        """Re-read the chat: the newest bot messages and the reply keyboard shown now."""
        chat = await self.client.chat(self.chat_id, thread_id=self.thread_id if self.chat_id < 0 else None)
        bot_messages = [m for m in chat["messages"] if m.get("sender") == "bot" and not m.get("service")]
        self.received = bot_messages
        self.reply_keyboard = chat.get("reply_keyboard")
        if chat["messages"]:
            self._last_id = max(self._last_id, max(m["message_id"] for m in chat["messages"]))
        return self.last

    async def tap(
        self, text: str, *, count: int = 1, timeout: float | None = None, expect: bool = True
    ) -> list[Message]:
        """Tap a button by its text: an inline button of the newest bot message that has it,
        else a reply-keyboard button (sends its text, or the contact for a contact button).

        Returns the bot's new or edited messages; with ``expect=False`` only waits for the
        callback answer (see ``last_answer``).
        """
        await self.refresh()
        target = next((m for m in reversed(self.received) if any(b["text"] == text for b in inline_buttons(m))), None)
        if target is None:
            target = next(
                (
                    m
                    for m in reversed(self.received)
                    if any(b["text"].strip().casefold() == text.strip().casefold() for b in inline_buttons(m))
                ),
                None,
            )
        if target is not None:
            return await self._press(target, text, count, timeout, expect)
        for button in keyboard_buttons(self.reply_keyboard):
            if button["text"] == text or button["text"].strip().casefold() == text.strip().casefold():
                if button.get("request_contact"):
                    return await self.share_contact(count=count, timeout=timeout, expect=expect)
                return await self.say(button["text"], count=count, timeout=timeout, expect=expect)
        raise AssertionError(f"{self.name}: no button {text!r}; visible buttons: {self.buttons}")

    async def _press(
        self, message: Message, text: str, count: int, timeout: float | None, expect: bool
    ) -> list[Message]:
        rev = await self.client.rev()
        query = await self.client.press(self.id, message, text, chat_id=self._group_chat())
        if not expect:
            self.last_answer = await self.client.callback_answer(query, timeout)
            return []
        result = await self.client.wait(
            self.chat_id,
            self._last_id,
            count,
            timeout,
            since_rev=rev,
            thread_id=self.thread_id if self.chat_id < 0 else None,
            settle=self.settle,
        )
        self.last_answer = await self.client.callback_answer(query, 0.5)
        return self._take(result, count, rev_edits=True)

    async def expect_silence(self, timeout: float = 0.5) -> None:
        """Assert the bot sends nothing new for ``timeout`` seconds."""
        result = await self.client.wait(self.chat_id, self._last_id, 1, timeout)
        if result["messages"]:
            raise AssertionError(f"{self.name}: unexpected bot message {message_text(result['messages'][0])!r}")
