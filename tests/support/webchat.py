"""A web chat resident driven through the real Dispatcher (bot/webchat/), beside a Telegram bot whose calls are
answered and recorded in memory (the staff group's side)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.types import Chat, ForumTopic, Message, User

from bot.app import App
from bot.webchat.channel import WebChannel, make_web_bot
from bot.webchat.store import Shown, WebStore
from tests.support.config import TOKEN
from tests.support.harness import RecordingSession, Sent

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"\x00" * 64


class GroupSession(RecordingSession):
    """RecordingSession that also answers files and forum topics, and keeps the files uploaded to Telegram."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[tuple[int, str, bytes]] = []  # (chat, field, bytes)

    async def make_request(self, bot: Bot, method: Any, timeout: Optional[int] = None) -> Any:
        name = type(method).__name__
        if name in ("SendPhoto", "SendDocument", "SendVoice"):
            self.calls.append(method)
            field = name[4:].lower()
            value = getattr(method, field)
            content = b"".join([chunk async for chunk in value.read(bot)]) if not isinstance(value, str) else b""
            self.uploads.append((int(method.chat_id), field, content))
            sent = Sent(next(self._ids), int(method.chat_id), method.caption or "")
            self.chats.setdefault(sent.chat_id, {})[sent.message_id] = sent
            return Message(message_id=sent.message_id, date=datetime.now(timezone.utc),
                           chat=Chat(id=sent.chat_id, type="supergroup"),
                           from_user=User(id=bot.id, is_bot=True, first_name="Bot")).as_(bot)
        if name == "CreateForumTopic":
            self.calls.append(method)
            return ForumTopic(message_thread_id=next(self._ids), name=method.name, icon_color=0)
        return await super().make_request(bot, method, timeout)


class Ticks:
    """A monotonic clock that moves only when told (the rate limits' buckets)."""

    def __init__(self, at: float = 1000.0):
        self.at = at

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@dataclass
class WebWorld:
    app: App
    telegram: Bot
    group_session: GroupSession
    store: WebStore
    channel: WebChannel

    async def resident(self, community: Optional[str] = "lutsk", locale: str = "uk") -> "WebResident":
        user_id = await self.channel.new_resident(community, locale)
        await self.channel.start(user_id)
        return WebResident(self, user_id)


def web_world(app: App) -> WebWorld:
    session = GroupSession()
    telegram = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    store = WebStore(app.services.db)
    web = make_web_bot(store, telegram)
    return WebWorld(app, telegram, session, store, WebChannel(store, web, app.dispatcher))


@dataclass
class WebResident:
    world: WebWorld
    user_id: int
    seen: int = 0

    async def news(self) -> list[Shown]:
        """What changed in the chat since the last look."""
        changes = await self.world.store.changes(self.user_id, self.seen)
        if changes:
            self.seen = max(m.version for m in changes)
        return changes

    async def messages(self) -> list[Shown]:
        return [m for m in await self.world.store.changes(self.user_id, 0, limit=10_000) if not m.deleted]

    async def keyboard(self) -> list[str]:
        user = await self.world.store.user(self.user_id)
        return [b["text"] for row in (user.keyboard or {}).get("keyboard", []) for b in row] if user else []

    async def say(self, text: str) -> list[Shown]:
        await self.news()
        await self.world.channel.say(self.user_id, text)
        return await self.news()

    async def tap(self, label: str) -> tuple[Optional[str], list[Shown]]:
        """Press the newest inline button whose label holds `label`; (the pop-up, what changed)."""
        await self.news()
        for message in reversed(await self.messages()):
            for row in (message.markup or {}).get("inline_keyboard", []):
                for button in row:
                    if label in button["text"]:
                        popup = await self.world.channel.press(self.user_id, message.message_id,
                                                               button["callback_data"])
                        return popup, await self.news()
        raise AssertionError(f"no button with {label!r}")


class Browser:
    """One browser (one cookie jar) on the web chat's HTTP server, calling the API as the page does."""

    def __init__(self, server: Any, origin: Optional[str] = None):
        from aiohttp import ClientSession, CookieJar

        self.server = server
        self.origin = origin or str(server.make_url("")).rstrip("/")
        self.http = ClientSession(cookie_jar=CookieJar(unsafe=True))
        self.csrf = ""
        self.challenge = ""
        self.bits = 0
        self.version = 0

    async def close(self) -> None:
        await self.http.close()

    def headers(self, csrf: bool = True) -> dict[str, str]:
        headers = {"Origin": self.origin}
        if csrf and self.csrf:
            headers["X-Chat-CSRF"] = self.csrf
        return headers

    async def post(self, path: str, body: Optional[dict] = None, *, csrf: bool = True,
                   headers: Optional[dict[str, str]] = None) -> tuple[int, dict]:
        async with self.http.post(self.server.make_url(path), json=body or {},
                                  headers=headers if headers is not None else self.headers(csrf)) as response:
            return response.status, await response.json()

    async def hello(self, community: Optional[str] = "lutsk", lang: str = "uk") -> dict:
        status, body = await self.post("/chat/api/hello", {"community": community, "lang": lang})
        assert status == 200, body
        self.csrf, self.challenge, self.bits = body["csrf"], body["challenge"], body["bits"]
        return body

    async def prove(self) -> int:
        from bot.webchat.guard import solve

        status, _ = await self.post("/chat/api/prove", {"nonce": solve(self.challenge, self.bits)})
        return status

    async def poll(self, after: Optional[int] = None) -> dict:
        after = self.version if after is None else after
        async with self.http.get(self.server.make_url(f"/chat/api/poll?after={after}&wait=0")) as response:
            body = await response.json()
        if response.status == 200:
            self.version = max(self.version, body["version"])
        return body

    async def tap(self, label: str) -> tuple[int, dict]:
        messages = (await self.poll(0))["messages"]
        for message in reversed(messages):
            for row in message["buttons"]:
                for button in row:
                    if label in button["text"] and "data" in button:
                        return await self.post("/chat/api/press", {"message_id": message["id"],
                                                                   "data": button["data"]})
        raise AssertionError(f"no button with {label!r}")

    async def upload(self, content: bytes, name: str = "photo.jpg", caption: str = "") -> tuple[int, dict]:
        from aiohttp import FormData

        form = FormData()
        form.add_field("caption", caption)
        form.add_field("file", content, filename=name, content_type="application/octet-stream")
        async with self.http.post(self.server.make_url("/chat/api/upload"), data=form,
                                  headers=self.headers()) as response:
            return response.status, await response.json()


@asynccontextmanager
async def web_chat_of(app: App, telegram: Bot, pow_bits: int = 12) -> AsyncIterator[str]:
    """The web chat of a running bot (its Telegram bot's session split as `python -m bot run` splits it) on a test
    server; yields the page's address. Afterwards the Telegram bot has its own session back."""
    from aiohttp.test_utils import TestServer

    from bot.webchat.http import WebChatServer
    from bot.webchat.session import SplitSession

    store = WebStore(app.services.db)
    channel = WebChannel(store, make_web_bot(store, telegram), app.dispatcher)
    settings = app.settings.model_copy(update={"web_chat_pow_bits": pow_bits})
    server = TestServer(WebChatServer(channel, settings, app.services.served).app())
    await server.start_server()
    try:
        yield str(server.make_url("/chat"))
    finally:
        await server.close()
        if isinstance(telegram.session, SplitSession):
            telegram.session = telegram.session.inner
