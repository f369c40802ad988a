"""A staff group or a request's topic lost by hand: the cards are posted again, nothing of a resident is lost,
the administrators are told once."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest

from sandbox.client import message_text
from tests.support.consult import TUESDAY_10, ask, buttons_data, line_group
from tests.support.staff import file_request, group_messages, group_settled, number_of, staff_group
from tests.support.world import ADMIN_ID, Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")

# An institution no other e2e module binds, so that its cards never show up in their groups.
COMMUNITY, INSTITUTION = "druzhkivka", "uszn"
SITUATION = "Потрібно доїхати або перевезти людину"
FULL_KEYBOARD = ["🙋 Взяти", "💬 Відповісти", "📝 Примітка", "↪️ Переадресувати", "👥 Передати колезі", "✅ Вирішено",
                 "☑️ Закрити"]


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 8.0) -> Any:
    """Wait until `check()` gives something true (the outbox works in the background)."""
    for _ in range(int(timeout / 0.05)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not get there in time")


async def add_message(person: Person, number: str, text: str) -> None:
    """The resident adds a message to their request from «Мої звернення»."""
    [listing] = await person.say("📂 Мої звернення")
    await person.tap(next(b for b in buttons(listing) if number in b), new=1)
    await person.tap("✍️ Дописати або додати файл", new=1)
    [sent] = await person.say(text)
    assert "Надіслано" in message_text(sent)


async def visible(world: World, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in await world.client.messages(chat_id) if not m.get("deleted")]


def cards_of(messages: list[dict[str, Any]], number: str) -> list[dict[str, Any]]:
    return [m for m in messages if f"Звернення № {number}" in message_text(m)]


async def admin_notices(world: World, after: int, *words: str) -> list[dict[str, Any]]:
    return [m for m in await world.client.messages(ADMIN_ID, since_id=after)
            if m.get("sender") == "bot" and all(w in message_text(m) for w in words)]


async def held(world: World, request_id: int) -> bool:
    row = await world.services.db.fetchone(
        "SELECT COUNT(*) AS n FROM outbox WHERE request_id = ? AND status = 'held'", (request_id,))
    return row["n"] > 0


async def test_a_topic_deleted_by_hand_gets_a_new_one_with_the_card(world: World) -> None:
    group_id, staff = await staff_group(world, INSTITUTION, COMMUNITY, title="УСЗН Дружківка")
    world.allow_errors("message thread not found", chat_id=group_id)
    world.allow_errors("message to edit not found", chat_id=group_id)
    person = await world.resident(COMMUNITY, name="Людмила")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation=SITUATION, contact="chat"))
    [card] = await group_messages(world, group_id, after)
    old_thread = card["message_thread_id"]
    request = (await world.services.requests.for_resident(person.id))[0]

    await world.client.delete_topic(group_id, old_thread)  # a staff member deletes the topic; the bot is not told
    admin_seen = await world.client.last_id(ADMIN_ID)
    after = await world.client.last_id(group_id)
    await add_message(person, number, "Забула написати: мама погано чує, стукайте голосніше")

    again, relayed = await group_messages(world, group_id, after, count=2)
    thread = again["message_thread_id"]
    assert thread and thread != old_thread
    assert f"Звернення № {number}" in message_text(again) and "Попередню тему видалили" in message_text(again)
    assert "Мамі 80 років" in message_text(again) and buttons(again) == FULL_KEYBOARD
    assert relayed["message_thread_id"] == thread and "стукайте голосніше" in message_text(relayed)
    topics = next(g for g in (await world.client.state())["groups"] if g["id"] == group_id).get("topics", [])
    assert [t["message_thread_id"] for t in topics if number in t["name"]] == [thread]
    assert (await world.services.requests.get(request.id)).thread_id == thread

    [notice] = await world.client.wait_bot_messages(ADMIN_ID, admin_seen, 1, timeout=8)
    assert number in message_text(notice) and "видалили тему" in message_text(notice)
    assert "УСЗН Дружківка" in message_text(notice)

    # the next message goes straight into the new topic: no second card, no second notice
    after = await world.client.last_id(group_id)
    await add_message(person, number, "І ще: домофон не працює")
    [next_one] = await group_messages(world, group_id, after)
    assert next_one["message_thread_id"] == thread and "домофон" in message_text(next_one)
    # staff answer from the new topic as usual
    staff.thread_id = thread
    mark = person._last_id
    [sent] = await staff.say("Дякуємо, врахуємо")
    assert "Надіслано мешканцю" in message_text(sent)
    await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    assert len(cards_of(await visible(world, group_id), number)) == 1
    assert len(await admin_notices(world, admin_seen, number)) == 1


async def test_the_bot_removed_from_the_group(world: World) -> None:
    group_id, staff = await staff_group(world, INSTITUTION, COMMUNITY, title="Стара група")
    world.allow_errors("bot was kicked", chat_id=group_id)
    first = await world.resident(COMMUNITY, name="Зінаїда")
    after = await world.client.last_id(group_id)
    number1 = number_of(await file_request(first, situation=SITUATION, contact="chat"))
    await group_messages(world, group_id, after)
    request1 = (await world.services.requests.for_resident(first.id))[0]

    admin_seen = await world.client.last_id(ADMIN_ID)
    await world.client.add_bot(group_id, status="kicked")
    # the administrators are told at once, before anything fails to go there
    [notice] = await world.client.wait_bot_messages(ADMIN_ID, admin_seen, 1, timeout=8)
    text = message_text(notice)
    assert "Стара група" in text and "недоступна" in text and f"/bind_code {COMMUNITY} {INSTITUTION}" in text
    assert not (await world.services.groups.group(group_id)).active

    # residents go on as if nothing happened
    await add_message(first, number1, "Коли прийде соціальний працівник?")
    second = await world.resident(COMMUNITY, name="Василь")
    number2 = number_of(await file_request(second, situation=SITUATION, description="Батько після інсульту",
                                           contact="chat"))
    request2 = (await world.services.requests.for_resident(second.id))[0]
    await eventually(lambda: held(world, request2.id))
    await eventually(lambda: held(world, request1.id))
    await asyncio.sleep(0.3)
    assert len(await admin_notices(world, admin_seen)) == 1  # told once per group

    # a new group is bound: both cards arrive there once, in order, then what waited
    new_group, new_staff = await staff_group(world, INSTITUTION, COMMUNITY, title="Нова група")
    # the greeting, the /bind answer, two cards, the message
    messages = await group_messages(world, new_group, 0, count=5)
    await asyncio.sleep(0.3)
    messages = [m for m in await visible(world, new_group) if m.get("sender") == "bot"]
    card1, card2 = cards_of(messages, number1), cards_of(messages, number2)
    assert len(card1) == 1 and len(card2) == 1
    assert card1[0]["message_id"] < card2[0]["message_id"]
    assert "Попередня група більше недоступна" in message_text(card1[0])
    assert buttons(card1[0]) == FULL_KEYBOARD and buttons(card2[0]) == FULL_KEYBOARD
    relayed = [m for m in messages if "Коли прийде соціальний працівник?" in message_text(m)]
    assert len(relayed) == 1 and relayed[0]["message_thread_id"] == card1[0]["message_thread_id"]
    assert relayed[0]["message_id"] > card1[0]["message_id"]
    for request in (request1, request2):
        assert not await held(world, request.id)
        assert (await world.services.requests.get(request.id)).group_chat_id == new_group


async def test_the_group_deleted(world: World) -> None:
    group_id, _ = await staff_group(world, INSTITUTION, COMMUNITY, forum=False, title="Група без тем")
    world.allow_errors("chat not found", chat_id=group_id)
    first = await world.resident(COMMUNITY, name="Оксана")
    after = await world.client.last_id(group_id)
    number1 = number_of(await file_request(first, situation=SITUATION, contact="chat"))
    await group_messages(world, group_id, after)
    request1 = (await world.services.requests.for_resident(first.id))[0]

    admin_seen = await world.client.last_id(ADMIN_ID)
    await world.client.delete_group(group_id)  # nobody tells the bot
    await add_message(first, number1, "Я вдома з 9 до 18")
    [notice] = await world.client.wait_bot_messages(ADMIN_ID, admin_seen, 1, timeout=8)
    assert "Група без тем" in message_text(notice) and "недоступна" in message_text(notice)
    second = await world.resident(COMMUNITY, name="Петро")
    number2 = number_of(await file_request(second, situation=SITUATION, description="Потрібні ліки",
                                           contact="chat"))
    request2 = (await world.services.requests.for_resident(second.id))[0]
    await eventually(lambda: held(world, request2.id))
    assert await held(world, request1.id)
    await asyncio.sleep(0.3)
    assert len(await admin_notices(world, admin_seen)) == 1

    new_group, _ = await staff_group(world, INSTITUTION, COMMUNITY, title="Нова група з темами")
    await group_messages(world, new_group, 0, count=5)  # with the greeting
    await asyncio.sleep(0.3)
    messages = [m for m in await visible(world, new_group) if m.get("sender") == "bot"]
    card1, card2 = cards_of(messages, number1), cards_of(messages, number2)
    assert len(card1) == 1 and len(card2) == 1 and card1[0]["message_id"] < card2[0]["message_id"]
    assert card1[0]["message_thread_id"] and card1[0]["message_thread_id"] != card2[0]["message_thread_id"]
    for _ in range(100):  # the resident's message that waited follows its card
        relayed = [m for m in await visible(world, new_group) if "з 9 до 18" in message_text(m)]
        if relayed:
            break
        await asyncio.sleep(0.08)
    assert len(relayed) == 1 and relayed[0]["message_thread_id"] == card1[0]["message_thread_id"]
    assert not await held(world, request1.id) and not await held(world, request2.id)


async def test_a_deleted_card_is_posted_again_on_a_status_change(world: World) -> None:
    group_id, staff = await staff_group(world, INSTITUTION, COMMUNITY, title="УСЗН картки")
    world.allow_errors("message to edit not found", chat_id=group_id)
    person = await world.resident(COMMUNITY, name="Галина")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation=SITUATION, contact="chat"))

    async def new_bot_messages() -> list[dict[str, Any]]:
        return [m for m in await visible(world, group_id) if m.get("sender") == "bot" and m["message_id"] > after]

    async def the_card() -> Any:
        found = cards_of(await new_bot_messages(), number)
        return found[0] if found else None

    card = await eventually(the_card)  # found by its number: nothing else the group gets is taken for it
    thread = card["message_thread_id"]
    request = (await world.services.requests.for_resident(person.id))[0]

    core = world.sandbox.core  # a staff member deletes the card by hand
    core.delete_message(core.group_conversation(group_id).messages[card["message_id"]])
    admin_seen = await world.client.last_id(ADMIN_ID)
    after = await world.client.last_id(group_id)
    await world.services.requests.take(group_id, request.id, staff.id, "соціальна працівниця")
    world.services.wake_outbox()

    async def posted_again() -> Any:
        messages = await new_bot_messages()
        cards = [m for m in cards_of(messages, number) if "Попередню картку видалили" in message_text(m)]
        history = [m for m in messages if "Нещодавня історія" in message_text(m)]
        return (cards[0], history[0]) if cards and history else None

    again, history = await eventually(posted_again)
    await group_settled(world, COMMUNITY, INSTITUTION)  # read as staff see it once everything is out
    again = next(m for m in await visible(world, group_id) if m["message_id"] == again["message_id"])
    topic = core.topic(core.chat(group_id), thread)
    assert "в роботі" in topic.name  # the topic's title follows the status, though the card was not edited
    assert again["message_thread_id"] == thread  # the topic is still there: the card comes back into it
    text = message_text(again)
    assert "Попередню картку видалили" in text and f"Звернення № {number}" in text
    assert "взяв: соціальна працівниця" in text and "🙋 Взяти" not in buttons(again)
    assert "Нещодавня історія" in message_text(history) and history["message_thread_id"] == thread
    assert (await world.services.requests.get(request.id)).card_message_id == again["message_id"]
    [notice] = await world.client.wait_bot_messages(ADMIN_ID, admin_seen, 1, timeout=8)
    assert number in message_text(notice) and "видалили картку" in message_text(notice)

    # the next change edits the card posted again
    mark = person._last_id
    await world.services.requests.finish(group_id, request.id, staff.id, "соціальна працівниця", resolved=True)
    world.services.wake_outbox()
    await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)

    async def edited() -> bool:
        current = next(m for m in await world.client.messages(group_id) if m["message_id"] == again["message_id"])
        return "Вирішено" in message_text(current)

    await eventually(edited)
    assert len(cards_of(await visible(world, group_id), number)) == 1


async def test_a_consultation_whose_topic_was_deleted(world: World) -> None:
    consult = world.services.consult
    original = consult.clock
    consult.clock = lambda: TUESDAY_10  # in the line's hours
    try:
        # earlier tests may have left a consultation waiting on this line: the queue starts empty here
        for row in await world.services.db.fetchall(
                "SELECT resident_id FROM consultations WHERE community = 'lutsk' AND status IN ('queued', 'active') "
                "AND resident_id IS NOT NULL"):
            await consult.end_by_resident(row["resident_id"])
        group_id, staff = await line_group(world, "legal")
        world.allow_errors("message thread not found", chat_id=group_id)
        person = await world.resident("lutsk", name="Ярослава")
        after = await world.client.last_id(group_id)
        await ask(world, person, "Юридичні питання", "Як оформити спадщину після батька?")
        [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
        old_thread = card["message_thread_id"]
        query = await world.client.press_data(staff.id, card, buttons_data(card, "🙋 Взяти"), chat_id=group_id)
        await world.client.callback_answer(query)
        person._absorb(await world.client.wait_bot_messages(person.chat_id, person._last_id, 1, timeout=8))  # joined
        await world.client.send_text(staff.user, "Які документи у вас є?", chat_id=group_id, thread_id=old_thread)
        person._absorb(await world.client.wait_bot_messages(person.chat_id, person._last_id, 1, timeout=8))

        await world.client.delete_topic(group_id, old_thread)
        admin_seen = await world.client.last_id(ADMIN_ID)
        after = await world.client.last_id(group_id)
        await person.say("Є свідоцтво про смерть і заповіт", expect=False)
        again, history, message = await world.client.wait_bot_messages(group_id, after, 3, timeout=8)
        thread = again["message_thread_id"]
        assert thread and thread != old_thread
        assert "Попередню тему видалили" in message_text(again) and "спадщину" in message_text(again)
        assert buttons(again)[-1] == "✅ Завершити консультацію"
        assert history["message_thread_id"] == thread and "Які документи у вас є?" in message_text(history)
        assert message["message_thread_id"] == thread and "заповіт" in message_text(message)
        consultation = await consult.open_for_resident(person.id)
        assert consultation.thread_id == thread
        [notice] = await world.client.wait_bot_messages(ADMIN_ID, admin_seen, 1, timeout=8)
        assert f"онлайн-консультації № {consultation.id}" in message_text(notice)
        # the specialist goes on in the new topic
        mark = person._last_id
        await world.client.send_text(staff.user, "Тоді до нотаріуса", chat_id=group_id, thread_id=thread)
        [answer] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
        assert "нотаріуса" in message_text(answer)
        await person.say("❌ Завершити консультацію", count=2)
    finally:
        consult.clock = original
