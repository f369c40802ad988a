"""What the requests keep that a resident's erasure needs to know before it empties them (bot.privacy.erasure
reads these inside its own transaction)."""
from __future__ import annotations

from typing import Iterable

from bot.storage.db import Connection, Row


def _ids(ids: Iterable[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


async def cards_in(conn: Connection, ids: Iterable[int]) -> list[Row]:
    """Where the staff card of each request is: id, community, institution_id, group_chat_id, thread_id,
    card_message_id."""
    cursor = await conn.execute("SELECT id, community, institution_id, group_chat_id, thread_id, card_message_id "
                                f"FROM requests WHERE id IN ({_ids(ids)})")
    return list(await cursor.fetchall())


async def group_messages_in(conn: Connection, ids: Iterable[int]) -> list[Row]:
    """The bot's messages in staff groups about these requests (request_id, chat_id, message_id), oldest first."""
    cursor = await conn.execute("SELECT request_id, chat_id, message_id FROM request_messages "
                                f"WHERE chat_id < 0 AND request_id IN ({_ids(ids)}) ORDER BY message_id")
    return list(await cursor.fetchall())
