"""«Видалити мої дані» and retention: what goes, in one transaction, and what each column of the schema is for a
resident's privacy.

`erase` removes, in one transaction, everything that names the resident or holds their words; `expire` does the
same for requests and consultations past RETENTION_DAYS, and `expire_drafts` for conversation drafts left for
DRAFT_DAYS. Each table's own module does its part inside the transaction passed to it. The staff groups are told
through the outbox (kind 'card_erased', written in the same transaction): the card of each request and
consultation is edited to say the data were deleted, and a forum topic the bot made for it is deleted where the bot
may (see dialogs/outbox/). Anonymous counts stay.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from bot import links
from bot.campaigns.service import forget_person_in
from bot.consult import personal as consultations
from bot.delivery import outbox
from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Outgoing, enqueue
from bot.groups.service import forget_bind_attempts_in
from bot.privacy import ERASED_KIND, RESIDENT, RETENTION
from bot.requests import personal as requests
from bot.runtime import inbox
from bot.storage import fsm
from bot.storage.db import Database
from bot.storage.residents import forget_consent
from bot.webchat import store as webchat

# Rows on their way to a staff group that would carry the resident's words, or the old card with them: they
# are not sent any more (the erased card takes their place).
CARRIES_WORDS = {"r": (Kind.RELAY_TO_GROUP, Kind.CARD_MOVED), "c": (Kind.CONSULT_TO_GROUP, Kind.CONSULT_CARD_MOVED)}
MOVED = {"r": Kind.CARD_MOVED, "c": Kind.CONSULT_CARD_MOVED}
KEY = {"r": "request_id", "c": "consultation_id"}
DROPPED = "personal data deleted"


def _since(now: datetime, days: int) -> str:
    return (now - timedelta(days=days)).astimezone(timezone.utc).isoformat(timespec="seconds")


async def _erased_cards(conn: Any, kind: str, ids: list[int], why: str) -> list[Outgoing]:
    """One 'card_erased' row per card of each request ("r") or consultation ("c") in a staff group: the card in
    use (its topic is the bot's own: the bot made it for this card) and any left in a group it was passed on
    from (a courtesy: that group may be gone). Read before the purge: the group messages that carried the
    resident's words are known by then only."""
    key = KEY[kind]
    rows = await (requests if kind == "r" else consultations).cards_in(conn, ids)
    moved = await outbox.payloads_in(conn, MOVED[kind], key, ids)
    relayed: dict[tuple[int, int], list[int]] = {}
    if kind == "r":
        for m in await requests.group_messages_in(conn, ids):
            relayed.setdefault((m["request_id"], m["chat_id"]), []).append(int(m["message_id"]))
    items = []
    for row in rows:
        target = Target.institution(row["community"], row["institution_id"])
        places = []
        if row["group_chat_id"] and row["card_message_id"]:
            places.append((row["group_chat_id"], row["card_message_id"], row["thread_id"], True))
        for p in moved:
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
    await outbox.drop_waiting_in(conn, CARRIES_WORDS["r"], "request_id", request_ids, DROPPED)
    await outbox.drop_waiting_in(conn, CARRIES_WORDS["c"], "consultation_id", consultation_ids, DROPPED)


async def erase(services: Any, user_id: int) -> int:
    """«Видалити мої дані»: in one transaction, every request and consultation of the resident loses its texts,
    files, contacts and their id (anonymous counts stay: status, institution, dates), open consultations end and
    booked times are cancelled (the group is told); their cards in the staff groups are edited (the outbox's
    'card_erased'), and nothing still on its way carries their words to a group; everything addressed to them
    waiting in the outbox goes; consent, news subscriptions, campaign recipient rows, raw updates, dialog states
    (drafts) go; link opens and failed /bind attempts stay counted without their id. Kept: the language and
    community (residents), so that the bot can go on answering them. Returns how many requests and
    consultations were cleared."""
    async with services.db.transaction() as conn:
        request_ids = await services.requests.ids_of_resident(conn, user_id)
        consultation_ids = await consultations.ids_of_resident(conn, user_id)
        cards = (await _erased_cards(conn, "r", request_ids, RESIDENT)
                 + await _erased_cards(conn, "c", consultation_ids, RESIDENT))
        await _quiet_outbox(conn, request_ids, consultation_ids)
        await services.requests.purge_in(conn, request_ids, RESIDENT)
        await services.consult.erase_resident_in(conn, user_id)
        await outbox.forget_target_in(conn, str(Target.resident(user_id)))
        await enqueue(conn, cards)
        await forget_consent(conn, user_id)
        await forget_person_in(conn, user_id)
        await forget_bind_attempts_in(conn, user_id)
        await inbox.forget_user_in(conn, user_id)
        await fsm.forget_user_in(conn, user_id)
        await links.forget_resident(conn, user_id)
        await webchat.forget_user_in(conn, user_id)
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
    return await fsm.forget_untouched(db, _since(now, days))


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
        "channel": (KEPT, "Telegram or the web chat: where the bot goes on answering the resident"),
    },
    "web_users": {
        "user_id": (KEPT, "the web chat the bot goes on answering (as the residents' user_id)"),
        **_all((KEPT, "the community the website named and the language, to go on answering"), "community", "locale"),
        "keyboard": (ERASED, "the buttons under the input: emptied"),
        "email": (ERASED, "the e-mail left for notices that something arrived: deleted"),
        **_all((ERASED, "when a notice was due and when the last went: deleted"), "notice_due_at", "noticed_at"),
        **_all(_TECH, "next_message", "version", "proven_at", "created_at"),
    },
    "web_sessions": _all((KEPT, "the browser's session (only a hash of its cookie): the resident goes on using "
                                "the chat after deleting their data"), "token_hash", "user_id", "csrf", "created_at",
                         "seen_at"),
    "web_messages": _all((ERASED, "what the resident's web chat showed: emptied (text, buttons and file gone)"),
                         "user_id", "message_id", "from_bot", "text", "markup", "file_id", "file_kind", "file_name",
                         "sent_at", "version", "deleted"),
    "web_files": _all((ERASED, "files the resident uploaded or was sent in the web chat: deleted"), "file_id",
                      "user_id", "content_type", "size", "content", "created_at"),
    "web_links": _all((ERASED, "one-time codes to continue on another device: deleted"), "code_hash", "user_id",
                      "expires_at"),
    "web_updates": _all((NOT_PERSONAL, "update numbers of the web chat and whose they were, pruned as they age"),
                        "id", "user_id", "at"),
    "consents": _all((ERASED, "the resident's consent: deleted"), "user_id", "version", "given_at"),
    "fsm_state": _all((ERASED, "dialog states (drafts with descriptions, phones, photos): deleted, and after "
                               "DRAFT_DAYS anyway"), "key", "state", "data", "updated_at"),
    "requests": {
        **_all((ERASED, "the resident's id, words and contacts: emptied"), "resident_id", "description",
               "contact_phone", "contact_name", "rating_comment"),
        **_all(_COUNT, "id", "public_id", "community", "kind", "anonymous", "service_id", "situation_id", "for_whom",
               "institution_id", "contact_method", "urgent", "danger", "status", "created_at", "updated_at",
               "due_at", "first_response_at", "closed_at", "rating", "reminded_at", "purged_at", "purged_why",
               "finish_reason", "due_warned_at", "topic_title"),
        **_all(_STAFF, "assignee_id", "assignee_label"),
        **_all((NOT_PERSONAL, "where the card is in the staff group (it says the data were deleted)"),
               "group_chat_id", "thread_id", "card_message_id"),
    },
    "request_events": {
        **_all((ERASED, "what the resident or staff wrote, and the resident's id: emptied"), "text", "actor_id"),
        **_all(_STAFF, "actor_label"),
        **_all(_COUNT, "id", "request_id", "at", "actor", "kind", "public", "institution_id", "reason"),
    },
    "request_files": _all((ERASED, "the resident's and staff's files: deleted"), "id", "request_id", "event_id",
                          "kind", "file_id", "file_name", "size"),
    "request_messages": _all((ERASED, "which bot message in which chat (the resident's too) was about the request: "
                                      "deleted"), "chat_id", "message_id", "request_id", "event_id", "at"),
    "guessed_follow_ups": _all((ERASED, "the resident's messages the bot added to a request: deleted"),
                               "event_id", "resident_id", "how", "token", "at", "undone_at"),
    "request_counters": _all(_TECH, "year", "last"),
    "request_confirmations": _all(_COUNT, "id", "request_id", "resolved_event_id", "resolved_at", "asked_at", "answer",
                                  "answered_at", "words_event_id"),  # the words are a history entry, erased there
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
    "staff": _all(_STAFF, "chat_id", "user_id", "role", "added_at", "first_name", "gone_at"),
    "reply_templates": {**_all((NOT_PERSONAL, "an institution's ready answers to residents, written by its staff"),
                               "id", "community", "institution_id", "text", "created_at", "updated_at",
                               "removed_at"),
                        "created_by": _STAFF},
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
