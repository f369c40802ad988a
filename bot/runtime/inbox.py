"""A durable inbox for long polling, so that kill -9 loses no update.

Telegram forgets an update as soon as the next getUpdates passes a higher offset, and aiogram asks
for the next batch while the previous one is still being handled. So each batch is written to the
`inbox` table before getUpdates returns it (before it can be confirmed), and each row is removed
when its update has been handled, however that ended. After a restart the rows left behind are
handled first. Writes that must not happen twice (a request, an answer, a consultation message)
already check the update id (`processed_updates`), so an update handled again is safe.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import GetUpdates
from aiogram.types import TelegramObject, Update

from bot.runtime.sending import attach_once
from bot.storage.db import Database, storage_fault, utcnow

log = logging.getLogger("bot.inbox")
# An update in hand when the process died this many times is set aside: one that kills the process itself
# would otherwise do it for ever. Restarts for other reasons (a deployment, a crash elsewhere, an update waiting
# for Telegram's flood limit) also count, so the number is generous.
MAX_ATTEMPTS = 10
CHUNK = 500  # ids in one DELETE (an older SQLite takes up to 999 parameters)


class KeepUpdates(BaseRequestMiddleware):
    """Store every batch getUpdates returns before aiogram sees it: each update's JSON as Telegram sent it when the
    session kept it (bot/runtime/polling.py), otherwise the model written back with Telegram's field names."""

    def __init__(self, db: Database):
        self.db = db

    async def __call__(self, make_request: NextRequestMiddlewareType, bot: Any, method: Any) -> Any:
        result = await make_request(bot, method)
        if isinstance(method, GetUpdates):
            take = getattr(getattr(bot, "session", None), "take_raw_updates", None)
            raw: dict[int, str] = take() if take is not None else {}
            if result:
                await keep(self.db, [(u.update_id, raw.get(u.update_id)
                                      or u.model_dump_json(exclude_none=True, exclude_unset=True, by_alias=True))
                                     for u in result])
        return result


async def keep(db: Database, updates: list[tuple[int, str]]) -> None:
    """Store updates (id, JSON) before Telegram is told they arrived."""
    now = utcnow()
    try:
        async with db.transaction() as conn:
            for update_id, payload in updates:
                await conn.execute("INSERT OR IGNORE INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)",
                                   (update_id, payload, now))
    except Exception as exc:
        fault = storage_fault(exc)
        if fault is None:
            raise
        # The database is locked or full: handle the batch anyway (its handlers tell people to try again)
        # rather than stop taking updates until it recovers; only kill -9 could lose it now.
        log.warning("inbox: a batch of %d update(s) not kept (%s); handled without a copy", len(updates), fault)


class ForgetHandled(BaseMiddleware):
    """The outermost update middleware: the row goes once the update has been handled (or has failed).

    Updates that finish in the same turn of the event loop are removed together, in one transaction: the first
    lets the loop go round once, the others that finish meanwhile join it, and each returns once its row is
    gone, as when every update removed its own (one transaction each was about 2.5 % of the bot's CPU under
    load). Nothing is kept longer than that turn, so a kill -9 replays no more than before."""

    def __init__(self, db: Database):
        self.db = db
        self._gathering: tuple[list[int], asyncio.Future[None]] | None = None

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        finally:
            assert isinstance(event, Update)
            await self._forget(event.update_id)

    async def _forget(self, update_id: int) -> None:
        if self._gathering is not None:
            ids, gone = self._gathering
            ids.append(update_id)
            await asyncio.shield(gone)
            return
        ids, gone = [update_id], asyncio.get_running_loop().create_future()
        self._gathering = (ids, gone)
        try:
            await asyncio.sleep(0)  # the updates that finish in this turn of the loop join
        finally:
            self._gathering = None
            try:
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start:start + CHUNK]
                    await self.db.execute(f"DELETE FROM inbox WHERE update_id IN ({','.join('?' * len(chunk))})",
                                          chunk)
            except Exception as exc:  # the rows are handled again after a restart: safe, only slower
                log.warning("inbox: could not remove %d update(s): %s", len(ids), type(exc).__name__)
            finally:
                gone.set_result(None)


def attach(bot: Bot, db: Database) -> None:
    """Keep getUpdates' batches in `db` (once per bot session, however often it is called)."""
    attach_once(bot, KeepUpdates(db))


async def replay(bot: Bot, dispatcher: Dispatcher, db: Database) -> int:
    """Handle what a previous run took from Telegram but did not finish, side by side as polling does;
    return how many were handled."""
    rows = await db.fetchall("SELECT update_id, payload, attempts FROM inbox ORDER BY update_id")
    updates: list[Update] = []
    for row in rows:
        if row["attempts"] >= MAX_ATTEMPTS:
            log.error("inbox: update %s failed %d times; set aside", row["update_id"], row["attempts"])
            await db.execute("DELETE FROM inbox WHERE update_id = ?", (row["update_id"],))
            continue
        await db.execute("UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?", (row["update_id"],))
        try:
            updates.append(Update.model_validate(json.loads(row["payload"]), context={"bot": bot}))
        except Exception as exc:
            log.error("inbox: update %s could not be read again: %s", row["update_id"], type(exc).__name__)
            await db.execute("DELETE FROM inbox WHERE update_id = ?", (row["update_id"],))

    async def one(update: Update) -> bool:
        try:
            await dispatcher.feed_update(bot, update)
            return True
        except Exception as exc:  # the error handler has had its say; the row is gone (ForgetHandled)
            log.warning("inbox: update %s failed again: %s", update.update_id, type(exc).__name__)
            return False

    handled = sum(await asyncio.gather(*(one(u) for u in updates)))
    if rows:
        log.info("inbox: %d update(s) left by the previous run handled", handled)
    return handled


def names(value: Any, user_id: int) -> bool:
    """Whether a raw Telegram update (as JSON) is from, to or about the user: any user or chat object with their
    id, or a shared contact of theirs."""
    if isinstance(value, dict):
        for key in ("from", "from_user", "chat", "user", "sender_chat", "forward_from"):  # from_user: older rows
            inner = value.get(key)
            if isinstance(inner, dict) and inner.get("id") == user_id:
                return True
        if value.get("user_id") == user_id:
            return True
        return any(names(v, user_id) for v in value.values())
    if isinstance(value, list):
        return any(names(v, user_id) for v in value)
    return False


async def forget_user_in(conn: Any, user_id: int) -> None:
    """A resident's erasure, in the caller's transaction: the inbox keeps each update only while it is handled,
    and the resident's go now."""
    cursor = await conn.execute("SELECT update_id, payload FROM inbox")
    for row in await cursor.fetchall():
        try:
            update = json.loads(row["payload"])
        except ValueError:
            continue  # replay sets it aside (and reads nothing of it)
        if names(update, user_id):
            await conn.execute("DELETE FROM inbox WHERE update_id = ?", (row["update_id"],))
