"""What other modules read of the staff groups' tables: the groups a person is staff of with the role kept for
them (their own export, «Мої дані», bot.privacy), and the institutions with a bound group (a catalogue reload
must keep them, bot.ops.catalogue)."""
from __future__ import annotations

from typing import Any

from bot.storage.db import Database


async def export_staff_roles(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT g.community, g.institution_id, s.role, s.added_at FROM staff s "
        "LEFT JOIN groups g ON g.chat_id = s.chat_id WHERE s.user_id = ? ORDER BY s.added_at", (user_id,)
    )
    return [{"community": s["community"], "institution": s["institution_id"], "role": s["role"],
             "added_at": s["added_at"]} for s in rows]


async def bound_institutions(db: Database) -> set[tuple[str, str]]:
    """(community, institution_id) of every group in use."""
    rows = await db.fetchall("SELECT DISTINCT community, institution_id FROM groups WHERE active = 1")
    return {(row["community"], row["institution_id"]) for row in rows}
