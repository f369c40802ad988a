"""Residents: language, community, whether they blocked the bot, and their consent to the processing of their data."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

from bot.storage.db import Connection, Database, utcnow


@dataclass(frozen=True)
class Resident:
    user_id: int
    locale: Optional[str]
    community: Optional[str]
    blocked: bool


CACHE_SIZE = 50_000


async def has_consent(db: Database, user_id: int, version: int) -> bool:
    """Whether the person has agreed to the processing of their data in this `version` of the notice (or later)."""
    row = await db.fetchone("SELECT version FROM consents WHERE user_id = ?", (user_id,))
    return row is not None and row["version"] >= version


async def give_consent(db: Database, user_id: int, version: int) -> None:
    await db.execute(
        "INSERT INTO consents (user_id, version, given_at) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET version = excluded.version, given_at = excluded.given_at",
        (user_id, version, utcnow()),
    )


async def forget_consent(conn: Connection, user_id: int) -> None:
    """Delete the person's consent in the caller's transaction (their data is being erased)."""
    await conn.execute("DELETE FROM consents WHERE user_id = ?", (user_id,))


class ResidentRepo:
    """Every update needs the resident's language and community: they are read once and kept in memory.
    This process is the only writer, and every write below refreshes the kept copy."""

    def __init__(self, db: Database):
        self.db = db
        self._cache: OrderedDict[int, Optional[Resident]] = OrderedDict()

    async def get(self, user_id: int) -> Optional[Resident]:
        if user_id in self._cache:
            self._cache.move_to_end(user_id)
            return self._cache[user_id]
        row = await self.db.fetchone(
            "SELECT user_id, locale, community, blocked_at FROM residents WHERE user_id = ?", (user_id,)
        )
        resident = None if row is None else Resident(row["user_id"], row["locale"], row["community"],
                                                     row["blocked_at"] is not None)
        self._keep(user_id, resident)
        return resident

    def _keep(self, user_id: int, resident: Optional[Resident]) -> None:
        self._cache[user_id] = resident
        self._cache.move_to_end(user_id)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def _reload(self, user_id: int) -> Optional[Resident]:
        self._cache.pop(user_id, None)
        return await self.get(user_id)

    async def ensure(self, user_id: int) -> Resident:
        now = utcnow()
        await self.db.execute(
            "INSERT INTO residents (user_id, created_at, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET blocked_at = NULL",
            (user_id, now, now),
        )
        resident = await self._reload(user_id)
        assert resident is not None
        return resident

    async def set_locale(self, user_id: int, locale: str) -> None:
        await self.ensure(user_id)
        await self.db.execute(
            "UPDATE residents SET locale = ?, updated_at = ? WHERE user_id = ?", (locale, utcnow(), user_id)
        )
        await self._reload(user_id)

    async def set_community(self, user_id: int, community: str) -> None:
        await self.ensure(user_id)
        await self.db.execute(
            "UPDATE residents SET community = ?, updated_at = ? WHERE user_id = ?", (community, utcnow(), user_id)
        )
        await self._reload(user_id)

    async def mark_blocked(self, user_id: int) -> None:
        await self.db.execute(
            "UPDATE residents SET blocked_at = ?, updated_at = ? WHERE user_id = ?", (utcnow(), utcnow(), user_id)
        )
        await self._reload(user_id)

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM residents")
        return int(row[0])

    async def has_consent(self, user_id: int, version: int) -> bool:
        return await has_consent(self.db, user_id, version)

    async def give_consent(self, user_id: int, version: int) -> None:
        await give_consent(self.db, user_id, version)


# ----- the resident's export («Мої дані», bot.privacy) -------------------------------------------------------------

async def export_profile(db: Database, user_id: int) -> Optional[dict]:
    row = await db.fetchone(
        "SELECT locale, community, created_at, updated_at, blocked_at FROM residents WHERE user_id = ?", (user_id,)
    )
    if row is None:
        return None
    return {"language": row["locale"], "community": row["community"], "first_seen_at": row["created_at"],
            "changed_at": row["updated_at"], "blocked_bot_at": row["blocked_at"]}


async def export_consent(db: Database, user_id: int) -> Optional[dict]:
    row = await db.fetchone("SELECT version, given_at FROM consents WHERE user_id = ?", (user_id,))
    return {"version": row["version"], "given_at": row["given_at"]} if row else None


async def communities_of(db: Database | Connection, user_ids: list[int]) -> dict[int, Optional[str]]:
    """The community each of these residents chose (those the bot knows), by user id; `db` may be a connection
    inside the caller's transaction."""
    found: dict[int, Optional[str]] = {}
    for start in range(0, len(user_ids), 500):
        chunk = [int(i) for i in user_ids[start:start + 500]]
        if not chunk:
            continue
        sql = f"SELECT user_id, community FROM residents WHERE user_id IN ({','.join('?' * len(chunk))})"
        if isinstance(db, Database):
            rows = await db.fetchall(sql, chunk)
        else:
            rows = await (await db.execute(sql, chunk)).fetchall()
        found.update({row[0]: row[1] for row in rows})
    return found
