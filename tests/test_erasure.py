"""«Видалити мої дані» against the whole schema: every table and column is classified (bot.privacy.SCHEMA), read
from the database itself, and after the deletion no column but the ones kept on purpose names the resident."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.privacy import erasure as privacy
from bot.requests.models import Attachment, Draft
from bot.runtime import inbox
from bot.storage.fsm import SQLiteStorage
from tests.support.clock import IN_HOURS

RESIDENT = 987_654_321
STAFF = 7
GROUP = -100_555
PHONE = "+380671234567"
# what names the resident: their id, the phone (also as typed), the name, words of their texts, their files
MARKERS = [str(RESIDENT), "671234567", "Оксана Петрівна", "Гірчичниця", "ПЕРЕДЗВОНІТЬ", "PHOTO-OKSANA",
           "довідка-оксани.pdf", "консультаційне-питання", "коментар-оксани", "чернетка-оксани", "VOICE-OKSANA"]


async def schema(db) -> dict[str, list[str]]:
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return {t["name"]: [c["name"] for c in await db.fetchall(f"PRAGMA table_info('{t['name']}')")] for t in tables}


async def holders(db, columns: dict[str, list[str]]) -> set[tuple[str, str, str]]:
    """(table, column, marker) for every marker found in any value of any column."""
    found = set()
    for table, names in columns.items():
        for column in names:
            for marker in MARKERS:
                row = await db.fetchone(f"SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE ?",
                                        (f"%{marker}%",))
                if row[0]:
                    found.add((table, column, marker))
    return found


async def test_every_table_and_column_is_classified(harness) -> None:
    db = harness.app.services.db
    columns = await schema(db)
    missing = [f"{t}.{c}" for t, names in columns.items() for c in names if c not in privacy.SCHEMA.get(t, {})]
    assert not missing, f"classify these in bot.privacy.SCHEMA (personal or not, with a reason): {missing}"
    stale = [f"{t}.{c}" for t, cols in privacy.SCHEMA.items() for c in cols if c not in columns.get(t, [])]
    assert not stale, f"no longer in the schema: {stale}"
    for table, cols in privacy.SCHEMA.items():
        for column, (kind, reason) in cols.items():
            assert kind in (privacy.ERASED, privacy.KEPT, privacy.NOT_PERSONAL) and len(reason) > 10, (table, column)


async def fill(services) -> dict[str, int]:
    """The resident everywhere the schema lets them be: a request with a phone, a description, a photo, a
    follow-up (one the bot guessed), an answer; a consultation with a file and a comment; a booking; consent,
    news, a link opened, a campaign message, a draft, a raw update, a failed /bind."""
    requests, consult, db = services.requests, services.consult, services.db
    await services.residents.set_locale(RESIDENT, "uk")
    await services.residents.set_community(RESIDENT, "lutsk")
    await services.residents.give_consent(RESIDENT, 1)
    code = await services.groups.create_bind_code("lutsk", "tcso", created_by=1)
    await services.groups.bind(GROUP, code, title="Група", is_forum=True, user_id=STAFF)
    request = await requests.create(Draft(
        community="lutsk", resident_id=RESIDENT, service_id="home-care", for_whom="self",
        description="Гірчичниця: Оксана Петрівна просить ПЕРЕДЗВОНІТЬ", contact_method="telegram",
        contact_phone=PHONE, contact_name="Оксана Петрівна",
        files=[Attachment("photo", "PHOTO-OKSANA"), Attachment("document", "DOC-1", "довідка-оксани.pdf", 10)]))
    await requests.set_card(request.id, GROUP, 11, 12)
    await requests.reply(GROUP, request.id, STAFF, "соціальний працівник", "Оксано Петрівно, передзвонимо")
    await requests.resident_message(RESIDENT, request.id, "Гірчичниця ще раз", [Attachment("voice", "VOICE-OKSANA")])
    await requests.guessed_message(RESIDENT, request.id, "Гірчичниця втретє", update_id=77, how="awaiting")
    await requests.remember_messages(RESIDENT, [5, 6], request.id)  # in the resident's chat
    await requests.remember_messages(GROUP, [13, 14], request.id)  # relayed into the group
    await db.execute("UPDATE requests SET rating_comment = 'коментар-оксани' WHERE id = ?", (request.id,))

    consultation = await consult.start(RESIDENT, "lutsk", "legal", "консультаційне-питання Оксани Петрівни")
    await consult.set_card(consultation.id, GROUP, 21, 22)
    await consult.resident_says(RESIDENT, "", [Attachment("photo", "PHOTO-OKSANA-2")])
    await db.execute("UPDATE consultations SET rating_comment = 'коментар-оксани' WHERE id = ?", (consultation.id,))
    [slot, *_rest] = await consult.free_slots("lutsk", "legal")
    await consult.book(RESIDENT, "lutsk", "legal", slot)

    await services.subscriptions.set(RESIDENT, "older", True)
    await db.execute("INSERT INTO link_opens (code, kind, community, user_id, opened_at) VALUES "
                     "('q-lutsk', 'community', 'lutsk', ?, '2026-11-30T10:00:00+00:00')", (RESIDENT,))
    await db.execute("INSERT INTO campaigns (id, created_by, created_at, status, topic, text, audience) VALUES "
                     "(1, 1, '2026-11-30T10:00:00+00:00', 'done', 'older', 'Новини', '{}')")
    await db.execute("INSERT INTO campaign_recipients (campaign_id, user_id, locale, status) VALUES (1, ?, 'uk', "
                     "'delivered')", (RESIDENT,))
    await db.execute("INSERT INTO bind_attempts (chat_id, user_id, at) VALUES (-5, ?, '2026-11-30T10:00:00+00:00')",
                     (RESIDENT,))
    storage = SQLiteStorage(db)
    await storage.set_data(StorageKey(bot_id=1, chat_id=RESIDENT, user_id=RESIDENT),
                           {"description": "чернетка-оксани", "phone": PHONE})
    update = {"update_id": 900, "message": {"message_id": 1, "date": 0, "text": "Гірчичниця",
                                            "chat": {"id": RESIDENT, "type": "private"},
                                            "from": {"id": RESIDENT, "is_bot": False, "first_name": "Оксана"}}}
    other = {"update_id": 901, "message": {"message_id": 1, "date": 0, "text": "інше",
                                           "chat": {"id": 42, "type": "private"},
                                           "from": {"id": 42, "is_bot": False, "first_name": "Ігор"}}}
    await inbox.keep(db, [(900, json.dumps(update, ensure_ascii=False)), (901, json.dumps(other))])
    return {"request": request.id, "consultation": consultation.id}


async def test_deletion_leaves_nothing_that_names_the_resident(harness) -> None:
    services = harness.app.services
    services.consult.clock = lambda: IN_HOURS
    services.requests.clock = lambda: IN_HOURS
    db = services.db
    ids = await fill(services)
    columns = await schema(db)

    before = await holders(db, columns)
    erased = {(t, c) for t, cols in privacy.SCHEMA.items() for c, (kind, _r) in cols.items() if kind == privacy.ERASED}
    # the test means something only if the resident is really everywhere it looks: every column that can hold a
    # resident's data holds some of this one's before the deletion
    empty = {(t, c) for t, c in erased if not any(h[:2] == (t, c) for h in before)}
    # (columns that never hold a marker by nature: numbers and codes of rows that are deleted whole)
    by_nature = {("consents", "version"), ("consents", "given_at"), ("fsm_state", "state"),
                 ("fsm_state", "updated_at"), ("request_files", "id"), ("request_files", "request_id"),
                 ("request_files", "event_id"), ("request_files", "kind"), ("request_files", "size"),
                 ("request_messages", "message_id"), ("request_messages", "request_id"),
                 ("request_messages", "event_id"), ("request_messages", "at"), ("guessed_follow_ups", "event_id"),
                 ("guessed_follow_ups", "how"), ("guessed_follow_ups", "token"), ("guessed_follow_ups", "at"),
                 ("guessed_follow_ups", "undone_at"), ("subscriptions", "topic"), ("subscriptions", "subscribed"),
                 ("subscriptions", "updated_at"), ("campaign_recipients", "campaign_id"),
                 ("campaign_recipients", "locale"), ("campaign_recipients", "status"),
                 ("campaign_recipients", "attempts"), ("campaign_recipients", "next_attempt_at"),
                 ("campaign_recipients", "error"), ("campaign_recipients", "sent_at"), ("inbox", "update_id"),
                 ("inbox", "received_at"), ("inbox", "attempts"), ("outbox", "payload")}
    # the web chat's tables hold a web resident's data only: their deletion is in tests/test_webchat_channel.py
    by_nature |= {(t, c) for t, c in erased if t.startswith("web_")}
    assert empty <= by_nature, f"the test data leave these empty: {sorted(empty - by_nature)}"

    cleared = await privacy.erase(services, RESIDENT)
    assert cleared == 2

    after = await holders(db, columns)
    kept = {(t, c) for t, cols in privacy.SCHEMA.items() for c, (kind, _r) in cols.items() if kind == privacy.KEPT}
    leaks = sorted(h for h in after if h[:2] not in kept)
    assert not leaks, f"still naming the resident after the deletion: {leaks}"
    assert {h[:2] for h in after} <= {("residents", "user_id")}
    for table, column in sorted(erased):
        row = await db.fetchone(f"SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = ?", (RESIDENT,))
        assert row[0] == 0, (table, column)

    # the other person's raw update stays; the counts stay
    assert [r["update_id"] for r in await db.fetchall("SELECT update_id FROM inbox")] == [901]
    request = await services.requests.get(ids["request"])
    assert request.purged_why == "resident" and request.status.value == "in_progress"
    assert request.institution_id == "tcso"
    consultation = await services.consult.get(ids["consultation"])
    assert consultation.purged_why == "resident" and consultation.status == "ended"
    assert (await db.fetchone("SELECT COUNT(*) FROM bookings WHERE status = 'cancelled'"))[0] == 1
    assert (await db.fetchone("SELECT COUNT(*) FROM link_opens WHERE user_id < 0"))[0] == 1

    # the staff group is told through the outbox, written with the deletion: both cards, with the topic and the
    # relayed messages; nothing left to the resident; the group hears the booking was cancelled
    rows = await db.fetchall("SELECT kind, target, status, payload FROM outbox ORDER BY id")
    erasing = [json.loads(r["payload"]) for r in rows if r["kind"] == privacy.ERASED_KIND]
    assert sorted((("r", p["request_id"]) if "request_id" in p else ("c", p["consultation_id"]), p["chat_id"],
                   p["message_id"], p["thread_id"], p["why"], p["current"]) for p in erasing) == [
        (("c", ids["consultation"]), GROUP, 22, 21, "resident", True),
        (("r", ids["request"]), GROUP, 12, 11, "resident", True)]
    assert [p["messages"] for p in erasing if p.get("request_id")] == [[13, 14]]
    assert not [r for r in rows if r["target"] == f"resident:{RESIDENT}"]
    assert any(r["kind"] == "booking_cancelled_to_group" for r in rows)
    assert not [r for r in rows if r["kind"] in ("relay_to_group", "consult_to_group") and r["status"] == "pending"]


async def test_retention_marks_the_cards_too(harness) -> None:
    services = harness.app.services
    services.consult.clock = lambda: IN_HOURS
    services.requests.clock = lambda: IN_HOURS
    db = services.db
    ids = await fill(services)
    await db.execute("UPDATE requests SET status = 'closed', closed_at = '2020-01-01T00:00:00+00:00'")
    await db.execute("UPDATE consultations SET status = 'ended', ended_at = '2020-01-01T00:00:00+00:00'")
    assert await privacy.expire(services, IN_HOURS) == 2
    request = await services.requests.get(ids["request"])
    assert request.description is None and request.purged_why == "retention"
    rows = await db.fetchall("SELECT payload FROM outbox WHERE kind = ?", (privacy.ERASED_KIND,))
    assert sorted(json.loads(r["payload"])["why"] for r in rows) == ["retention", "retention"]
    assert await privacy.expire(services, IN_HOURS) == 0  # once


@pytest.mark.parametrize("days", [7])
async def test_a_draft_expires(harness, days) -> None:
    db = harness.app.services.db
    now = {"t": IN_HOURS}
    storage = SQLiteStorage(db, max_age=timedelta(days=days), clock=lambda: now["t"])
    key = StorageKey(bot_id=1, chat_id=RESIDENT, user_id=RESIDENT)
    await storage.set_state(key, "RequestForm:description")
    await storage.set_data(key, {"description": "чернетка-оксани", "phone": PHONE})
    now["t"] += timedelta(days=days) - timedelta(minutes=1)
    assert (await storage.get_data(key))["phone"] == PHONE  # still there just before
    now["t"] += timedelta(minutes=2)
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}  # even from memory
    assert (await db.fetchone("SELECT COUNT(*) FROM fsm_state"))[0] == 0
    # housekeeping's daily pass deletes what nobody reads again
    other = SQLiteStorage(db, clock=lambda: IN_HOURS)
    await other.set_data(StorageKey(bot_id=1, chat_id=5, user_id=5), {"description": "x"})
    assert await privacy.expire_drafts(db, IN_HOURS + timedelta(days=days - 1), days) == 0
    assert await privacy.expire_drafts(db, IN_HOURS + timedelta(days=days + 1), days) == 1
