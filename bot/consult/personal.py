"""What the consultations keep that a resident's erasure needs to know before it empties them (bot.privacy.erasure
reads these inside its own transaction; the emptying itself is ConsultService.erase_resident_in and purge_in)."""
from __future__ import annotations

from typing import Iterable

from bot.storage.db import Connection, Row


async def ids_of_resident(conn: Connection, resident_id: int) -> list[int]:
    cursor = await conn.execute("SELECT id FROM consultations WHERE resident_id = ?", (resident_id,))
    return [row[0] for row in await cursor.fetchall()]


async def cards_in(conn: Connection, ids: Iterable[int]) -> list[Row]:
    """Where the staff card of each consultation is: id, community, institution_id, group_chat_id, thread_id,
    card_message_id."""
    listed = ",".join(str(int(i)) for i in ids) or "NULL"
    cursor = await conn.execute("SELECT id, community, institution_id, group_chat_id, thread_id, card_message_id "
                                f"FROM consultations WHERE id IN ({listed})")
    return list(await cursor.fetchall())
