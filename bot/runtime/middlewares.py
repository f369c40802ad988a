"""Cross-cutting work on every update: an operator's log line, the resident's context, the language."""
from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable, Optional

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.config import LOCALES
from bot.runtime.activity import Activity

log = logging.getLogger("bot.updates")
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def update_kind(update: Update) -> str:
    """The update's type plus a coarse, non-personal detail (a command name or 'text')."""
    try:
        kind = update.event_type
    except UpdateTypeLookupError:  # a kind of update newer than this aiogram: nothing handles it
        return "unknown"
    message = update.message
    if message is not None:
        where = "" if message.chat.type == "private" else "@group"  # staff groups apart from residents' chats
        if message.text and message.text.startswith("/"):
            return f"message:{message.text.split()[0].split('@')[0][:32]}{where}"
        return f"message:{getattr(message.content_type, 'value', message.content_type)}{where}"
    if update.callback_query is not None and update.callback_query.data:
        return f"callback:{update.callback_query.data.split(':')[0][:16]}"
    return kind


class UpdateLogMiddleware(BaseMiddleware):
    """One line per handled update: id, type, duration, outcome. Never texts, phones or names. Keeps `activity`
    (what `/healthz` shows, and what a graceful stop waits for) up to date."""

    def __init__(self, activity: Optional[Activity] = None):
        self.activity = activity

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        started = time.perf_counter()
        outcome = "ok"
        activity = self.activity
        if activity is not None:
            activity.begin()
        try:
            result = await handler(event, data)
            if result is UNHANDLED:
                outcome = "unhandled"
            return result
        except Exception as exc:
            outcome = f"error:{type(exc).__name__}"
            raise
        finally:
            if activity is not None:
                activity.end()
            log.info(
                "update=%s type=%s ms=%.1f outcome=%s",
                event.update_id,
                update_kind(event),
                (time.perf_counter() - started) * 1000,
                outcome,
            )


class ResidentMiddleware(BaseMiddleware):
    """Put the resident's stored record into handler data as `resident`."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: Optional[User] = data.get("event_from_user")
        services = data["services"]
        data["resident"] = await services.residents.get(user.id) if user else None
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """The resident's chosen language; before a choice, Telegram's language when we speak it. In a group (staff),
    the answers to a person's command or button press follow their Telegram client's language when we speak it;
    what is posted for the whole group (the cards, posted by the outbox) stays in the deployment's language."""

    def __init__(self, i18n: I18n, default_locale: str):
        super().__init__(i18n)
        self.default_locale = default_locale

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        chat = data.get("event_chat")
        user: Optional[User] = data.get("event_from_user")
        if chat is not None and chat.type != "private":
            if user is None or user.is_bot:
                return self.default_locale
            return telegram_locale(user, self.default_locale)  # a staff member's own client language
        resident = data.get("resident")
        if resident is not None and resident.locale in LOCALES:
            return resident.locale
        return telegram_locale(user, self.default_locale)


def telegram_locale(user: Optional[User], default: str) -> str:
    code = (user.language_code or "").split("-")[0].lower() if user else ""
    return code if code in LOCALES else default
