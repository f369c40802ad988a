"""What every kind of outbox row needs to reach Telegram: the Bot API's errors as the outbox's, translations
outside handlers, the group a row is being sent to, files, edits, and a card posted again when staff deleted it
(or its topic) by hand."""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Iterator, Optional

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.delivery.kinds import Kind
from bot.delivery.outbox import (
    Defer,
    GroupUnreachable,
    Item,
    Permanent,
    RecipientBlocked,
    RetryAfter,
    Transient,
    waiting_payloads,
)
from bot.groups.models import Group
from bot.requests.models import Attachment
from bot.services import Services

log = logging.getLogger("bot.delivery")
GONE = ("chat not found", "bot was kicked", "not enough rights", "have no rights", "group chat was upgraded",
        "bot is not a member", "chat_write_forbidden")
# Lost inside a group that is still there: the request's topic (deleted by hand), or its card.
TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_id_invalid")
# What `Courier.post_lost_card` did: posted the card again, or found it where it was (its topic opened again).
POSTED, REOPENED = "posted", "reopened"
CARD_GONE = ("message to edit not found", "message to be replied not found", "replied message not found")
_CHAT: ContextVar[Optional[int]] = ContextVar("delivery_chat", default=None)


def lost_in_group(exc: TelegramBadRequest) -> Optional[str]:
    """What of a request's or a consultation's place in its group is gone: "topic", "closed" (a topic closed
    by hand), "card", or None when the error is about something else."""
    message = str(exc).lower()
    if any(word in message for word in TOPIC_GONE):
        return "topic"
    if "topic_closed" in message:
        return "closed"
    if any(word in message for word in CARD_GONE):
        return "card"
    return None


@contextmanager
def speaking(i18n: I18n, locale: str) -> Iterator[None]:
    """Translations outside handlers too: the outbox and the campaign engine run on their own."""
    with i18n.context(), i18n.use_locale(locale):
        yield


@contextmanager
def telegram_errors(private: bool, chat: Callable[[], Optional[int]] = lambda: None) -> Iterator[None]:
    """Turn the Bot API's errors into the outbox's: what to retry, what to hold, what to drop."""
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RetryAfter(exc.retry_after) from exc
    except TelegramForbiddenError as exc:
        if private:
            raise RecipientBlocked(str(exc)) from exc
        raise GroupUnreachable(chat() or 0, str(exc)) from exc
    except TelegramBadRequest as exc:
        message = str(exc).lower()
        if not private and any(word in message for word in GONE):
            raise GroupUnreachable(chat() or 0, str(exc)) from exc
        if not private and lost_in_group(exc):
            raise Transient(str(exc)) from exc  # posted again and lost again at once: try later, never drop
        if private and ("chat not found" in message or "user is deactivated" in message):
            raise RecipientBlocked(str(exc)) from exc
        raise Permanent(str(exc)) from exc
    except (TelegramNetworkError, TelegramServerError, TelegramNotFound) as exc:
        raise Transient(str(exc)) from exc


class Courier:
    """The bot, the services and the translations, shared by the modules that deliver each kind of row."""

    def __init__(self, bot: Bot, services: Services, i18n: I18n):
        self.bot = bot
        self.services = services
        self.i18n = i18n
        self._locks: defaultdict[tuple[str, int], asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def chat(self) -> Optional[int]:
        """The group the current row is sent to, for the error's sake (each conversation of the outbox is a task
        of its own)."""
        return _CHAT.get()

    @chat.setter
    def chat(self, chat_id: Optional[int]) -> None:
        _CHAT.set(chat_id)

    def lock(self, kind: str, subject: int) -> asyncio.Lock:
        """One card posted at a time per request ("r") or consultation ("c"), so that it is never posted twice."""
        return self._locks[(kind, subject)]

    def speaking(self, locale: str) -> Iterator[None]:
        return speaking(self.i18n, locale)

    @property
    def group_locale(self) -> str:
        """The language of staff groups and administrators."""
        return self.services.settings.default_locale

    async def resident_locale(self, resident_id: int) -> str:
        resident = await self.services.residents.get(resident_id)
        return resident.locale if resident and resident.locale else self.services.settings.default_locale

    async def edit_quietly(self, text: str, chat_id: int, message_id: int,
                           markup: Optional[InlineKeyboardMarkup], *, missing_ok: bool = False) -> None:
        """Edit a card; an unchanged card is not an error. A deleted one is, unless `missing_ok`: the caller
        posts it again (see `TelegramSender.deliver`)."""
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" in str(exc) or (missing_ok and "message to edit not found" in str(exc)):
                return
            raise

    async def mark_moved(self, text: str, chat_id: int, message_id: int) -> None:
        """The card left behind in the old group: a courtesy, never worth holding anything for."""
        try:
            await self.edit_quietly(text, chat_id, message_id, None, missing_ok=True)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("the card left in group %s was not marked as passed on: %s", chat_id, exc)

    async def regroup_waits(self, item: Item) -> None:
        """A newly bound group gets the waiting cards first, in order; everything else for it waits for that."""
        if item.kind != Kind.REGROUP and await self.services.groups.regroup_waiting(item.target):
            raise Defer(1.0, "the cards for the new group go first")

    async def pending_relays(self, kind: Kind, subject_key: str, subject: int) -> list[dict[str, Any]]:
        return await waiting_payloads(self.services.db, kind, subject_key, subject)

    async def send_files(self, chat_id: int, files: list[Attachment], thread_id: Optional[int] = None,
                         reply_to: Optional[int] = None, caption: Optional[str] = None) -> list[int]:
        """Send the files one by one; return the ids of the messages they became."""
        sent = []
        for index, item in enumerate(files):
            extra: dict[str, Any] = {"message_thread_id": thread_id}
            if reply_to:
                extra["reply_to_message_id"] = reply_to
            if caption and index == 0:
                extra["caption"] = caption
            if item.kind == "photo":
                message = await self.bot.send_photo(chat_id, item.file_id, **extra)
            elif item.kind == "voice":
                message = await self.bot.send_voice(chat_id, item.file_id, **extra)
            else:
                message = await self.bot.send_document(chat_id, item.file_id, **extra)
            sent.append(message.message_id)
        return sent

    # ----- a card deleted by hand -------------------------------------------------------------------------------

    async def post_lost_card(self, kind: str, subject: Any, reread: Callable[[int], Awaitable[Any]], lost: str,
                             post: Callable[[Group, str, Optional[int]], Awaitable[None]]) -> Optional[str]:
        """Post again the card of a request ("r") or a consultation ("c") that was deleted, or whose topic was
        deleted or closed, in its group; `post(group, why, thread_id)` posts the card. POSTED when this call
        posted it, REOPENED when the card is where it was (its topic opened again, or another row posted it
        meanwhile), None when the subject is no longer in the institution's group."""
        services = self.services
        group = await services.groups.group_for(subject.community, subject.institution_id)
        if group is None or subject.group_chat_id != group.chat_id:
            return None
        self.chat = group.chat_id
        async with self.lock(kind, subject.id):
            fresh = await reread(subject.id)
            if fresh is None or (fresh.group_chat_id, fresh.thread_id, fresh.card_message_id) != (
                    subject.group_chat_id, subject.thread_id, subject.card_message_id):
                return REOPENED  # another row has posted it again meanwhile
            thread_id = subject.thread_id if group.is_forum else None
            if lost == "closed" and thread_id:
                if await self.reopen(group.chat_id, thread_id):
                    return REOPENED
                lost = "topic"
            try:
                await post(group, lost, None if lost == "topic" else thread_id)
            except TelegramBadRequest as exc:
                if lost_in_group(exc) != "topic" or lost == "topic":
                    raise
                lost = "topic"  # the card was gone because its whole topic was
                await post(group, lost, None)
        log.warning("%s %s: its %s was deleted in group %s; posted again",
                    "request" if kind == "r" else "consultation", subject.id, lost, group.chat_id)
        await services.groups.notify_lost_card(
            subject.id if kind == "r" else None, subject.id if kind == "c" else None, group.chat_id, lost,
            subject.thread_id if lost == "topic" else subject.card_message_id)
        services.wake_outbox()
        return POSTED

    async def reopen(self, chat_id: int, thread_id: int) -> bool:
        """Open again a topic that staff closed by hand, so that a resident's message still reaches it."""
        try:
            await self.bot.reopen_forum_topic(chat_id, thread_id)
        except TelegramBadRequest as exc:
            return "not_modified" in str(exc).lower()
        return True
