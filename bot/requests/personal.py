"""What the requests keep that a resident's erasure needs to know before it empties them (bot.privacy.erasure
reads these inside its own transaction), and what the resident's own export («Мої дані», bot.privacy) shows of
their requests."""
from __future__ import annotations

from typing import Any, Iterable, Optional

from bot.storage.db import Connection, Database, Row


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


# ----- the resident's export («Мої дані») --------------------------------------------------------------------------

async def _export_history(db: Database, request_id: int) -> list[dict[str, Any]]:
    """The public history of a request, each entry with its files as names and sizes."""
    files: dict[Optional[int], list[dict[str, Any]]] = {}
    for f in await db.fetchall(
        "SELECT event_id, kind, file_name, size FROM request_files WHERE request_id = ? ORDER BY id", (request_id,)
    ):
        files.setdefault(f["event_id"], []).append({"kind": f["kind"], "name": f["file_name"], "size": f["size"]})
    history = []
    for e in await db.fetchall(
        "SELECT id, at, actor, actor_label, kind, text, institution_id FROM request_events "
        "WHERE request_id = ? AND public = 1 ORDER BY id", (request_id,)
    ):
        history.append({
            "at": e["at"],
            "by": e["actor"],
            "signed": e["actor_label"] if e["actor"] == "staff" else None,  # the role the resident saw
            "kind": e["kind"],
            "text": e["text"],
            "institution": e["institution_id"],
            "files": files.get(e["id"], []),
        })
    return history


async def export_requests(db: Database, user_id: int) -> list[dict[str, Any]]:
    """The resident's requests with their public history, as bot.privacy shows them."""
    rows = await db.fetchall("SELECT * FROM requests WHERE resident_id = ? ORDER BY created_at, id", (user_id,))
    result = []
    for r in rows:
        result.append({
            "number": r["public_id"],
            "community": r["community"],
            "kind": r["kind"],
            "anonymous": bool(r["anonymous"]),
            "service": r["service_id"],
            "situation": r["situation_id"],
            "for_whom": r["for_whom"],
            "institution": r["institution_id"],
            "description": r["description"],
            "contact": {"method": r["contact_method"], "phone": r["contact_phone"], "name": r["contact_name"]},
            "urgent": bool(r["urgent"]),
            "status": r["status"],
            "taken_by": r["assignee_label"],
            "created_at": r["created_at"],
            "changed_at": r["updated_at"],
            "answer_by": r["due_at"],
            "first_answer_at": r["first_response_at"],
            "closed_at": r["closed_at"],
            "rating": r["rating"],
            "rating_comment": r["rating_comment"],
            "personal_data_removed_at": r["purged_at"],
            "history": await _export_history(db, r["id"]),
        })
    return result


async def public_ids(db: Database, ids: Iterable[int]) -> dict[int, str]:
    """The numbers residents see (`public_id`) of these requests, by id."""
    rows = await db.fetchall(f"SELECT id, public_id FROM requests WHERE id IN ({_ids(ids)})")
    return {row["id"]: row["public_id"] for row in rows}
