"""Fixtures: a running sandbox, its control client, an aiogram Bot on it and a raw Bot API caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from sandbox import Sandbox, SandboxClient

BOT_TOKEN = "7000000001:AAE-sandbox-test-token-0123456789abcd"
ECHO_TOKEN = "7000000002:AAE-sandbox-echo-token-0123456789abcd"
RawCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sb = await Sandbox(bot_token=BOT_TOKEN).start("127.0.0.1", 0)
    yield sb
    await sb.stop()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url, timeout=5.0) as control:
        yield control


def make_bot(sandbox: Sandbox, token: str = BOT_TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.api_url)))


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    tg = make_bot(sandbox)
    yield tg
    await tg.session.close()


@pytest.fixture
async def raw(sandbox: Sandbox) -> AsyncIterator[RawCall]:
    """``await raw("sendMessage", chat_id=1, text="x")`` posts JSON; ``how`` = json | form | query."""
    async with aiohttp.ClientSession() as http:

        async def call(
            method: str, *, token: str = BOT_TOKEN, how: str = "json", **params: Any
        ) -> tuple[int, dict[str, Any]]:
            url = f"{sandbox.api_url}/bot{token}/{method}"
            if how == "query":
                request = http.get(url, params={k: str(v) for k, v in params.items()})
            elif how == "form":
                request = http.post(url, data={k: str(v) for k, v in params.items()})
            else:
                request = http.post(url, json=params)
            async with request as response:
                return response.status, await response.json()

        yield call


def echo_dispatcher() -> Dispatcher:
    """A tiny bot: /start shows a reply keyboard, "menu" an inline one, anything else is echoed."""
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text="Так"), KeyboardButton(text="Ні")],
                [KeyboardButton(text="Мій номер", request_contact=True)],
            ],
            resize_keyboard=True,
        )
        await message.answer("<b>Вітаю!</b> Оберіть дію.", parse_mode="HTML", reply_markup=keyboard)

    @dp.message(F.text == "menu")
    async def menu(message: Message) -> None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Кнопка А", callback_data="pick:a"),
                    InlineKeyboardButton(text="Кнопка Б", callback_data="pick:b"),
                ]
            ]
        )
        await message.answer("Меню", reply_markup=markup)

    @dp.callback_query(F.data.startswith("pick:"))
    async def pick(query: CallbackQuery) -> None:
        choice = (query.data or "").split(":", 1)[1].upper()
        await query.answer(f"Обрано {choice}")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"Ви обрали {choice}")

    @dp.message(F.contact)
    async def contact(message: Message) -> None:
        assert message.contact is not None
        await message.answer(f"Номер: {message.contact.phone_number}")

    @dp.message(F.photo)
    async def photo(message: Message) -> None:
        largest = (message.photo or [])[-1]
        await message.answer(f"Фото {largest.width}x{largest.height}")

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return dp


@pytest.fixture
async def echo_bot(sandbox: Sandbox, client: SandboxClient) -> AsyncIterator[Bot]:
    """The echo bot polling the sandbox (as the default bot) until the test ends."""
    tg = make_bot(sandbox)
    dp = echo_dispatcher()
    task = asyncio.create_task(dp.start_polling(tg, handle_signals=False, polling_timeout=5))
    await client.wait_bot_ready()
    yield tg
    await dp.stop_polling()
    await task
