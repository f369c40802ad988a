"""The real bot polling the local Bot API sandbox over HTTP, in the test's event loop (tests/e2e/).

The fixtures are in tests/e2e/conftest.py: one sandbox and one bot serve the whole package (starting the bot
loads the catalogue and builds the search index, which is the slow part); every test gets residents of its own.
After each test the sandbox's Bot API call log is read: any call the sandbox answered with an error fails the
run, with the method, the gist of its parameters and Telegram's description.

Every test module here runs in the package's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="package")``.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest
from aiogram import Bot

from benchmarks.steps import ENV_VARS, LANGUAGE_BUTTONS
from bot.app import App, build_app, make_bot, run_polling
from bot.config import Settings, load_settings
from sandbox import Sandbox, SandboxClient
from sandbox.client import Message, inline_buttons, message_text
from sandbox.person import Person
from tests.support.clock import Clock, fixed

BOT_TOKEN = "7000000001:e2e-sandbox-token-not-for-telegram"
ADMIN_ID = 900001  # the community's administrator in these tests
BOT_ID = 7000000001
LOOP = "package"
COMMUNITIES = {
    "uk": {
        "druzhkivka": "Дружківська громада",
        "kakhovka": "Каховська громада",
        "lutsk": "Луцька громада",
        "pervomaiskyi": "Первомайська громада",
        "volodymyr": "Володимирська громада",
    },
    "en": {
        "druzhkivka": "Druzhkivka community",
        "kakhovka": "Kakhovka community",
        "lutsk": "Lutsk community",
        "pervomaiskyi": "Pervomaiskyi community",
        "volodymyr": "Volodymyr community",
    },
}
# the main keyboard: three rows, the less used items under «☰ Ще» (MORE_UK)
MENU_UK = ["🧭 Знайти допомогу", "🔎 Пошук", "📝 Попросити допомогу", "📂 Мої звернення", "🆘 Екстрена допомога",
           "☰ Ще"]
MENU_EN = ["🧭 Find help", "🔎 Search", "📝 Ask for help", "📂 My requests", "🆘 Emergency help", "☰ More"]
MORE_UK = ["💬 Онлайн-консультація", "🙋 Повідомити про людину в біді", "⚙️ Налаштування", "❓ Як користуватися",
           "⬅️ Назад"]


def e2e_settings(folder: Path, api_url: str, database: Path | None = None, **variables: str) -> Settings:
    """Settings as the bot reads them, with nothing from the developer's shell or .env (plus `variables`)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ENV_VARS:
            patch.delenv(name, raising=False)
        patch.chdir(folder)
        return load_settings(
            DATABASE_PATH=str(database or folder / "bot.sqlite3"),
            BOT_TOKEN=BOT_TOKEN,
            TELEGRAM_API_URL=api_url,
            ADMIN_IDS=str(ADMIN_ID),
            **variables,
        )


@dataclass
class RunningBot:
    """The application and its aiogram Bot polling the sandbox in a task."""

    app: App
    bot: Bot
    stop_event: asyncio.Event
    task: asyncio.Task[None]

    @classmethod
    async def start(cls, settings: Settings, sandbox: Sandbox, line_clock: Optional[Clock] = fixed()) -> RunningBot:
        """`line_clock`: the consultation line's clock (its hours, days and timers); by default a fixed moment in
        its hours, so that no test does one thing by day and another by night. None leaves the wall clock."""
        app = await build_app(settings)
        if line_clock is not None:
            app.services.consult.clock = line_clock
        bot = make_bot(settings, api_url=sandbox.api_url)
        stop_event = asyncio.Event()
        task = asyncio.create_task(run_polling(app, bot, stop=stop_event))
        return cls(app, bot, stop_event, task)

    async def stop(self) -> None:
        """Stop polling, close the bot's HTTP session and the application (database)."""
        self.stop_event.set()
        try:
            await asyncio.wait_for(self.task, 15)
        finally:
            await self.bot.session.close()
            await self.app.close()


async def wait_confirmed(sandbox: Sandbox, bot_id: int = BOT_ID, timeout: float = 5.0) -> None:
    """Wait until the bot has confirmed (getUpdates offset) every update queued for it."""
    record = sandbox.core.state.bots[bot_id]
    if not await sandbox.core.wait_until(lambda: not record.updates, timeout):
        raise AssertionError(f"the bot left {len(record.updates)} update(s) unconfirmed")


def summarise(call: dict[str, Any]) -> str:
    """One line about a failed Bot API call: method, the gist of its parameters, the description."""
    params = call.get("params") or {}
    gist = []
    for key in ("chat_id", "message_id", "callback_query_id", "parse_mode", "text", "caption", "reply_markup"):
        if key in params:
            value = str(params[key]).replace("\n", "⏎")
            gist.append(f"{key}={value[:90]!r}" + ("…" if len(value) > 90 else ""))
    return f"#{call['seq']} {call['method']}({', '.join(gist)}) -> {call.get('error_code')} {call.get('description')}"


async def failed_calls(client: SandboxClient, since: int) -> list[dict[str, Any]]:
    return [call for call in await client.calls(since=since) if not call["ok"]]


async def last_call_seq(client: SandboxClient) -> int:
    return int((await client._get("/sandbox/calls", since=1 << 62))["last_seq"])


async def settle_calls(client: SandboxClient, since: int, quiet: float = 0.05) -> None:
    """Let the bot finish what it is doing: wait until no new call is logged for ``quiet`` s."""
    seq = since
    for _ in range(100):
        fresh = await client.calls(since=seq, wait=quiet)
        if not fresh:
            return
        seq = fresh[-1]["seq"]


@dataclass
class Allowance:
    """A refused Bot API call a test expects (e.g. "bot was kicked" after it removes the bot from a group)."""

    description: str
    chat_id: int | None = None

    def covers(self, call: dict[str, Any]) -> bool:
        if self.description not in str(call.get("description") or ""):
            return False
        return self.chat_id is None or str((call.get("params") or {}).get("chat_id")) == str(self.chat_id)


@dataclass
class World:
    """What a test works with: the sandbox, its control client, the running bot."""

    sandbox: Sandbox
    client: SandboxClient
    running: RunningBot
    allowed: list[Allowance] = field(default_factory=list)
    reported: set[int] = field(default_factory=set)  # seqs of refused calls a test has already failed on

    def allow_errors(self, description: str, chat_id: int | None = None) -> None:
        """Tolerate refused calls whose description contains ``description`` (to ``chat_id`` only, if given)
        from now until the end of the run: the bot's background work may retry them later."""
        self.allowed.append(Allowance(description, chat_id))

    def unexpected(self, calls: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [call for call in calls
                if not call["ok"] and not call.get("fault") and not any(a.covers(call) for a in self.allowed)]

    async def person(self, name: str = "Олена", language: str = "uk") -> Person:
        user = await self.client.create_user(name, language_code=language)
        return Person(self.client, user)

    async def resident(self, community: str = "lutsk", language: str = "uk", name: str = "Олена") -> Person:
        """A resident who has pressed /start and chosen the language and the community."""
        person = await self.person(name, language)
        await person.say("/start")
        await person.tap(LANGUAGE_BUTTONS[language], new=1)
        await person.tap(COMMUNITIES[language][community], new=2)  # the menu and the offer of news
        return person

    @property
    def services(self) -> Any:
        return self.running.app.services


@asynccontextmanager
async def serving_world(folder: Path, prepare: Optional[Callable[[SandboxClient, dict[str, Any]],
                                                                 Awaitable[dict[str, str]]]] = None,
                        line_clock: Optional[Clock] = fixed()) -> AsyncIterator[World]:
    """A sandbox and the bot polling it with a database in `folder`; the community's administrator has
    opened the bot once, as Telegram requires before it can write. `prepare(client, admin)` may make chats
    first and return more settings; `line_clock` as in `RunningBot.start`. Any Bot API call refused during the
    run (and not allowed) fails it."""
    sandbox = await Sandbox(bot_token=BOT_TOKEN, flood_control=False).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=5.0)
    running = None
    try:
        admin = await client.create_user("Адміністраторка", user_id=ADMIN_ID)
        variables = await prepare(client, admin) if prepare is not None else {}
        running = await RunningBot.start(e2e_settings(folder, sandbox.api_url, **variables), sandbox, line_clock)
        await client.wait_bot_ready(timeout=10)
        sent = await client.send_text(admin, "/start")
        await client.wait_bot_messages(ADMIN_ID, sent["message_id"], 1, timeout=10)
        world = World(sandbox, client, running)
        since = await last_call_seq(client)
        yield world
        await settle_calls(client, since)
        failed = [c for c in world.unexpected(await client.calls()) if c["seq"] not in world.reported]
    finally:
        if running is not None:
            await running.stop()
        await client.close()
        await sandbox.stop()
    if failed:
        pytest.fail("Bot API calls answered with an error during the e2e run:\n" + "\n".join(map(summarise, failed)))


def texts(messages: Iterable[Message]) -> list[str]:
    return [message_text(m) for m in messages]


def buttons(message: Message | None) -> list[str]:
    return [b["text"] for b in inline_buttons(message)]


# ----- every log record of the package, for the scan in test_zz_logs.py --------------------------------------

LOG_RECORDS: list[tuple[str, str, str]] = []  # (logger, level, the record as it would be printed)
SANDBOXES: list[Sandbox] = []  # every sandbox started in the package: what people typed is read from them


class LogRecords(logging.Handler):
    """The log records of a part of a test (e.g. the failures handlers logged), as they are."""

    def __init__(self, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class KeepRecords(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string: keep what is there
            text = f"{record.msg!r} % {record.args!r}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + record.stack_info
        LOG_RECORDS.append((record.name, record.levelname, text))
