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
from datetime import datetime, timezone
from typing import Any, Optional

from bot.delivery.kinds import Kind, Target
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


# Why a request's or consultation's personal data went (requests.purged_why, consultations.purged_why), and the
# outbox kind that tells the staff groups; the erasure itself is bot/privacy/erasure.py.
RESIDENT, RETENTION = "resident", "retention"
ERASED_KIND = Kind.CARD_ERASED
