"""Words meant for a request, not for the search (dialogs/resident/follow_ups.py), end to end: a quote-reply to a
specialist's answer, a free text while a request waits for the resident's answer, «🔎 Це був пошук?», several
requests waiting, and an open consultation that keeps its messages."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.requests.models import Draft
from sandbox.client import message_text
from tests.support.consult import buttons_data, choose_topic
from tests.support.staff import file_request, finish_request, group_messages, number_of, staff_group
from tests.support.world import Person, World, buttons, last_call_seq, settle_calls

pytestmark = pytest.mark.asyncio(loop_scope="package")
ELDER = "Літня людина потребує догляду"
UNDO = "🔎 Це був пошук?"
SEARCH_WORDS = "гарячі обіди для пенсіонерів"  # a search the catalogue of Lutsk serves


async def card_of(world: World, group_id: int, after: int, number: str) -> dict[str, Any]:
    """The card of request `number` in the group (a newly bound group may get other open cards of its
    institution first)."""
    while True:
        arrived = await group_messages(world, group_id, after)
        for message in arrived:
            if f"Звернення № {number}" in message_text(message):
                return message
        after = max(m["message_id"] for m in arrived)


async def answered(world: World, name: str, question: str = "Чи зручно вам у вівторок о 10:00?",
                   group: tuple[int, Person] | None = None) -> tuple[Person, Person, int, int, str, dict[str, Any]]:
    """A resident with a request of the institution's group; a specialist answered it in its topic. Returns the
    resident, the specialist, the group, the topic, the request's number and the answer the resident got."""
    group_id, staff = group or await staff_group(world, "tcso")
    person = await world.resident("lutsk", name=name)
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation=ELDER, contact="chat"))
    card = await card_of(world, group_id, after, number)
    thread = card["message_thread_id"]
    answer = await answer_in_topic(world, staff, person, group_id, thread, question)
    return person, staff, group_id, thread, number, answer


async def answer_in_topic(world: World, staff: Person, person: Person, group_id: int, thread: int,
                          text: str) -> dict[str, Any]:
    staff.chat_id, staff.thread_id = group_id, thread
    mark = person._last_id
    [sent] = await staff.say(text)
    assert "Надіслано мешканцю" in message_text(sent)
    [answer] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    person._absorb([answer])
    assert "Відповідь на ваше звернення" in message_text(answer) and text in message_text(answer)
    return answer


def data_of(message: dict[str, Any], text: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if button["text"] == text:
                return button["callback_data"]
    raise AssertionError(f"no button {text!r} in {buttons(message)}")


async def quiet(world: World, *chats: int) -> dict[int, int]:
    """Let the bot finish (no Bot API call for 0.3 s), then the newest message id of each chat."""
    await settle_calls(world.client, await last_call_seq(world.client), quiet=0.3)
    return {chat: await world.client.last_id(chat) for chat in chats}


async def test_a_quote_reply_to_an_answer_goes_to_its_request(world: World) -> None:
    person, _, group_id, thread, number, answer = await answered(world, "Марта")
    mark_group = await world.client.last_id(group_id)
    [added] = await person.reply(answer, "Так, у вівторок зручно, я буду вдома")
    assert f"Додано до звернення №{number} — фахівець побачить" in message_text(added)
    assert buttons(added) == [UNDO]
    [relayed] = await group_messages(world, group_id, mark_group, thread_id=thread)
    assert "Так, у вівторок зручно, я буду вдома" in message_text(relayed) and number in message_text(relayed)
    request = (await world.services.requests.for_resident(person.id))[0]
    events = await world.services.requests.history(request.id, public_only=True)
    assert [e.text for e in events if e.kind == "resident_message"] == ["Так, у вівторок зручно, я буду вдома"]


async def test_it_was_a_search_takes_the_message_back_and_searches(world: World) -> None:
    person, _, group_id, thread, number, answer = await answered(world, "Семен")
    mark_group = await world.client.last_id(group_id)
    [added] = await person.reply(answer, SEARCH_WORDS)
    assert f"Додано до звернення №{number}" in message_text(added)
    [relayed] = await group_messages(world, group_id, mark_group, thread_id=thread)
    assert SEARCH_WORDS in message_text(relayed)
    undo = data_of(added, UNDO)

    mark_group = await world.client.last_id(group_id)
    changed = await person.tap(UNDO, new=1)
    edited = next(m for m in changed if m["message_id"] == added["message_id"])
    assert f"Прибрано зі звернення №{number}" in message_text(edited) and not buttons(edited)
    results = [m for m in changed if m["message_id"] != added["message_id"]]
    assert results and buttons(results[-1])[0].startswith("1. "), [message_text(m) for m in results]
    # the staff side: the message is removed from the topic and a short note says why
    [note] = await group_messages(world, group_id, mark_group, thread_id=thread)
    assert "забрав своє повідомлення" in message_text(note) and number in message_text(note)
    assert SEARCH_WORDS not in message_text(note)
    left = await world.client.messages(group_id, thread_id=thread)
    assert not any(m["message_id"] == relayed["message_id"] and not m.get("deleted") for m in left)
    request = (await world.services.requests.for_resident(person.id))[0]
    events = await world.services.requests.history(request.id, public_only=False)
    assert not any(SEARCH_WORDS in (e.text or "") for e in events)
    assert [e.kind for e in events].count("resident_message_withdrawn") == 1

    # pressed again (a second tap, a replay): nothing changes on either side
    marks = await quiet(world, person.chat_id, group_id)
    again = await person.forge(added, undo)
    assert "Уже зроблено" in again["text"]
    assert await quiet(world, person.chat_id, group_id) == marks
    # and no one else can press it, nor a made-up token
    stranger = await world.resident("lutsk", name="Сторонній")
    [menu] = await stranger.say("/menu")
    forged = await stranger.forge(menu, undo)
    assert "Уже зроблено" not in forged["text"] and "Прибрано" not in forged["text"]
    fu, action, rid, eid, token = undo.split(":")
    forged = await person.forge(added, f"{fu}:{action}:{rid}:{eid}:{'0' * len(token)}")
    assert "Уже зроблено" not in forged["text"]
    assert await quiet(world, person.chat_id, group_id) == marks


async def test_a_free_text_while_one_request_awaits_the_answer_goes_to_it(world: World) -> None:
    person, _, group_id, thread, number, _answer = await answered(world, "Ольга", "Надішліть, будь ласка, адресу")
    mark_group = await world.client.last_id(group_id)
    [added] = await person.say("вулиця Лесі Українки, 5, квартира 12")
    assert f"Додано до звернення №{number} — фахівець побачить" in message_text(added)
    assert "чекає на вашу відповідь" in message_text(added) and buttons(added) == [UNDO]
    [relayed] = await group_messages(world, group_id, mark_group, thread_id=thread)
    assert "Лесі Українки, 5" in message_text(relayed)
    # a photo a moment later, the rest of the answer, goes there too (no search to turn a photo into: no button)
    mark_group = await world.client.last_id(group_id)
    [added] = await person.send_photo()
    assert f"Додано до звернення №{number}" in message_text(added) and not buttons(added)
    header, photo = await group_messages(world, group_id, mark_group, count=2, thread_id=thread)
    assert number in message_text(header) and photo.get("photo")


async def test_danger_comes_first_wherever_the_words_go(world: World) -> None:
    person, _, group_id, thread, number, _answer = await answered(world, "Софія", "Як ви почуваєтеся вдома?")
    mark_group = await world.client.last_id(group_id)
    emergency, added = await person.say("Чоловік б'є мене і погрожує", count=2)
    assert "102" in message_text(emergency)
    assert f"Додано до звернення №{number}" in message_text(added)
    [relayed] = await group_messages(world, group_id, mark_group, thread_id=thread)
    assert "Чоловік б'є мене" in message_text(relayed)


async def test_a_free_text_without_an_awaiting_request_is_a_search(world: World) -> None:
    newcomer = await world.resident("lutsk", name="Новенька")
    [results] = await newcomer.say(SEARCH_WORDS)
    assert "Додано" not in message_text(results) and buttons(results)[0].startswith("1. ")
    # an open request nobody has answered yet waits for the institution, not for the resident
    group_id, _ = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Очікувальниця")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation=ELDER, contact="chat"))
    await card_of(world, group_id, after, number)
    mark_group = await world.client.last_id(group_id)
    [results] = await person.say(SEARCH_WORDS)
    assert "Додано" not in message_text(results) and buttons(results)[0].startswith("1. ")
    assert await quiet(world, group_id) == {group_id: mark_group}


async def test_a_quote_reply_to_a_finished_request_is_not_sent(world: World) -> None:
    person, staff, group_id, thread, number, answer = await answered(world, "Ярема")
    mark = person._last_id
    card = next(m for m in await world.client.messages(group_id, thread_id=thread)
                if f"Звернення № {number}" in message_text(m))
    request = await world.services.requests.by_card(group_id, card["message_id"])
    await finish_request(world, staff.id, group_id, request.id)
    [finished] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    person._absorb([finished])
    mark_group = await world.client.last_id(group_id)
    [told] = await person.reply(answer, "А ще питання")
    assert f"Звернення №{number} уже завершене" in message_text(told)
    assert await quiet(world, group_id) == {group_id: mark_group}


async def test_several_requests_awaiting_ask_which(world: World) -> None:
    group = await staff_group(world, "tcso")
    person, staff, group_id, thread_a, number_a, _ = await answered(world, "Тарас", "Перше питання", group=group)
    after = await world.client.last_id(group_id)
    # the second request straight through the service: the form again would take the resident over the rate limit
    second = await world.services.requests.create(Draft(
        community="lutsk", resident_id=person.id, situation_id="older_care", for_whom="self",
        description="Сусідці теж потрібен догляд", contact_method="chat"))
    world.services.wake_outbox()
    number_b = second.public_id
    card_b = await card_of(world, group_id, after, number_b)
    await answer_in_topic(world, staff, person, group_id, card_b["message_thread_id"], "Друге питання")

    [which] = await person.say("Так, усе правильно")
    assert "кілька звернень" in message_text(which)
    labels = buttons(which)
    assert any(number_a in b for b in labels) and any(number_b in b for b in labels) and labels[-1] == "🔎 Це пошук"
    mark_group = await world.client.last_id(group_id)
    changed = await person.tap(next(b for b in labels if number_a in b), new=1)
    assert f"Додано до звернення №{number_a}" in message_text(changed[-1])
    assert not buttons(changed[-1])  # picked by the resident: nothing to take back
    [relayed] = await group_messages(world, group_id, mark_group, thread_id=thread_a)
    assert "Так, усе правильно" in message_text(relayed)
    # the choice is spent: the same button again changes nothing
    marks = await quiet(world, person.chat_id, group_id)
    stale = await person.forge(which, data_of(which, next(b for b in labels if number_b in b)))
    assert "застаріла" in stale["text"]
    assert await quiet(world, person.chat_id, group_id) == marks

    # both still wait (the first one: the resident is in the middle of answering): ask again, «it is a search»
    [which] = await person.say(SEARCH_WORDS)
    changed = await person.tap("🔎 Це пошук", new=1)
    assert buttons(changed[-1])[0].startswith("1. ")
    assert await quiet(world, group_id) == {group_id: marks[group_id]}


# ----- an open consultation keeps its messages -----------------------------------------------------------------

KYIV = ZoneInfo("Europe/Kyiv")
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=KYIV).astimezone(timezone.utc)


@pytest.fixture
def in_hours(world: World):
    consult = world.services.consult
    original = consult.clock
    consult.clock = lambda: TUESDAY_10
    yield
    consult.clock = original


async def test_an_open_consultation_keeps_quote_replies_and_free_texts(world: World, in_hours) -> None:
    # the resident also has a request that waits for their answer: it must not take the consultation's messages
    group = await staff_group(world, "tcso")  # the institution of the request and of the psychological line
    person, specialist, group_id, request_thread, _, _ = await answered(world, "Лука", group=group)
    after = await world.client.last_id(group_id)
    answers = await choose_topic(person, "Психологічна підтримка")
    assert "Напишіть своє питання" in message_text(answers[-1])
    [queued] = await person.say("Не можу спати після переїзду")
    assert "місце в черзі" in message_text(queued)
    card = None
    while card is None:
        arrived = await group_messages(world, group_id, after)
        card = next((m for m in arrived if "Онлайн-консультація №" in message_text(m)), None)
        after = max(m["message_id"] for m in arrived)
    thread = card["message_thread_id"]
    mark = person._last_id
    await world.client.press_data(specialist.id, card, buttons_data(card, "🙋 Взяти"), chat_id=group_id)
    [joined] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    person._absorb([joined])
    await world.client.send_text(specialist.user, "Як давно це триває?", chat_id=group_id, thread_id=thread)
    [said] = await world.client.wait_bot_messages(person.chat_id, person._last_id, 1, timeout=8)
    person._absorb([said])

    in_request = [m["message_id"] for m in await world.client.messages(group_id, thread_id=request_thread)]
    mark_line = await world.client.last_id(group_id)
    await person.reply(said, "Вже два тижні", expect=False)
    await person.say("І ще тривога вранці", expect=False)
    got = await world.client.wait_bot_messages(group_id, mark_line, 2, timeout=8, thread_id=thread)
    assert "Вже два тижні" in message_text(got[0]) and "тривога вранці" in message_text(got[1])
    await quiet(world)
    assert not any("Додано" in message_text(m) for m in await world.client.messages(person.chat_id, person._last_id))
    assert [m["message_id"] for m in await world.client.messages(group_id, thread_id=request_thread)] == in_request
    await person.say("❌ Завершити консультацію", count=2)
