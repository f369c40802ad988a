"""aiogram FSM storage kept in SQLite, so a restart continues a dialog where the resident was."""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.db import Database, utcnow


def key_to_str(key: StorageKey) -> str:
    parts = [key.bot_id, key.chat_id, key.user_id, key.thread_id or 0, key.business_connection_id or "", key.destiny]
    return ":".join(str(part) for part in parts)


class SQLiteStorage(BaseStorage):
    def __init__(self, db: Database):
        self.db = db

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self.db.execute(
            "INSERT INTO fsm_state (key, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (key_to_str(key), value, utcnow()),
        )

    async def get_state(self, key: StorageKey) -> Optional[str]:
        row = await self.db.fetchone("SELECT state FROM fsm_state WHERE key = ?", (key_to_str(key),))
        return row["state"] if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        payload = json.dumps(dict(data), ensure_ascii=False)
        await self.db.execute(
            "INSERT INTO fsm_state (key, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (key_to_str(key), payload, utcnow()),
        )

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT data FROM fsm_state WHERE key = ?", (key_to_str(key),))
        return json.loads(row["data"]) if row else {}

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""
