"""Who may administer the bot: the ids in ADMIN_IDS plus those added in the bot with /admin_add."""
from __future__ import annotations

from typing import Iterable

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
        """Add an administrator; False if they already were one."""
        if self.is_admin(user_id):
            return False
        await self.db.execute("INSERT OR IGNORE INTO admins (user_id, added_by, added_at) VALUES (?, ?, ?)",
                              (user_id, added_by, utcnow()))
        self._added.add(user_id)
        return True

    async def remove(self, user_id: int) -> bool:
        """Remove an administrator added in the bot (those in ADMIN_IDS stay: the configuration names them)."""
        if user_id not in self._added:
            return False
        await self.db.execute("DELETE FROM admins WHERE user_id = ?", (user_id,))
        self._added.discard(user_id)
        return True
