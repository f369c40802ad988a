"""The sandbox's own tests (tests/sandbox/): the tokens of the bots on it, an aiogram Bot talking to it, a raw Bot
API caller's type, and a tiny echo bot."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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

from sandbox import Sandbox

BOT_TOKEN = "7000000001:AAE-sandbox-test-token-0123456789abcd"
ECHO_TOKEN = "7000000002:AAE-sandbox-echo-token-0123456789abcd"
RawCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


def make_bot(sandbox: Sandbox, token: str = BOT_TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.api_url)))


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
