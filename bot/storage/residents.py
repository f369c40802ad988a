"""Residents: language, community and whether they blocked the bot."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.storage.db import Database, utcnow


@dataclass(frozen=True)
class Resident:
    user_id: int
    locale: Optional[str]
    community: Optional[str]
    blocked: bool


class ResidentRepo:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, user_id: int) -> Optional[Resident]:
        row = await self.db.fetchone(
            "SELECT user_id, locale, community, blocked_at FROM residents WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return None
        return Resident(row["user_id"], row["locale"], row["community"], row["blocked_at"] is not None)

    async def ensure(self, user_id: int) -> Resident:
        now = utcnow()
        await self.db.execute(
            "INSERT INTO residents (user_id, created_at, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET blocked_at = NULL",
            (user_id, now, now),
        )
        resident = await self.get(user_id)
        assert resident is not None
        return resident

    async def set_locale(self, user_id: int, locale: str) -> None:
        await self.ensure(user_id)
        await self.db.execute(
            "UPDATE residents SET locale = ?, updated_at = ? WHERE user_id = ?", (locale, utcnow(), user_id)
        )

    async def set_community(self, user_id: int, community: str) -> None:
        await self.ensure(user_id)
        await self.db.execute(
            "UPDATE residents SET community = ?, updated_at = ? WHERE user_id = ?", (community, utcnow(), user_id)
        )

    async def mark_blocked(self, user_id: int) -> None:
        await self.db.execute(
            "UPDATE residents SET blocked_at = ?, updated_at = ? WHERE user_id = ?", (utcnow(), utcnow(), user_id)
        )

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM residents")
        return int(row[0])
