"""A minimal aiogram 3 bot, the baseline of benchmarks/throughput.py.

Every text message is answered with the same text; every callback query with answerCallbackQuery
and a message. It reads BOT_TOKEN and TELEGRAM_API_URL from the environment like the real bot.

Like the real bot (bot/runtime/speedups.py) it keeps aiogram's parametrised response models alive:
pydantic caches `Response[<returned type>]` only weakly, so without a reference the class is built again
for many answers under load. Without this the baseline carried a cost the real bot does not, and the ratio
of the two compared that handicap rather than the work each does.

    BOT_TOKEN=7000000001:... TELEGRAM_API_URL=http://127.0.0.1:8081 python benchmarks/echo_bot.py
"""
from __future__ import annotations

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher, F, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import Response
from aiogram.types import CallbackQuery, Message

dispatcher = Dispatcher()
# every Bot API method this bot calls; one reference each keeps its response model built once
USED = (methods.GetUpdates, methods.GetMe, methods.DeleteWebhook, methods.SendMessage, methods.AnswerCallbackQuery)
KEPT = [Response[method.__returning__] for method in USED]  # type: ignore[index]


@dispatcher.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text or "")


@dispatcher.callback_query()
async def pressed(query: CallbackQuery) -> None:
    await query.answer()
    assert query.bot is not None
    await query.bot.send_message(query.from_user.id, f"pressed: {query.data}")


async def main() -> None:
    token = os.environ["BOT_TOKEN"]
    url = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    await dispatcher.start_polling(bot, polling_timeout=10)  # stops on SIGINT or SIGTERM


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    asyncio.run(main())
