"""Who may administer the bot: the ids in ADMIN_IDS plus those added in the bot with /admin_add (and removed with
/admin_remove). Every change is announced to all administrators through the outbox."""
from __future__ import annotations

import sqlite3
from typing import Iterable, Optional

from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Outgoing, enqueue
from bot.storage.db import Database, utcnow


class AdminRepo:
    """Kept in memory (checked on every administrator command); this process is the only writer."""

    def __init__(self, db: Database, configured: Iterable[int]):
        self.db = db
        self.configured = frozenset(configured)
        self._added: set[int] = set()

    async def load(self) -> "AdminRepo":
        self._added = {row["user_id"] for row in await self.db.fetchall("SELECT user_id FROM admins")}
        return self

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and (user_id in self.configured or user_id in self._added)

    @property
    def ids(self) -> list[int]:
        return sorted(self.configured | self._added)

    async def add(self, user_id: int, added_by: int) -> bool:
        """Add an administrator; False if they already were one. The administrators are told."""
        if self.is_admin(user_id):
            return False
        async with self.db.transaction() as conn:
            await conn.execute("INSERT OR IGNORE INTO admins (user_id, added_by, added_at) VALUES (?, ?, ?)",
                               (user_id, added_by, utcnow()))
            await enqueue(conn, [self._notice("added", user_id, added_by)])
        self._added.add(user_id)
        return True

    async def remove(self, user_id: int, removed_by: Optional[int] = None) -> bool:
        """Remove an administrator added in the bot (those in ADMIN_IDS stay: the configuration names them).
        The administrators are told, the one removed among them."""
        if user_id not in self._added:
            return False
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM admins WHERE user_id = ?", (user_id,))
            await enqueue(conn, [self._notice("removed", user_id, removed_by)])
        self._added.discard(user_id)
        return True

    @staticmethod
    def _notice(change: str, user_id: int, by: Optional[int]) -> Outgoing:
        return Outgoing(Kind.ADMINS_CHANGED, Target.admins(), {"change": change, "user_id": user_id, "by": by},
                        dedupe_key=f"admins:{change}:{user_id}:{utcnow()}")


async def added_at(db: Database, user_id: int) -> Optional[str]:
    """When the user was made an administrator in the bot (None for those only in ADMIN_IDS, and for others)."""
    row = await db.fetchone("SELECT added_at FROM admins WHERE user_id = ?", (user_id,))
    return row["added_at"] if row else None


def count_added(conn: sqlite3.Connection) -> int:
    """How many administrators were added in the bot, in a database file opened with sqlite3 (bot.ops.doctor)."""
    return int(conn.execute("SELECT COUNT(*) FROM admins").fetchone()[0])
