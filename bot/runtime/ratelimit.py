"""A limit on how fast one person's updates are taken, so one person's flood cannot slow the bot for others.

Each person has a token bucket: `burst` updates may come at once, and the bucket refills at `per_minute`.
People write in bursts (an album, a quick run of taps, several short messages in a consultation), so the
burst is generous; the photos of one album count once. A person who empties the bucket is paused for
`pause` seconds: they get one polite note (a button's pop-up when the update was a button), the bot logs
one line with their id, and everything else they send meanwhile is dropped here, before any database work
and without any Bot API call. After the pause they start again with a full bucket. Staff in groups work
fast and get a limit of their own, and never a note in the group.
"""
from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Awaitable, Callable, Hashable, Optional

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Chat, TelegramObject, Update, User
from aiogram.utils.i18n import I18n, ngettext

from bot.config import LOCALES, Settings

log = logging.getLogger("bot.ratelimit")
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

ALBUM_MAX = 10  # Telegram's largest album; beyond that the same media_group_id is charged again
ALBUMS_KEPT = 4  # recent albums remembered per person
MAX_PEOPLE = 200_000  # people remembered at once; the longest idle are forgotten first


class Verdict(Enum):
    PASS = "pass"
    PAUSED = "paused"  # just went over the limit: tell the person once
    DROP = "drop"  # still paused: ignore quietly


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int

    @property
    def on(self) -> bool:
        return self.per_minute > 0 and self.burst > 0

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


@dataclass
class Bucket:
    tokens: float
    at: float  # when `tokens` was last brought up to date
    paused_until: float = 0.0
    albums: dict[str, int] = field(default_factory=dict)  # media_group_id -> photos of it taken for free


class RateLimiter:
    """Token buckets per key, with the pause; memory bounded by forgetting idle people."""

    def __init__(self, resident: Limit, staff: Limit, pause: float,
                 clock: Callable[[], float] = time.monotonic, max_people: int = MAX_PEOPLE):
        self.resident, self.staff, self.pause = resident, staff, pause
        self.clock = clock
        self.max_people = max_people
        self.buckets: OrderedDict[Hashable, Bucket] = OrderedDict()
        # after this long without updates a bucket is full again and not paused: it can be forgotten
        self.idle_after = max([pause] + [lim.burst / lim.per_second for lim in (resident, staff) if lim.on])

    def check(self, key: Hashable, limit: Limit, album: Optional[str] = None) -> Verdict:
        now = self.clock()
        self._forget_idle(now)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(tokens=float(limit.burst), at=now)
        else:
            self.buckets.move_to_end(key)
        if bucket.paused_until:
            if now < bucket.paused_until:
                return Verdict.DROP
            bucket.paused_until, bucket.tokens, bucket.at = 0.0, float(limit.burst), now  # a fresh start
        bucket.tokens = min(float(limit.burst), bucket.tokens + (now - bucket.at) * limit.per_second)
        bucket.at = now
        if album is not None:
            taken = bucket.albums.get(album)
            if taken is not None and taken < ALBUM_MAX:
                bucket.albums[album] = taken + 1
                return Verdict.PASS  # the rest of an album the first photo paid for
        if bucket.tokens < 1.0:
            bucket.paused_until = now + self.pause
            return Verdict.PAUSED
        bucket.tokens -= 1.0
        if album is not None:
            bucket.albums[album] = 1
            while len(bucket.albums) > ALBUMS_KEPT:
                del bucket.albums[next(iter(bucket.albums))]
        return Verdict.PASS

    def _forget_idle(self, now: float) -> None:
        buckets = self.buckets
        while buckets:
            key, oldest = next(iter(buckets.items()))
            if len(buckets) <= self.max_people and (now - oldest.at < self.idle_after or now < oldest.paused_until):
                return
            del buckets[key]


def limiter_of(settings: Settings) -> Optional[RateLimiter]:
    resident = Limit(settings.rate_limit_per_minute, settings.rate_limit_burst)
    staff = Limit(settings.rate_limit_staff_per_minute, settings.rate_limit_staff_burst)
    if not resident.on and not staff.on:
        return None
    return RateLimiter(resident, staff, settings.rate_limit_pause)


def who(update: Update) -> tuple[Optional[User], Optional[Chat], Optional[str]]:
    """The sender, the chat and the album of the updates that are limited (others: no sender)."""
    message = update.message or update.edited_message
    if message is not None:
        return message.from_user, message.chat, message.media_group_id if update.message is not None else None
    query = update.callback_query
    if query is not None:
        return query.from_user, query.message.chat if query.message is not None else None, None
    return None, None, None


class RateLimitMiddleware(BaseMiddleware):
    """An outer middleware on updates; put it before anything that reads the database."""

    def __init__(self, limiter: RateLimiter, i18n: I18n, default_locale: str):
        self.limiter = limiter
        self.i18n = i18n
        self.default_locale = default_locale

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user, chat, album = who(event)
        if user is None or user.is_bot:
            return await handler(event, data)
        in_group = chat is not None and chat.type != "private"
        services = data.get("services")
        staff = in_group or (services is not None and services.is_admin(user.id))
        limit = self.limiter.staff if staff else self.limiter.resident
        if not limit.on:
            return await handler(event, data)
        verdict = self.limiter.check((user.id, staff), limit, album)
        if verdict is Verdict.PASS:
            return await handler(event, data)
        if verdict is Verdict.PAUSED:
            log.warning("rate limit: user %d paused for %.0f s", user.id, self.limiter.pause)
            try:
                await self._tell(event, data, user, in_group)
            except Exception as exc:  # a note that could not go out changes nothing
                log.warning("rate limit: could not tell user %d (%s)", user.id, type(exc).__name__)
        return UNHANDLED

    async def _tell(self, update: Update, data: dict[str, Any], user: User, in_group: bool) -> None:
        """One note per pause: a pop-up for a button; a message in a private chat; nothing in a group."""
        locale = await self._locale(data, user, in_group)
        minutes = max(1, math.ceil(self.limiter.pause / 60))
        with self.i18n.context(), self.i18n.use_locale(locale):
            if update.callback_query is not None:
                alert = ngettext("Too many taps at once. Please wait {n} minute and try again.",
                                 "Too many taps at once. Please wait {n} minutes and try again.", minutes)
                await update.callback_query.answer(alert.format(n=minutes), show_alert=True)
                return
            if in_group:
                return
            text = ngettext(
                "You are sending messages very fast, so I am taking a short break. Please wait {n} minute. "
                "I have not read your last messages: after the break, please send what matters again.",
                "You are sending messages very fast, so I am taking a short break. Please wait {n} minutes. "
                "I have not read your last messages: after the break, please send what matters again.",
                minutes,
            ).format(n=minutes)
            bot = data["bot"]
            chat_id = data["event_chat"].id if data.get("event_chat") is not None else user.id
            await bot.send_message(chat_id, text)

    async def _locale(self, data: dict[str, Any], user: User, in_group: bool) -> str:
        if in_group:
            return self.default_locale  # as everything the bot says in staff groups
        services = data.get("services")
        if services is not None:
            resident = await services.residents.get(user.id)  # one read a pause at most (and usually kept)
            if resident is not None and resident.locale in LOCALES:
                return resident.locale
        code = (user.language_code or "").split("-")[0].lower()
        return code if code in LOCALES else self.default_locale



def installed(dispatcher: Dispatcher) -> Optional[RateLimiter]:
    """The limiter a dispatcher's updates go through, if any."""
    for middleware in dispatcher.update.outer_middleware:
        if isinstance(middleware, RateLimitMiddleware):
            return middleware.limiter
    return None
