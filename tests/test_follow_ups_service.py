"""What the requests service keeps for words meant for a request (dialogs/resident/follow_ups.py): which requests wait
for the resident's answer, which bot message is about which request, and a guessed follow-up taken back once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.requests.service import RequestError
from tests.support import request_service
from tests.support.request_service import bound, draft

db = request_service.db  # the fixtures, here for pytest to find
service = request_service.service

RESIDENT = 100


async def answered(service, resident_id=RESIDENT):  # noqa: F811
    group = await bound(service)
    request = await service.create(draft(resident_id=resident_id))
    await service.reply(group.chat_id, request.id, 7, "соціальний працівник", "Коли вам зручно?")
    return group, request


async def test_a_request_waits_for_the_resident_after_a_specialists_answer(service):  # noqa: F811
    request = await service.create(draft())
    assert await service.awaiting_reply(RESIDENT) == []  # nobody has answered: it waits for the institution
    group = await bound(service)
    await service.reply(group.chat_id, request.id, 7, "соціальний працівник", "Коли вам зручно?")
    now = datetime.now(timezone.utc)
    assert [r.id for r in await service.awaiting_reply(RESIDENT)] == [request.id]
    assert await service.awaiting_reply(RESIDENT, now + timedelta(days=15)) == []  # an old answer
    assert await service.awaiting_reply(RESIDENT + 1) == []  # someone else's

    # the resident's own answer: more of it may follow for a few minutes, then the request waits for the staff
    await service.resident_message(RESIDENT, request.id, "У вівторок")
    assert [r.id for r in await service.awaiting_reply(RESIDENT, now + timedelta(minutes=5))] == [request.id]
    assert await service.awaiting_reply(RESIDENT, now + timedelta(minutes=11)) == []

    # passed to another institution: nothing waits until that one answers
    await service.reply(group.chat_id, request.id, 7, "соціальний працівник", "А адреса?")
    assert len(await service.awaiting_reply(RESIDENT)) == 1
    await service.redirect(group.chat_id, request.id, 7, "соціальний працівник", "dsvp", "Це питання пільг")
    assert await service.awaiting_reply(RESIDENT) == []


async def test_finished_requests_wait_for_nothing(service):  # noqa: F811
    group, request = await answered(service)
    await service.finish(group.chat_id, request.id, 7, "соціальний працівник", resolved=True)
    assert await service.awaiting_reply(RESIDENT) == []


async def test_the_latest_answered_comes_first(service):  # noqa: F811
    group, first = await answered(service)
    second = await service.create(draft(description="Друге"))
    await service.reply(group.chat_id, second.id, 7, "соціальний працівник", "Друге питання")
    assert [r.id for r in await service.awaiting_reply(RESIDENT)] == [second.id, first.id]
    await service.reply(group.chat_id, first.id, 7, "соціальний працівник", "Ще одне")
    assert [r.id for r in await service.awaiting_reply(RESIDENT)] == [first.id, second.id]


async def test_messages_about_a_request_and_deleting_the_data(service, db):  # noqa: F811
    _, request = await answered(service)
    await service.remember_messages(RESIDENT, [41, 42], request.id)
    assert await service.request_of_message(RESIDENT, 41) == request.id
    assert await service.request_of_message(RESIDENT + 1, 41) is None  # message ids are per chat
    assert await service.request_of_message(RESIDENT, 43) is None
    guessed = await service.guessed_message(RESIDENT, request.id, "гарячі обіди", update_id=5, how="awaiting")
    await service.remember_messages(-100, [9], request.id, guessed.event_id)
    assert await service.messages_of_event(guessed.event_id, -100) == [9]
    await service.delete_personal_data(RESIDENT)
    for table in ("request_messages", "guessed_follow_ups"):
        assert (await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}"))["n"] == 0


async def test_a_guessed_follow_up_is_taken_back_once_by_its_owner(service, db):  # noqa: F811
    _, request = await answered(service)
    guessed = await service.guessed_message(RESIDENT, request.id, "гарячі обіди", update_id=11, how="quote")
    with pytest.raises(RequestError) as again:  # the same update handled twice: stored once
        await service.guessed_message(RESIDENT, request.id, "гарячі обіди", update_id=11, how="quote")
    assert again.value.reason == "duplicate"
    for resident_id, event_id, token in ((RESIDENT + 1, guessed.event_id, guessed.token),  # someone else
                                         (RESIDENT, guessed.event_id, "00000000"),  # a made-up token
                                         (RESIDENT, guessed.event_id + 1, guessed.token),  # another entry
                                         (RESIDENT, 2 ** 70, guessed.token), (RESIDENT, -1, guessed.token)):
        with pytest.raises(RequestError) as refused:
            await service.withdraw_guessed(resident_id, event_id, token)
        assert refused.value.reason == "not_found"
    assert [e.kind for e in await service.history(request.id, public_only=True)][-1] == "resident_message"

    taken, text = await service.withdraw_guessed(RESIDENT, guessed.event_id, guessed.token)
    assert taken.id == request.id and text == "гарячі обіди"
    events = await service.history(request.id, public_only=False)
    assert events[-1].kind == "resident_message_withdrawn" and events[-1].text is None and not events[-1].public
    assert "resident_message" not in [e.kind for e in await service.history(request.id, public_only=True)]
    kinds = [r["kind"] for r in await db.fetchall("SELECT kind FROM outbox ORDER BY id")]
    assert kinds[-2:] == ["relay_to_group", "relay_withdrawn"]
    with pytest.raises(RequestError) as twice:
        await service.withdraw_guessed(RESIDENT, guessed.event_id, guessed.token)
    assert twice.value.reason == "done"
    assert [r["kind"] for r in await db.fetchall("SELECT kind FROM outbox ORDER BY id")] == kinds
    # taken back, the request waits for the resident's answer again
    assert [r.id for r in await service.awaiting_reply(RESIDENT)] == [request.id]
