"""Idempotency: the Telegram updates already acted on (`processed_updates`), so an update handed twice acts once."""
from __future__ import annotations

from bot.storage.db import Connection, Database, utcnow


async def first_time(conn: Connection, update_id: int) -> bool:
    """Mark the update as handled in the caller's transaction: False when it was handled before."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)", (update_id, utcnow()))
    return cursor.rowcount == 1


async def forget_before(db: Database, before: str) -> int:
    """Update ids handled before `before` (UTC ISO) are forgotten: Telegram hands an update again only shortly
    after a crash. Returns how many."""
    return await db.execute("DELETE FROM processed_updates WHERE at < ?", (before,))
