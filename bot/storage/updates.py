"""Idempotency: the Telegram updates already acted on (`processed_updates`), so an update handed twice acts once."""
from __future__ import annotations

from bot.storage.db import Connection, utcnow


async def first_time(conn: Connection, update_id: int) -> bool:
    """Mark the update as handled in the caller's transaction: False when it was handled before."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)", (update_id, utcnow()))
    return cursor.rowcount == 1
