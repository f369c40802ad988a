"""The consultations' personal data: what a resident's erasure and the retention need to know and to empty
(inside the caller's transaction: bot.privacy.erasure, ConsultService's erase_resident_in, purge_in and
delete_personal_data), and what the resident's own export («Мої дані», bot.privacy) shows of their
consultations and booked times."""
from __future__ import annotations

from typing import Any, Iterable, Optional

from bot.storage.db import Connection, Database, Row


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


async def ids_ended_before(conn: Connection, limit: str) -> list[int]:
    cursor = await conn.execute(
        "SELECT id FROM consultations WHERE ended_at IS NOT NULL AND ended_at < ? AND purged_at IS NULL", (limit,))
    return [row[0] for row in await cursor.fetchall()]


async def end_all_in(conn: Connection, resident_id: int, now: str) -> list[int]:
    """The resident's open consultations end (by the resident, at `now`); returns the ids of all of theirs."""
    ids = await ids_of_resident(conn, resident_id)
    await conn.execute(
        "UPDATE consultations SET status = CASE WHEN status IN ('queued', 'active') THEN 'ended' "
        "ELSE status END, ended_at = COALESCE(ended_at, ?), ended_by = COALESCE(ended_by, 'resident') "
        "WHERE resident_id = ?", (now, resident_id))
    return ids


async def purge_in(conn: Connection, ids: Iterable[int], why: Optional[str], now: str) -> None:
    """These consultations lose the resident's id, comment, texts and files; `why`: 'resident' or 'retention'."""
    for cid in ids:
        await conn.execute("UPDATE consultations SET resident_id = NULL, rating_comment = NULL, purged_at = ?, "
                           "purged_why = COALESCE(?, purged_why) WHERE id = ?", (now, why, cid))
        await conn.execute("UPDATE consultation_messages SET text = NULL, file_id = NULL, sender_id = CASE "
                           "WHEN sender = 'resident' THEN NULL ELSE sender_id END WHERE consultation_id = ?",
                           (cid,))


async def booked_in(conn: Connection, resident_id: int) -> list[Row]:
    """The resident's times still booked (whole rows of `bookings`)."""
    cursor = await conn.execute("SELECT * FROM bookings WHERE resident_id = ? AND status = 'booked'", (resident_id,))
    return list(await cursor.fetchall())


async def unlink_bookings_in(conn: Connection, resident_id: int) -> None:
    """The resident's booked times are cancelled, and none of their bookings names them any more."""
    await conn.execute(
        "UPDATE bookings SET status = CASE WHEN status = 'booked' THEN 'cancelled' ELSE status END, "
        "resident_id = NULL WHERE resident_id = ?", (resident_id,))


# ----- the resident's export («Мої дані») --------------------------------------------------------------------------

async def export_consultations(db: Database, user_id: int) -> list[dict[str, Any]]:
    """The resident's consultations with their public transcript, as bot.privacy shows them. `became_request`
    holds the id of the request a consultation became; bot.privacy puts the request's number in its place."""
    rows = await db.fetchall("SELECT * FROM consultations WHERE resident_id = ? ORDER BY asked_at, id", (user_id,))
    result = []
    for c in rows:
        transcript = [
            {"at": m["at"], "from": m["sender"], "kind": m["kind"], "text": m["text"],
             "file": m["kind"] != "text"}
            for m in await db.fetchall(
                "SELECT at, sender, kind, text FROM consultation_messages WHERE consultation_id = ? AND public = 1 "
                "ORDER BY id", (c["id"],)
            )
        ]
        result.append({
            "number": c["id"],
            "community": c["community"],
            "topic": c["topic"],
            "institution": c["institution_id"],
            "status": c["status"],
            "specialist": c["specialist_label"],  # the role and first name the resident was shown
            "asked_at": c["asked_at"],
            "taken_at": c["taken_at"],
            "ended_at": c["ended_at"],
            "ended_by": c["ended_by"],
            "rating": c["rating"],
            "rating_comment": c["rating_comment"],
            "became_request": c["request_id"],
            "booked": c["booking_id"] is not None,
            "personal_data_removed_at": c["purged_at"],
            "transcript": transcript,
        })
    return result


async def export_bookings(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT community, topic, institution_id, starts_at, status, created_at FROM bookings WHERE resident_id = ? "
        "ORDER BY starts_at, id", (user_id,)
    )
    return [{"community": b["community"], "topic": b["topic"], "institution": b["institution_id"],
             "starts_at": b["starts_at"], "status": b["status"], "booked_at": b["created_at"]} for b in rows]
