"""Every Bot API call that sends a message takes its turn from the process's Limiter first; a call made
while answering an update is tried again when Telegram fails for a while (5xx, a dropped or timed-out
connection, 429), so that a resident's answer survives a short outage of the Bot API.

The first call of an outbox row to a group does not wait for the group's turn: when the group has none
free now (its 20 a minute are used, or someone's answer waits), the call raises `Busy` before anything
is sent and the outbox puts the group's rows off, so one busy group never holds a worker."""
from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    CopyMessages,
    CreateForumTopic,
    ForwardMessage,
    ForwardMessages,
    GetUpdates,
    SendChatAction,
    SendMediaGroup,
)

from bot.delivery.limiter import Limiter, already_paced, outbox_row
from bot.delivery.outbox import Busy, before_call

log = logging.getLogger("bot.sending")
NOT_MESSAGES = (SendChatAction,)
ALSO_MESSAGES = (CopyMessage, CopyMessages, ForwardMessage, ForwardMessages)
OPENS_TOPIC = (CreateForumTopic,)  # a card follows at once: its turn is claimed with the topic
RETRY_FOR = 120.0  # seconds a call made while answering an update keeps being retried (a 429 may last a minute)
CALLBACK_RETRY_FOR = 10.0  # Telegram forgets a button press after about 15 s
FIRST_DELAY, MAX_DELAY = 0.5, 8.0

# False in the outbox, the campaign engine and the housekeeping: they keep their own durable retries.
retry_in_place: contextvars.ContextVar[bool] = contextvars.ContextVar("retry_in_place", default=True)


def attach_once(bot: Any, middleware: BaseRequestMiddleware) -> None:
    """Put `middleware` on the bot's session in place of any earlier one of its kind (a bot may be served
    again, e.g. by a test or after a restart in the same process)."""
    manager = bot.session.middleware
    for existing in list(manager):
        if type(existing) is type(middleware):
            manager.unregister(existing)
    manager(middleware)


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
    def __init__(self, limiter: Limiter, retry_for: float = RETRY_FOR):
        self.limiter = limiter
        self.retry_for = retry_for
        self.retried = 0  # calls that needed another attempt (for the health page and the soak run)

    async def __call__(self, make_request: NextRequestMiddlewareType, bot: Any, method: Any) -> Any:
        retrying = retry_in_place.get() and not isinstance(method, GetUpdates)
        budget = CALLBACK_RETRY_FOR if isinstance(method, AnswerCallbackQuery) else self.retry_for
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        delay = FIRST_DELAY
        attempt = 1
        while True:
            await self._turn(method)
            calling = before_call.get()
            if calling is not None:
                await calling()
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                chat_id = getattr(method, "chat_id", None)
                self.limiter.retry_after(exc.retry_after, chat_id if isinstance(chat_id, int) else None)
                if not retrying or loop.time() + exc.retry_after > deadline:
                    return self._give_up(method, exc)
                wait = float(exc.retry_after)
                reason = "429"
            except (TelegramServerError, TelegramNetworkError) as exc:
                if not retrying or loop.time() + delay > deadline:
                    return self._give_up(method, exc)
                wait, delay = delay, min(delay * 2, MAX_DELAY)
                reason = type(exc).__name__
            except TelegramBadRequest as exc:
                if isinstance(method, AnswerCallbackQuery) and "query is too old" in str(exc):
                    # the press was handled late (after an outage or a restart): only the spinner is gone
                    log.info("AnswerCallbackQuery: the press is too old to answer; handled anyway")
                    return False
                raise
            self.retried += 1
            log.warning("%s attempt %d failed (%s); trying again in %.1f s", type(method).__name__, attempt, reason,
                        wait)
            attempt += 1
            await asyncio.sleep(wait)

    @staticmethod
    def _give_up(method: Any, exc: Exception) -> Any:
        """Out of attempts: the call fails, except the answer to a button press, which only stops the
        button's spinner; the handler goes on with the real work."""
        if isinstance(method, AnswerCallbackQuery) and retry_in_place.get():
            log.warning("AnswerCallbackQuery failed (%s); the press is handled anyway", type(exc).__name__)
            return False
        raise exc

    async def _turn(self, method: Any) -> None:
        count = sends_messages(method)
        chat_id = getattr(method, "chat_id", None)
        chat = chat_id if isinstance(chat_id, int) else None
        paced = already_paced.get()
        row = outbox_row.get()
        if row is not None and not row.begun:
            if chat is not None and chat < 0 and not paced:
                need = count or (1 if isinstance(method, OPENS_TOPIC) else 0)
                wait = self.limiter.claim(chat, need)
                if wait > 0:
                    raise Busy(wait, chat)  # nothing of the row was sent: it is put off, not waited for
                row.claimed[chat] = need
            row.begun = True
        if not count or paced:
            return
        for _ in range(count):
            claimed = row.claimed.get(chat, 0) if row is not None and chat is not None else 0
            if claimed:
                row.claimed[chat] = claimed - 1
            await self.limiter.acquire(chat, chat_turn=not claimed)
