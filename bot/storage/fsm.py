"""aiogram FSM storage kept in SQLite, so a restart continues a dialog where the resident was."""
from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Callable, Mapping, Optional

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StateType, StorageKey

from bot.storage.db import Database


def key_to_str(key: StorageKey) -> str:
    parts = [key.bot_id, key.chat_id, key.user_id, key.thread_id or 0, key.business_connection_id or "", key.destiny]
    return ":".join(str(part) for part in parts)


CACHE_SIZE = 50_000


class SQLiteStorage(BaseStorage):
    """Written through to SQLite at once; read from memory after the first read. This process is the
    only writer of the table, so the kept copy is always the stored one.

    With `max_age`, a state untouched that long is gone (a half-written request holds a description and a
    phone): it reads as empty and its row is deleted; housekeeping deletes the rows nobody reads
    (bot.privacy.expire_drafts)."""

    def __init__(self, db: Database, max_age: Optional[timedelta] = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.db = db
        self.max_age = max_age
        self.clock = clock
        self._cache: OrderedDict[str, tuple[Optional[str], str]] = OrderedDict()
        self._touched: dict[str, str] = {}  # key -> updated_at of the kept copy (only with max_age)

    async def _load(self, key: str) -> tuple[Optional[str], str]:
        if key in self._cache and not self._stale(self._touched.get(key)):
            self._cache.move_to_end(key)
            return self._cache[key]
        row = await self.db.fetchone("SELECT state, data, updated_at FROM fsm_state WHERE key = ?", (key,))
        if row is not None and self._stale(row["updated_at"]):
            await self.db.execute("DELETE FROM fsm_state WHERE key = ? AND updated_at = ?", (key, row["updated_at"]))
            row = None
        value = (row["state"], row["data"]) if row else (None, "{}")
        self._keep(key, value, row["updated_at"] if row else None)
        return value

    def _stale(self, updated_at: Optional[str]) -> bool:
        if self.max_age is None or not updated_at:
            return False
        return datetime.fromisoformat(updated_at) < self.clock() - self.max_age

    def _keep(self, key: str, value: tuple[Optional[str], str], updated_at: Optional[str] = None) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        if self.max_age is not None:
            if updated_at:
                self._touched[key] = updated_at
            else:
                self._touched.pop(key, None)
        while len(self._cache) > CACHE_SIZE:
            old, _value = self._cache.popitem(last=False)
            self._touched.pop(old, None)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        name = key_to_str(key)
        current, data = await self._load(name)
        if current == value:
            return
        stamp = self._now()
        await self.db.execute(
            "INSERT INTO fsm_state (key, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (name, value, stamp),
        )
        self._keep(name, (value, data), stamp)

    def _now(self) -> str:
        return self.clock().astimezone(timezone.utc).isoformat(timespec="seconds")

    async def get_state(self, key: StorageKey) -> Optional[str]:
        return (await self._load(key_to_str(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        payload = json.dumps(dict(data), ensure_ascii=False)
        name = key_to_str(key)
        state, current = await self._load(name)
        if current == payload:
            return
        stamp = self._now()
        await self.db.execute(
            "INSERT INTO fsm_state (key, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (name, payload, stamp),
        )
        self._keep(name, (state, payload), stamp)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return json.loads((await self._load(key_to_str(key)))[1])

    def forget(self, user_id: int) -> None:
        """Drop kept copies of a user's conversations (after their rows were deleted)."""
        for name in [k for k in self._cache if str(user_id) in k.split(":")[1:3]]:
            del self._cache[name]
            self._touched.pop(name, None)

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""


async def forget_user_in(conn: Any, user_id: int) -> None:
    """A resident's erasure, in the caller's transaction: every dialog state of the user (a half-filled request
    holds a description and a phone), in their chat and as a member of any chat. Keys are
    bot:chat:user:thread:business:destiny (key_to_str)."""
    cursor = await conn.execute("SELECT key FROM fsm_state WHERE key LIKE ?", (f"%:{user_id}:%",))
    for row in await cursor.fetchall():
        parts = row["key"].split(":")
        if len(parts) >= 3 and str(user_id) in (parts[1], parts[2]):
            await conn.execute("DELETE FROM fsm_state WHERE key = ?", (row["key"],))


async def forget_untouched(db: Database, before: str) -> int:
    """Dialog states untouched since `before` (UTC ISO) go; returns how many."""
    return await db.execute("DELETE FROM fsm_state WHERE updated_at < ?", (before,))


async def export_conversation(db: Database, user_id: int) -> Optional[dict[str, Any]]:
    """«Мої дані»: an unfinished dialog in the user's private chat (e.g. a request being written), as it is kept."""
    rows = await db.fetchall("SELECT key, state, data, updated_at FROM fsm_state WHERE key LIKE ?",
                             (f"%:{user_id}:{user_id}:%",))
    for row in rows:
        parts = row["key"].split(":")
        if len(parts) < 3 or parts[1] != str(user_id) or parts[2] != str(user_id):
            continue
        try:
            data = json.loads(row["data"] or "{}")
        except ValueError:
            data = {}
        if row["state"] is None and not data:
            continue
        return {"state": row["state"], "data": data, "changed_at": row["updated_at"]}
    return None


class InTurn(BaseEventIsolation):
    """One person's updates in one chat are handled one at a time, in the order they came; aiogram reads the
    conversation's state only once an update's turn has come. The bot handles a batch of updates side by side,
    and Telegram puts in one batch what a person sends in quick succession: the photos of an album, a question
    in two messages, whatever piled up during a restart. Read together, each would see the state from before
    the others (an album kept one photo; the second half of a question opened a second consultation).

    A chat's lock exists only while one of its updates is being handled or waits: idle chats cost nothing."""

    def __init__(self) -> None:
        self._turns: dict[Any, tuple[asyncio.Lock, list[int]]] = {}  # the lock, and how many hold or wait

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = (asyncio.Lock(), [0])
        lock, users = turn
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._turns[key]

    def waiting(self) -> int:
        """How many chats have an update being handled or waiting."""
        return len(self._turns)

    async def close(self) -> None:
        self._turns.clear()
