"""aiogram FSM storage kept in SQLite, so a restart continues a dialog where the resident was."""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Mapping, Optional

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.db import Database, utcnow


def key_to_str(key: StorageKey) -> str:
    parts = [key.bot_id, key.chat_id, key.user_id, key.thread_id or 0, key.business_connection_id or "", key.destiny]
    return ":".join(str(part) for part in parts)


CACHE_SIZE = 50_000


class SQLiteStorage(BaseStorage):
    """Written through to SQLite at once; read from memory after the first read. This process is the
    only writer of the table, so the kept copy is always the stored one."""

    def __init__(self, db: Database):
        self.db = db
        self._cache: OrderedDict[str, tuple[Optional[str], str]] = OrderedDict()

    async def _load(self, key: str) -> tuple[Optional[str], str]:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        row = await self.db.fetchone("SELECT state, data FROM fsm_state WHERE key = ?", (key,))
        value = (row["state"], row["data"]) if row else (None, "{}")
        self._keep(key, value)
        return value

    def _keep(self, key: str, value: tuple[Optional[str], str]) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        name = key_to_str(key)
        current, data = await self._load(name)
        if current == value:
            return
        await self.db.execute(
            "INSERT INTO fsm_state (key, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (name, value, utcnow()),
        )
        self._keep(name, (value, data))

    async def get_state(self, key: StorageKey) -> Optional[str]:
        return (await self._load(key_to_str(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        payload = json.dumps(dict(data), ensure_ascii=False)
        name = key_to_str(key)
        state, current = await self._load(name)
        if current == payload:
            return
        await self.db.execute(
            "INSERT INTO fsm_state (key, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (name, payload, utcnow()),
        )
        self._keep(name, (state, payload))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return json.loads((await self._load(key_to_str(key)))[1])

    def forget(self, user_id: int) -> None:
        """Drop kept copies of a user's conversations (after their rows were deleted)."""
        for name in [k for k in self._cache if f":{user_id}:{user_id}:" in k]:
            del self._cache[name]

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""
