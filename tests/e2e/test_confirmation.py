"""«Чи отримали ви допомогу?» end to end: days after a request is resolved the housekeeping's timer asks the resident
(on the requests' clock), and each answer does what it says: «Так» is kept and nothing reopens; «Частково» and «Ні»
reopen the request, the group sees it in the card's topic with the resident's words, and a second «Ні» after a second
resolution reaches the administrators. A request closed without any answer to the resident is not asked."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.runtime import housekeeping as housekeeping_module
from bot.runtime.housekeeping import ask_whether_helped
from sandbox.client import message_text
from tests.support.staff import file_request, finish_request, staff_group
from tests.support.world import ADMIN_ID, Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")

QUESTION = "Чи отримали ви допомогу?"
LABEL = "соціальна працівниця"


async def nothing(services: Any) -> int:
    return 0


@pytest.fixture
def clock(world: World, monkeypatch):
    """The requests' clock, far from every other test's requests (so that the question reaches only this test's
    residents); the housekeeping's reminders stay off meanwhile: on this clock every open request of the run is
    late."""
    requests = world.services.requests
    original = requests.clock
    now = {"t": datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=400)}
    requests.clock = lambda: now["t"]
    monkeypatch.setattr(housekeeping_module, "remind", nothing)
    yield now
    requests.clock = original


async def seen(world: World, chat_id: int, after: int, words: str, thread_id: int | None = None) -> dict[str, Any]:
    """The first message of the bot in the chat after `after` that contains `words`."""
    for _ in range(12):
        got = await world.client.wait_bot_messages(chat_id, after, 1, timeout=8, thread_id=thread_id)
        for message in got:
            if words in message_text(message):
                return message
        after = got[-1]["message_id"]
    raise AssertionError(f"no message with {words!r} in chat {chat_id}")


async def questions(world: World, request_id: int) -> list[str]:
    rows = await world.services.db.fetchall("SELECT answer FROM request_confirmations WHERE request_id = ? "
                                            "ORDER BY id", (request_id,))
    return [r["answer"] for r in rows]


async def outbox_rows(world: World, request_id: int) -> list[tuple[str, str]]:
    """What the question sent about the request, and to whom."""
    rows = await world.services.db.fetchall("SELECT target, payload FROM outbox WHERE kind = 'confirmation' "
                                            "AND request_id = ? ORDER BY id", (request_id,))
    return [(json.loads(r["payload"])["what"], r["target"].split(":")[0]) for r in rows]


async def answered_and_resolved(world: World, clock: dict, group_id: int, staff: Person, person: Person,
                                *, answer: bool = True) -> tuple[int, int]:
    """A request of `person` (through the form), taken by the staff member in its topic and answered there unless
    not `answer`, and resolved a day later. Returns the request's id and its topic."""
    after = await world.client.last_id(group_id)
    await file_request(person, situation="Літня людина потребує догляду", contact="chat")
    card = await seen(world, group_id, after, "Звернення №")
    staff.thread_id = card["message_thread_id"]
    request = (await world.services.requests.for_resident(person.id))[0]
    mark = person._last_id
    await staff.tap("🙋 Взяти")
    person._absorb([await seen(world, person.chat_id, mark, "взяв ваше звернення")])
    if answer:
        await staff.say(f"/role {LABEL}")
        mark = person._last_id
        [sent] = await staff.say("Домовилися: соціальна працівниця прийде в четвер о 10:00.")
        assert "Надіслано мешканцю" in message_text(sent)
        person._absorb([await seen(world, person.chat_id, mark, "Відповідь на ваше звернення")])
    clock["t"] += timedelta(days=1)
    await resolve(world, staff, person)
    return request.id, staff.thread_id


async def resolve(world: World, staff: Person, person: Person) -> None:
    """The staff member resolves the request of the topic as the card's buttons offer: «✅ Вирішено», a reason,
    «Так»."""
    mark = person._last_id
    await staff.tap("✅ Вирішено", new=1)
    await staff.tap("Допомогли")
    await staff.tap("✅ Так, вирішено")
    person._absorb([await seen(world, person.chat_id, mark, "як вирішене")])


async def asked(world: World, clock: dict, person: Person) -> dict[str, Any]:
    """Three days on, the housekeeping's timer asks; returns the question the resident got."""
    clock["t"] += timedelta(days=3, minutes=1)
    mark = person._last_id
    await ask_whether_helped(world.services)
    question = await seen(world, person.chat_id, mark, QUESTION)
    person._absorb([question])
    assert buttons(question) == ["✅ Так", "🌓 Частково", "❌ Ні"]
    return question


async def test_yes_is_kept_and_nothing_reopens(world: World, clock) -> None:
    group_id, staff = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Ганна")
    request_id, _ = await answered_and_resolved(world, clock, group_id, staff, person)
    clock["t"] += timedelta(days=2)
    await ask_whether_helped(world.services)  # two days after: not yet
    assert await questions(world, request_id) == []
    question = await asked(world, clock, person)
    *edited, thanks = await person.tap("✅ Так", new=1)
    assert [buttons(m) for m in edited if m["message_id"] == question["message_id"]] in ([], [[]])  # buttons gone
    assert "Раді, що допомога надійшла" in message_text(thanks)
    assert (await world.services.requests.get(request_id)).status.value == "resolved"
    assert await questions(world, request_id) == ["yes"]
    # a repeated (stale) press changes nothing, and nothing goes to the group
    no = question["reply_markup"]["inline_keyboard"][0][2]["callback_data"]
    answer = await person.forge(question, no)
    assert "вже збережено" in answer["text"]
    assert (await world.services.requests.get(request_id)).status.value == "resolved"
    await ask_whether_helped(world.services)  # asked once per resolution
    assert await questions(world, request_id) == ["yes"]
    assert await outbox_rows(world, request_id) == [("ask", "resident")]


async def test_partly_and_no_reopen_with_the_words_and_the_second_time_the_administrators(world: World,
                                                                                           clock) -> None:
    group_id, staff = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Тамара")
    request_id, thread = await answered_and_resolved(world, clock, group_id, staff, person)
    await asked(world, clock, person)
    after = await world.client.last_id(group_id)
    *_, prompt = await person.tap("🌓 Частково", new=1)
    assert "знову в роботі" in message_text(prompt) and buttons(prompt) == ["Пропустити"]
    assert (await world.services.requests.get(request_id)).status.value == "in_progress"
    notice = await seen(world, group_id, after, "допомога", thread_id=thread)
    assert "не надійшла" in message_text(notice) and "частково" in message_text(notice)
    [sent] = await person.say("Приходили лише раз, а обіцяли щотижня")
    assert "Передано фахівцям" in message_text(sent)
    words = await seen(world, group_id, after, "Приходили лише раз", thread_id=thread)
    assert words["message_thread_id"] == thread

    # resolved again, asked again: «Ні» reaches the administrators, since it was reopened before
    await resolve(world, staff, person)
    await asked(world, clock, person)
    admin_mark = await world.client.last_id(ADMIN_ID)
    after = await world.client.last_id(group_id)
    await person.tap("❌ Ні", new=1)
    await person.tap("Пропустити", new=1)
    notice = await seen(world, group_id, after, "не надійшла", thread_id=thread)
    assert "«ні»" in message_text(notice)
    told = await seen(world, ADMIN_ID, admin_mark, "знову каже")
    number = (await world.services.requests.get(request_id)).public_id
    assert number in message_text(told)
    assert await questions(world, request_id) == ["partly", "no"]
    assert await outbox_rows(world, request_id) == [("ask", "resident"), ("not_helped", "institution"),
                                                    ("words", "institution"), ("ask", "resident"),
                                                    ("not_helped", "institution")]
    await finish_request(world, staff.id, group_id, request_id, resolved=False, reason="duplicate")  # tidy for later


async def test_closed_without_an_answer_is_not_asked(world: World, clock) -> None:
    group_id, staff = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Софія")
    request_id, _ = await answered_and_resolved(world, clock, group_id, staff, person, answer=False)
    clock["t"] += timedelta(days=3, minutes=1)
    await ask_whether_helped(world.services)
    assert await questions(world, request_id) == [] and await outbox_rows(world, request_id) == []
    clock["t"] += timedelta(days=10)
    await ask_whether_helped(world.services)
    assert await questions(world, request_id) == []
