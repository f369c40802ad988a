"""«Мої дані»: everything the bot stores about one resident, gathered for them to take away.

No Telegram types here. `collect` reads every table that holds the resident's data: the profile, the
consent, their requests (description, contacts, attachments as names and sizes, the public history and the
rating), their consultations (the public transcript and the rating), booked times, news subscriptions,
opened deep links, campaign messages sent to them, an unfinished dialog, and, for staff and administrators,
their roles. Other residents' data never appears, and of staff only what the resident was shown: the role
(and first name) a specialist signed with. Internal notes, staff ids, group ids and Telegram file ids stay
out. Dates are UTC ISO strings here; the readable file shows them in the configured time zone.
"""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Outgoing, enqueue
from bot.storage.db import Database

FORMAT = "hromada-my-data"
VERSION = 1
DOCUMENT_LIMIT = 50 * 1024 * 1024  # what a bot may send as one document
ZIP_ABOVE = 45 * 1024 * 1024  # a file larger than this goes zipped, so that it stays under the limit


def _bool(value: Any) -> Optional[bool]:
    return None if value is None else bool(value)


async def _profile(db: Database, user_id: int) -> Optional[dict[str, Any]]:
    row = await db.fetchone(
        "SELECT locale, community, created_at, updated_at, blocked_at FROM residents WHERE user_id = ?", (user_id,)
    )
    if row is None:
        return None
    return {"language": row["locale"], "community": row["community"], "first_seen_at": row["created_at"],
            "changed_at": row["updated_at"], "blocked_bot_at": row["blocked_at"]}


async def _consent(db: Database, user_id: int) -> Optional[dict[str, Any]]:
    row = await db.fetchone("SELECT version, given_at FROM consents WHERE user_id = ?", (user_id,))
    return {"version": row["version"], "given_at": row["given_at"]} if row else None


async def _requests(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall("SELECT * FROM requests WHERE resident_id = ? ORDER BY created_at, id", (user_id,))
    result = []
    for r in rows:
        files: dict[Optional[int], list[dict[str, Any]]] = {}
        for f in await db.fetchall(
            "SELECT event_id, kind, file_name, size FROM request_files WHERE request_id = ? ORDER BY id", (r["id"],)
        ):
            files.setdefault(f["event_id"], []).append({"kind": f["kind"], "name": f["file_name"], "size": f["size"]})
        history = []
        for e in await db.fetchall(
            "SELECT id, at, actor, actor_label, kind, text, institution_id FROM request_events "
            "WHERE request_id = ? AND public = 1 ORDER BY id", (r["id"],)
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
            "history": history,
        })
    return result


async def _consultations(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT c.*, r.public_id AS request_number FROM consultations c LEFT JOIN requests r ON r.id = c.request_id "
        "WHERE c.resident_id = ? ORDER BY c.asked_at, c.id", (user_id,)
    )
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
            "became_request": c["request_number"],
            "booked": c["booking_id"] is not None,
            "personal_data_removed_at": c["purged_at"],
            "transcript": transcript,
        })
    return result


async def _bookings(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT community, topic, institution_id, starts_at, status, created_at FROM bookings WHERE resident_id = ? "
        "ORDER BY starts_at, id", (user_id,)
    )
    return [{"community": b["community"], "topic": b["topic"], "institution": b["institution_id"],
             "starts_at": b["starts_at"], "status": b["status"], "booked_at": b["created_at"]} for b in rows]


async def _subscriptions(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT topic, subscribed, updated_at FROM subscriptions WHERE user_id = ? ORDER BY topic", (user_id,)
    )
    return [{"topic": s["topic"], "subscribed": bool(s["subscribed"]), "changed_at": s["updated_at"]} for s in rows]


async def _link_opens(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT code, kind, community, target, campaign_id, new_resident, opened_at FROM link_opens "
        "WHERE user_id = ? ORDER BY opened_at, id", (user_id,)
    )
    return [{"code": o["code"], "kind": o["kind"], "community": o["community"], "target": o["target"],
             "campaign": o["campaign_id"], "first_visit": bool(o["new_resident"]), "opened_at": o["opened_at"]}
            for o in rows]


async def _campaign_messages(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT r.campaign_id, c.topic, r.status, r.sent_at FROM campaign_recipients r "
        "LEFT JOIN campaigns c ON c.id = r.campaign_id WHERE r.user_id = ? ORDER BY r.campaign_id", (user_id,)
    )
    return [{"campaign": m["campaign_id"], "topic": m["topic"], "status": m["status"], "sent_at": m["sent_at"]}
            for m in rows]


async def _conversation(db: Database, user_id: int) -> Optional[dict[str, Any]]:
    """An unfinished dialog in the private chat (e.g. a request being written), as it is kept."""
    rows = await db.fetchall("SELECT key, state, data, updated_at FROM fsm_state WHERE key LIKE ?",
                             (f"%:{user_id}:{user_id}:%",))
    for row in rows:
        parts = row["key"].split(":")
        if len(parts) < 3 or parts[1] != str(user_id) or parts[2] != str(user_id):
            continue
        try:
            data = json.loads(row["data"] or "{}")
        except ValueError:
            data = {}
        if row["state"] is None and not data:
            continue
        return {"state": row["state"], "data": data, "changed_at": row["updated_at"]}
    return None


async def _roles(db: Database, user_id: int) -> dict[str, Any]:
    """For a resident who is also staff or an administrator: the groups and roles kept for them."""
    staff = await db.fetchall(
        "SELECT g.community, g.institution_id, s.role, s.added_at FROM staff s "
        "LEFT JOIN groups g ON g.chat_id = s.chat_id WHERE s.user_id = ? ORDER BY s.added_at", (user_id,)
    )
    admin = await db.fetchone("SELECT added_at FROM admins WHERE user_id = ?", (user_id,))
    return {
        "staff": [{"community": s["community"], "institution": s["institution_id"], "role": s["role"],
                   "added_at": s["added_at"]} for s in staff],
        "administrator_since": admin["added_at"] if admin else None,
    }


async def collect(db: Database, user_id: int, *, now: Optional[datetime] = None) -> dict[str, Any]:
    """Everything stored about the resident `user_id`, as plain JSON-ready data."""
    now = now or datetime.now(timezone.utc)
    pending = await db.fetchone(
        "SELECT COUNT(*) FROM outbox WHERE target = ? AND status IN ('pending', 'held')",
        (str(Target.resident(user_id)),)
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "telegram_user_id": user_id,
        "profile": await _profile(db, user_id),
        "consent": await _consent(db, user_id),
        "requests": await _requests(db, user_id),
        "consultations": await _consultations(db, user_id),
        "bookings": await _bookings(db, user_id),
        "subscriptions": await _subscriptions(db, user_id),
        "link_opens": await _link_opens(db, user_id),
        "campaign_messages": await _campaign_messages(db, user_id),
        "unfinished_dialog": await _conversation(db, user_id),
        "notices_waiting": int(pending[0]) if pending else 0,
        **await _roles(db, user_id),
    }


def is_empty(data: dict[str, Any]) -> bool:
    """Nothing but the profile (language and community) is kept."""
    return not any(data.get(key) for key in ("consent", "requests", "consultations", "bookings", "subscriptions",
                                             "link_opens", "campaign_messages", "unfinished_dialog", "staff",
                                             "administrator_since"))


def to_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def packed(name: str, content: bytes) -> tuple[str, bytes]:
    """The file as it can be sent: as it is, or zipped when it would not fit in one Telegram document."""
    if len(content) <= ZIP_ABOVE:
        return name, content
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(name, content)
    return name + ".zip", buffer.getvalue()


# ----- deletion: «Видалити мої дані» and retention -----------------------------------------------------------------
#
# `erase` removes, in one transaction, everything that names the resident or holds their words; `expire` does the
# same for requests and consultations past RETENTION_DAYS, and for conversation drafts left for DRAFT_DAYS. The
# staff groups are told through the outbox (kind 'card_erased', written in the same transaction): the card of
# each request and consultation is edited to say the data were deleted, and a forum topic the bot made for it
# is deleted where the bot may (see dialogs/delivery.py). Anonymous counts stay.

RESIDENT, RETENTION = "resident", "retention"  # why the data went: requests.purged_why, consultations.purged_why
ERASED_KIND = Kind.CARD_ERASED
# Rows on their way to a staff group that would carry the resident's words, or the old card with them: they
# are not sent any more (the erased card takes their place).
CARRIES_WORDS = {"r": (Kind.RELAY_TO_GROUP.value, Kind.CARD_MOVED.value),  # plain strings: put into SQL as a tuple
                 "c": (Kind.CONSULT_TO_GROUP.value, Kind.CONSULT_CARD_MOVED.value)}
MOVED = {"r": Kind.CARD_MOVED, "c": Kind.CONSULT_CARD_MOVED}


def _since(now: datetime, days: int) -> str:
    return (now - timedelta(days=days)).astimezone(timezone.utc).isoformat(timespec="seconds")


def _ids(ids: list[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


async def _fetch(conn: Any, sql: str, params: tuple = ()) -> list[Any]:
    cursor = await conn.execute(sql, params)
    return list(await cursor.fetchall())


async def _erased_cards(conn: Any, kind: str, ids: list[int], why: str) -> list[Outgoing]:
    """One 'card_erased' row per card of each request ("r") or consultation ("c") in a staff group: the card in
    use (its topic is the bot's own: the bot made it for this card) and any left in a group it was passed on
    from (a courtesy: that group may be gone). Read before the purge: the group messages that carried the
    resident's words are known by then only."""
    table, key = ("requests", "request_id") if kind == "r" else ("consultations", "consultation_id")
    rows = await _fetch(conn, f"SELECT id, community, institution_id, group_chat_id, thread_id, card_message_id "
                              f"FROM {table} WHERE id IN ({_ids(ids)})")
    moved = await _fetch(conn, f"SELECT payload FROM outbox WHERE kind = ? AND json_extract(payload, '$.{key}') "
                               f"IN ({_ids(ids)})", (MOVED[kind],))
    relayed: dict[tuple[int, int], list[int]] = {}
    if kind == "r":
        for m in await _fetch(conn, f"SELECT request_id, chat_id, message_id FROM request_messages "
                                    f"WHERE chat_id < 0 AND request_id IN ({_ids(ids)}) ORDER BY message_id"):
            relayed.setdefault((m["request_id"], m["chat_id"]), []).append(int(m["message_id"]))
    items = []
    for row in rows:
        target = Target.institution(row["community"], row["institution_id"])
        places = []
        if row["group_chat_id"] and row["card_message_id"]:
            places.append((row["group_chat_id"], row["card_message_id"], row["thread_id"], True))
        for m in moved:
            p = json.loads(m["payload"])
            if p.get(key) == row["id"] and p.get("chat_id") and p.get("message_id"):
                places.append((int(p["chat_id"]), int(p["message_id"]), None, False))
        for chat_id, message_id, thread_id, current in places:
            items.append(Outgoing(ERASED_KIND, target, {
                key: row["id"], "why": why, "chat_id": chat_id, "message_id": message_id, "thread_id": thread_id,
                "current": current, "messages": relayed.get((row["id"], chat_id), [])},
                dedupe_key=f"erased:{kind}{row['id']}:{chat_id}:{message_id}"))
    return items


async def _quiet_outbox(conn: Any, request_ids: list[int], consultation_ids: list[int]) -> None:
    """Rows not yet sent that would carry the resident's words to a group (or the old card with them)."""
    await conn.execute(
        f"UPDATE outbox SET status = 'dropped', last_error = 'personal data deleted' "
        f"WHERE status IN ('pending', 'held') AND kind IN {CARRIES_WORDS['r']} AND request_id IN ({_ids(request_ids)})")
    await conn.execute(
        f"UPDATE outbox SET status = 'dropped', last_error = 'personal data deleted' "
        f"WHERE status IN ('pending', 'held') AND kind IN {CARRIES_WORDS['c']} "
        f"AND json_extract(payload, '$.consultation_id') IN ({_ids(consultation_ids)})")


def _names(value: Any, user_id: int) -> bool:
    """Whether a raw Telegram update (as JSON) is from, to or about the user: any user or chat object with their
    id, or a shared contact of theirs."""
    if isinstance(value, dict):
        for key in ("from", "chat", "user", "sender_chat", "forward_from"):
            inner = value.get(key)
            if isinstance(inner, dict) and inner.get("id") == user_id:
                return True
        if value.get("user_id") == user_id:
            return True
        return any(_names(v, user_id) for v in value.values())
    if isinstance(value, list):
        return any(_names(v, user_id) for v in value)
    return False


async def _drop_raw_updates(conn: Any, user_id: int) -> None:
    """The inbox keeps each update only while it is handled (bot/runtime/inbox.py): the resident's go now."""
    for row in await _fetch(conn, "SELECT update_id, payload FROM inbox"):
        try:
            update = json.loads(row["payload"])
        except ValueError:
            continue  # replay sets it aside (and reads nothing of it)
        if _names(update, user_id):
            await conn.execute("DELETE FROM inbox WHERE update_id = ?", (row["update_id"],))


async def _drop_conversations(conn: Any, user_id: int) -> None:
    """Every dialog state of the user (a half-filled request holds a description and a phone): in their chat
    and as a member of any chat. Keys are bot:chat:user:thread:business:destiny (bot/storage/fsm.py)."""
    for row in await _fetch(conn, "SELECT key FROM fsm_state WHERE key LIKE ?", (f"%:{user_id}:%",)):
        parts = row["key"].split(":")
        if len(parts) >= 3 and str(user_id) in (parts[1], parts[2]):
            await conn.execute("DELETE FROM fsm_state WHERE key = ?", (row["key"],))


async def erase(services: Any, user_id: int) -> int:
    """«Видалити мої дані»: in one transaction, every request and consultation of the resident loses its texts,
    files, contacts and their id (anonymous counts stay: status, institution, dates), open consultations end and
    booked times are cancelled (the group is told); their cards in the staff groups are edited (the outbox's
    'card_erased'), and nothing still on its way carries their words to a group; everything addressed to them
    waiting in the outbox goes; consent, news subscriptions, campaign recipient rows, raw updates, dialog states
    (drafts) go; link opens and failed /bind attempts stay counted without their id. Kept: the language and
    community (residents), so that the bot can go on answering them. Returns how many requests and
    consultations were cleared."""
    from bot import links

    async with services.db.transaction() as conn:
        request_ids = await services.requests.ids_of_resident(conn, user_id)
        consultation_ids = [r[0] for r in await _fetch(conn, "SELECT id FROM consultations WHERE resident_id = ?",
                                                         (user_id,))]
        cards = (await _erased_cards(conn, "r", request_ids, RESIDENT)
                 + await _erased_cards(conn, "c", consultation_ids, RESIDENT))
        await _quiet_outbox(conn, request_ids, consultation_ids)
        await services.requests.purge_in(conn, request_ids, RESIDENT)
        await services.consult.erase_resident_in(conn, user_id)
        await conn.execute("DELETE FROM outbox WHERE target = ?", (str(Target.resident(user_id)),))
        await enqueue(conn, cards)
        await conn.execute("DELETE FROM consents WHERE user_id = ?", (user_id,))
        await conn.execute("DELETE FROM subscriptions WHERE user_id = ?", (user_id,))
        await conn.execute("DELETE FROM campaign_recipients WHERE user_id = ?", (user_id,))
        await conn.execute("UPDATE bind_attempts SET user_id = NULL WHERE user_id = ?", (user_id,))
        await _drop_raw_updates(conn, user_id)
        await _drop_conversations(conn, user_id)
        await links.forget_resident(conn, user_id)
    services.wake_outbox()
    return len(request_ids) + len(consultation_ids)


async def expire(services: Any, now: datetime) -> int:
    """Retention: requests closed and consultations ended more than RETENTION_DAYS before `now` lose their
    personal data, and their cards in the staff groups say so (in the same transaction). Returns how many."""
    limit = _since(now, services.settings.retention_days)
    async with services.db.transaction() as conn:
        request_ids = await services.requests.ids_closed_before(conn, limit)
        consultation_ids = await services.consult.ids_ended_before(conn, limit)
        cards = (await _erased_cards(conn, "r", request_ids, RETENTION)
                 + await _erased_cards(conn, "c", consultation_ids, RETENTION))
        await _quiet_outbox(conn, request_ids, consultation_ids)
        await services.requests.purge_in(conn, request_ids, RETENTION)
        await services.consult.purge_in(conn, consultation_ids, RETENTION)
        await enqueue(conn, cards)
    if cards:
        services.wake_outbox()
    return len(request_ids) + len(consultation_ids)


async def expire_drafts(db: Database, now: datetime, days: int) -> int:
    """Dialog states (a half-written request: its description, phone and photos) untouched for DRAFT_DAYS go;
    the storage ignores such a state even before this runs (bot/storage/fsm.py)."""
    return await db.execute("DELETE FROM fsm_state WHERE updated_at < ?", (_since(now, days),))


# ----- what each column of the schema is, for a resident's privacy ------------------------------------------------
#
# ERASED: can hold a resident's data (their id, words, files, contacts) and `erase` deletes, empties or unlinks it.
# KEPT: can name a person, kept on purpose (the reason says why). NOT_PERSONAL: names nobody. tests/test_erasure.py
# reads the schema itself and fails on a table or column missing here, so a new one is classified when it is added.
ERASED, KEPT, NOT_PERSONAL = "erased", "kept", "not personal"
_STAFF = (KEPT, "a staff member or administrator: the institution's record of who acted, not a resident's data")
_COUNT = (NOT_PERSONAL, "a code, status, count or time kept for the anonymous reports")
_TECH = (NOT_PERSONAL, "bookkeeping of the bot (ids, times, statuses)")
_CATALOGUE = (NOT_PERSONAL, "the catalogue of services and its corrections")


def _all(cls: tuple[str, str], *columns: str) -> dict[str, tuple[str, str]]:
    return {column: cls for column in columns}


SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "residents": {
        "user_id": (KEPT, "the chat the bot goes on answering, in the language and community chosen; nothing else"),
        **_all((KEPT, "the language and community the bot speaks to the resident with"), "locale", "community"),
        **_all(_TECH, "created_at", "updated_at", "blocked_at"),
    },
    "consents": _all((ERASED, "the resident's consent: deleted"), "user_id", "version", "given_at"),
    "fsm_state": _all((ERASED, "dialog states (drafts with descriptions, phones, photos): deleted, and after "
                               "DRAFT_DAYS anyway"), "key", "state", "data", "updated_at"),
    "requests": {
        **_all((ERASED, "the resident's id, words and contacts: emptied"), "resident_id", "description",
               "contact_phone", "contact_name", "rating_comment"),
        **_all(_COUNT, "id", "public_id", "community", "kind", "anonymous", "service_id", "situation_id", "for_whom",
               "institution_id", "contact_method", "urgent", "danger", "status", "created_at", "updated_at",
               "due_at", "first_response_at", "closed_at", "rating", "reminded_at", "purged_at", "purged_why"),
        **_all(_STAFF, "assignee_id", "assignee_label"),
        **_all((NOT_PERSONAL, "where the card is in the staff group (it says the data were deleted)"),
               "group_chat_id", "thread_id", "card_message_id"),
    },
    "request_events": {
        **_all((ERASED, "what the resident or staff wrote, and the resident's id: emptied"), "text", "actor_id"),
        **_all(_STAFF, "actor_label"),
        **_all(_COUNT, "id", "request_id", "at", "actor", "kind", "public", "institution_id"),
    },
    "request_files": _all((ERASED, "the resident's and staff's files: deleted"), "id", "request_id", "event_id",
                          "kind", "file_id", "file_name", "size"),
    "request_messages": _all((ERASED, "which bot message in which chat (the resident's too) was about the request: "
                                      "deleted"), "chat_id", "message_id", "request_id", "event_id", "at"),
    "guessed_follow_ups": _all((ERASED, "the resident's messages the bot added to a request: deleted"),
                               "event_id", "resident_id", "how", "token", "at", "undone_at"),
    "request_counters": _all(_TECH, "year", "last"),
    "consultations": {
        **_all((ERASED, "the resident's id and comment: emptied"), "resident_id", "rating_comment"),
        **_all(_STAFF, "specialist_id", "specialist_label"),
        **_all((NOT_PERSONAL, "where the card is in the staff group (it says the data were deleted)"),
               "group_chat_id", "thread_id", "card_message_id"),
        **_all(_COUNT, "id", "community", "topic", "institution_id", "status", "asked_at", "taken_at", "ended_at",
               "ended_by", "rating", "request_id", "booking_id", "purged_at", "ended_update", "purged_why"),
    },
    "consultation_messages": {
        **_all((ERASED, "the conversation and the resident's id: emptied (a specialist's id stays)"), "text",
               "file_id", "sender_id"),
        **_all(_COUNT, "id", "consultation_id", "at", "sender", "kind", "public"),
    },
    "bookings": {
        "resident_id": (ERASED, "who booked: emptied (the time is cancelled)"),
        **_all(_COUNT, "id", "community", "topic", "institution_id", "starts_at", "status", "created_at",
               "reminded_day_at", "reminded_hour_at"),
    },
    "subscriptions": _all((ERASED, "news topics chosen: deleted"), "user_id", "topic", "subscribed", "updated_at"),
    "campaign_recipients": _all((ERASED, "news messages sent to the resident: deleted"), "campaign_id", "user_id",
                                "locale", "status", "attempts", "next_attempt_at", "error", "sent_at"),
    "campaign_tallies": _all(_COUNT, "campaign_id", "community", "status", "n"),
    "campaigns": {
        **_all(_STAFF, "created_by", "progress_chat_id", "progress_message_id"),
        **_all((NOT_PERSONAL, "a message administrators wrote for everyone"), "id", "created_at", "status", "topic",
               "text", "media_kind", "media_file_id", "button_kind", "button_value", "button_label", "audience",
               "paid", "scheduled_at", "started_at", "finished_at", "total", "purged_at"),
    },
    "link_opens": {
        "user_id": (ERASED, "who opened a link: replaced by a random stand-in, so distinct openers still count"),
        **_all(_COUNT, "id", "code", "kind", "community", "target", "campaign_id", "new_resident", "opened_at",
               "resident_community"),
    },
    "outbox": {
        **_all((ERASED, "rows to the resident: deleted; rows that would carry their words to a group: dropped; "
                        "payloads hold only ids"), "target", "payload"),
        **_all(_TECH, "id", "kind", "request_id", "status", "attempts", "next_attempt_at", "last_error", "created_at",
               "sent_at", "dedupe_key", "in_flight_since", "interrupted"),
    },
    "inbox": _all((ERASED, "raw updates while they are handled: the resident's are deleted"), "update_id",
                  "payload", "received_at", "attempts"),
    "processed_updates": _all((NOT_PERSONAL, "an update's number and time, which name nobody"), "update_id", "at"),
    "bind_attempts": {
        "user_id": (ERASED, "who tried a bind code: emptied (the group's lockout still counts the attempt)"),
        **_all(_TECH, "id", "chat_id", "at"),
    },
    "groups": {**_all(_STAFF, "bound_by", "title"),
               **_all(_TECH, "chat_id", "community", "institution_id", "is_forum", "bound_at", "active",
                      "unreachable_at")},
    "bind_codes": {**_all(_STAFF, "created_by"),
                   **_all(_TECH, "code", "community", "institution_id", "created_at", "expires_at", "used_at",
                          "used_in")},
    "staff": _all(_STAFF, "chat_id", "user_id", "role", "added_at"),
    "admins": _all(_STAFF, "user_id", "added_by", "added_at"),
    "catalogue_versions": {**_all(_STAFF, "author_id", "author", "undone_by"),
                           **_all(_CATALOGUE, "id", "community", "version", "created_at", "overlay", "changes",
                                  "summary", "undone_at")},
    "catalogue_imports": {**_all(_STAFF, "author_id", "chat_id", "message_id"),
                          **_all(_CATALOGUE, "token", "community", "base_id", "overlay", "changes", "summary",
                                 "created_at", "state")},
    "schema_version": _all(_TECH, "version", "applied_at"),
    "sqlite_sequence": _all(_TECH, "name", "seq"),
}
