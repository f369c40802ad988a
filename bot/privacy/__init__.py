"""«Мої дані»: everything the bot stores about one resident, gathered for them to take away.

No Telegram types here. `collect` reads every table that holds the resident's data: the profile, the
consent, their requests (description, contacts, attachments as names and sizes, the public history and the
rating), their consultations (the public transcript and the rating), booked times, news subscriptions,
opened deep links, campaign messages sent to them, an unfinished dialog, a web resident's chat as it shows (its
text, who said it and when, the names of its files), and, for staff and administrators, their roles. Other
residents' data never appears, and of staff only what the resident was shown: the role (and first name) a
specialist signed with. Internal notes, staff ids, group ids and Telegram file ids stay
out. Dates are UTC ISO strings here; the readable file shows them in the configured time zone.
"""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone
from typing import Any, Optional

from bot import admins, links
from bot.campaigns import personal as campaigns_personal
from bot.consult import personal as consult_personal
from bot.delivery import outbox
from bot.delivery.kinds import Kind, Target
from bot.groups import readers as groups_readers
from bot.requests import personal as requests_personal
from bot.storage import fsm, residents
from bot.storage.db import Database
from bot.webchat import store as webchat

FORMAT = "hromada-my-data"
VERSION = 1
DOCUMENT_LIMIT = 50 * 1024 * 1024  # what a bot may send as one document
ZIP_ABOVE = 45 * 1024 * 1024  # a file larger than this goes zipped, so that it stays under the limit


async def _consultations(db: Database, user_id: int) -> list[dict[str, Any]]:
    """The consultations, each with the number of the request it became (the resident knows that one)."""
    consultations = await consult_personal.export_consultations(db, user_id)
    numbers = await requests_personal.public_ids(db, [c["became_request"] for c in consultations
                                                      if c["became_request"] is not None])
    for consultation in consultations:
        consultation["became_request"] = numbers.get(consultation["became_request"])
    return consultations


async def _roles(db: Database, user_id: int) -> dict[str, Any]:
    """For a resident who is also staff or an administrator: the groups and roles kept for them."""
    return {"staff": await groups_readers.export_staff_roles(db, user_id),
            "administrator_since": await admins.added_at(db, user_id)}


async def collect(db: Database, user_id: int, *, now: Optional[datetime] = None) -> dict[str, Any]:
    """Everything stored about the resident `user_id`, as plain JSON-ready data. Each table's own module reads
    its part."""
    now = now or datetime.now(timezone.utc)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "telegram_user_id": user_id,
        "profile": await residents.export_profile(db, user_id),
        "consent": await residents.export_consent(db, user_id),
        "requests": await requests_personal.export_requests(db, user_id),
        "consultations": await _consultations(db, user_id),
        "bookings": await consult_personal.export_bookings(db, user_id),
        "subscriptions": await campaigns_personal.export_subscriptions(db, user_id),
        "link_opens": await links.export_opens(db, user_id),
        "campaign_messages": await campaigns_personal.export_campaign_messages(db, user_id),
        "unfinished_dialog": await fsm.export_conversation(db, user_id),
        "notices_waiting": await outbox.count_waiting(db, str(Target.resident(user_id))),
        "web_chat": await webchat.export_chat(db, user_id),
        **await _roles(db, user_id),
    }


def is_empty(data: dict[str, Any]) -> bool:
    """Nothing but the profile (language and community) is kept."""
    return not any(data.get(key) for key in ("consent", "requests", "consultations", "bookings", "subscriptions",
                                             "link_opens", "campaign_messages", "unfinished_dialog", "staff",
                                             "administrator_since", "web_chat"))


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
