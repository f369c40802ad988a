"""Every Bot API call that sends a message takes its turn from the process's Limiter first."""
from __future__ import annotations

from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import CopyMessage, CopyMessages, ForwardMessage, ForwardMessages, SendChatAction, SendMediaGroup

from bot.delivery.limiter import Limiter, already_paced

NOT_MESSAGES = (SendChatAction,)
ALSO_MESSAGES = (CopyMessage, CopyMessages, ForwardMessage, ForwardMessages)


def sends_messages(method: Any) -> int:
    """How many messages a call puts into a chat (0 for everything else)."""
    if isinstance(method, NOT_MESSAGES):
        return 0
    if isinstance(method, SendMediaGroup):
        return len(method.media)
    if isinstance(method, ALSO_MESSAGES) or type(method).__name__.startswith("Send"):
        return 1
    return 0


class LimiterMiddleware(BaseRequestMiddleware):
    def __init__(self, limiter: Limiter):
        self.limiter = limiter

    async def __call__(self, make_request: NextRequestMiddlewareType, bot: Any, method: Any) -> Any:
        count = sends_messages(method)
        if count and not already_paced.get():
            chat_id = getattr(method, "chat_id", None)
            chat = chat_id if isinstance(chat_id, int) else None
            for _ in range(count):
                await self.limiter.acquire(chat)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            self.limiter.retry_after(exc.retry_after)
            raise
