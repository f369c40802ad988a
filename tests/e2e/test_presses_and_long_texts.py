"""Two staff members press «Взяти» on one card; long texts with markup characters and emoji reach Telegram whole.

The sandbox parses HTML as Telegram does and refuses a broken entity, an unclosed tag or a text over 4096
characters: any such refusal during a test fails it (tests/e2e/conftest.py), so every message counted here is
one Telegram would have shown.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.requests.models import Draft
from sandbox.client import message_text
from tests.support.consult import ask, buttons_data, line_group
from tests.support.staff import file_request, group_messages, number_of, staff_group
from tests.support.world import Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")

# markup characters, an entity, emoji outside the basic plane and one made of five code points
NASTY = "<b>&amp; 😀 мама&тато <i>не</b> бачать 👨‍👩‍👧 ґанок; "


def flat(text: str) -> str:
    return " ".join(text.split())


def nasty(size: int) -> str:
    return (NASTY * (size // len(NASTY) + 1))[:size].rstrip()


async def bot_messages_until(world: World, chat_id: int, after: int, done, timeout: float = 15.0,
                             thread_id: int | None = None) -> list[dict[str, Any]]:
    """The bot's messages after `after` once `done(messages)` holds (polled, up to `timeout` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        messages = [m for m in await world.client.messages(chat_id, since_id=after, thread_id=thread_id)
                    if m.get("sender") == "bot" and not m.get("service")]
        if done(messages):
            return messages
        if loop.time() > deadline:
            raise AssertionError(f"chat {chat_id}: got {[message_text(m)[:60] for m in messages]}")
        await asyncio.sleep(0.05)


async def test_two_staff_press_take_at_once_the_second_is_told_who(world: World) -> None:
    group_id, first = await staff_group(world, "tcso", title="Двоє на одній картці")
    second_user = await world.client.create_user("Богдан", language_code="uk")
    await world.client.add_member(group_id, second_user)
    second = Person(world.client, second_user)
    second.chat_id = group_id
    await first.say("/role соціальна працівниця Ірина")
    await second.say("/role юрист Богдан")
    person = await world.resident("lutsk", name="Марія")
    after = await world.client.last_id(group_id)
    accepted = await file_request(person, situation="Літня людина потребує догляду")
    number = number_of(accepted)
    [card] = [m for m in await group_messages(world, group_id, after) if number in message_text(m)]
    data = buttons_data(card, "🙋 Взяти")
    resident_mark = await world.client.last_id(person.chat_id)

    presses = await asyncio.gather(world.client.press_data(first.id, card, data, chat_id=group_id),
                                   world.client.press_data(second.id, card, data, chat_id=group_id))
    answers = [(await world.client.callback_answer(p))["text"] for p in presses]
    won = [i for i, a in enumerate(answers) if "Ви взяли звернення" in a]
    lost = [i for i, a in enumerate(answers) if "вже взяв(-ла)" in a]
    assert len(won) == 1 and len(lost) == 1, answers
    request = await world.services.requests.by_card(group_id, card["message_id"])
    winner = (first, second)[won[0]]
    label = "соціальна працівниця Ірина" if winner is first else "юрист Богдан"
    assert request.assignee_id == winner.id and request.assignee_label == label
    assert answers[lost[0]] == f"Це звернення вже взяв(-ла) {label}."  # named as the card shows them
    card_now = next(m for m in await world.client.messages(group_id) if m["message_id"] == card["message_id"])
    assert f"взяв(-ла): {label}" in message_text(card_now) or label in message_text(card_now)
    assert "🙋 Взяти" not in buttons(card_now)

    # the resident hears once; a repeated press of the winner changes and posts nothing
    [told] = await world.client.wait_bot_messages(person.chat_id, resident_mark, 1, timeout=8)
    assert "взяв ваше звернення" in message_text(told) or "в роботу" in message_text(told)
    again = await world.client.press_data(winner.id, card, data, chat_id=group_id, force=True)  # a stale screen
    assert (await world.client.callback_answer(again))["text"] == "Це звернення вже у вашій роботі."
    history = await world.services.requests.history(request.id, public_only=False)
    assert [e.kind for e in history].count("taken") == 1
    await asyncio.sleep(0.3)  # anything the second press might (wrongly) have queued would go out by now
    assert len(await world.client.messages(person.chat_id, since_id=resident_mark)) == 1


async def test_a_long_consultation_message_of_markup_and_emoji_arrives_whole(world: World) -> None:
    group_id, staff = await line_group(world, "psychological")
    person = await world.resident("lutsk", name="Ольга")
    after = await world.client.last_id(group_id)
    await ask(world, person, "Психологічна підтримка", "Довге питання: " + nasty(2900))
    [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    assert "Довге питання: <b>&amp; 😀" in message_text(card)  # the card shows the question as written
    thread = card["message_thread_id"]
    staff.thread_id = thread
    await world.client.press_data(staff.id, card, buttons_data(card, "🙋 Взяти"), chat_id=group_id)
    await world.client.wait_bot_messages(person.chat_id, person._last_id, 1, timeout=8)

    # the resident writes as much as Telegram lets them: it reaches the group whole
    mark = await world.client.last_id(group_id)
    written = nasty(4000)
    await person.say(written, expect=False)
    got = await bot_messages_until(world, group_id, mark, lambda ms: flat(written) in flat(
        " ".join(message_text(m).removeprefix("👤") for m in ms)), thread_id=thread)
    assert flat(" ".join(message_text(m).removeprefix("👤") for m in got)) == flat(written)

    # a text of 10,000 characters (as a consultation's transcript can hold, e.g. a question passed on from the
    # web chat): split at word ends, each piece escaped on its own, every piece naming who speaks
    mark = await world.client.last_id(group_id)
    long = nasty(10_000)
    assert len(long) > 9_900
    await world.services.consult.resident_says(person.id, long)
    world.services.wake_outbox()

    def relayed(messages: list[dict[str, Any]]) -> str:
        return flat(" ".join(message_text(m).removeprefix("👤 ") for m in messages))

    got = await bot_messages_until(world, group_id, mark, lambda ms: len(relayed(ms)) >= len(flat(long)),
                                   thread_id=thread)
    assert len(got) >= 3 and all(message_text(m).startswith("👤 ") for m in got)
    assert relayed(got) == flat(long)

    # and the specialist's long answer reaches the resident the same way
    mark = await world.client.last_id(person.chat_id)
    answer = nasty(4000)
    await world.client.send_text(staff.user, answer, chat_id=group_id, thread_id=thread)

    def spoken(messages: list[dict[str, Any]]) -> str:  # the pieces without the name each one starts with
        return flat(" ".join(re.sub(r"^🧑‍💼 [^:]*: ", "", message_text(m)) for m in messages))

    # every piece is in (the text repeats itself, so its end alone would be found in the first piece already)
    got = await bot_messages_until(world, person.chat_id, mark, lambda ms: len(spoken(ms)) >= len(flat(answer)))
    assert all(message_text(m).startswith("🧑‍💼 психолог") or "Ірина" in message_text(m)[:40] for m in got)
    assert spoken(got) == flat(answer)


async def test_open_list_and_history_of_many_long_items_arrive_whole(world: World) -> None:
    catalogue = world.services.catalogue
    community = "pervomaiskyi"
    intake = catalogue.communities[community].model.intake_institution
    group_id, staff = await staff_group(world, intake, community=community, title="Багато відкритих")
    requests = world.services.requests
    label = "фахівчиня з питань соціального захисту & <підтримки> 😀 родин"
    person = await world.resident(community, name="Тарас")
    # 45 requests taken long ago, whose cards are in the group already (their deliveries are not made again
    # here: the group's flood limit would hold this test up for minutes)
    made = []
    for index in range(45):
        async with world.services.db.transaction() as conn:
            request = await requests.create_in(conn, Draft(community=community, resident_id=person.id,
                                                           description=f"Опис {index}: " + nasty(300),
                                                           contact_method="chat"), capped=False)
            await conn.execute("DELETE FROM outbox WHERE request_id = ?", (request.id,))
            await conn.execute("UPDATE requests SET status = 'in_progress', assignee_id = ?, assignee_label = ? "
                               "WHERE id = ?", (staff.id, label, request.id))
        made.append(request.public_id)
    mark = await world.client.last_id(group_id)
    await world.client.send_text(staff.user, "/open", chat_id=group_id)

    def numbers_in(messages) -> list[str]:
        return [n for m in messages for n in re.findall(r"№ (\d{4}-\d{6}) · ", message_text(m))]

    got = await bot_messages_until(world, group_id, mark, lambda ms: len(numbers_in(ms)) >= len(made))
    assert len(got) >= 2  # more than one message, split between requests
    numbers = numbers_in(got)
    assert sorted(numbers) == sorted(made)  # each once, none lost
    for m in got:  # every request whole in its message: number, status, who and topic
        text = message_text(m)
        assert text.count("№ ") == text.count(label) == text.count("🛠 У роботі")

    # one of them has many long answers: its history comes in several messages, nothing lost or repeated
    [request] = await requests.for_resident(person.id, limit=1)
    answers = [f"Лист {i}: " + nasty(1800) for i in range(10)]
    for text in answers:
        await requests.reply(group_id, request.id, staff.id, "соціальна <працівниця>", text)
    world.services.wake_outbox()
    await bot_messages_until(world, person.chat_id, person._last_id, lambda ms: "Лист 9:" in " ".join(
        message_text(m) for m in ms), timeout=20)
    [screen] = await person.say("📂 Мої звернення")
    choice = next(b for b in buttons(screen) if b.startswith(f"№ {request.public_id}"))
    mark = await world.client.last_id(person.chat_id)
    await world.client.press(person.id, screen, choice)
    got = await bot_messages_until(world, person.chat_id, mark, lambda ms: ms and "◀️ Назад" in buttons(ms[-1]))
    assert len(got) >= 4
    shown = flat("\n".join(message_text(m) for m in got))
    for text in answers:
        assert shown.count(flat(text)) == 1
    assert shown.count("(соціальна <працівниця>)") == len(answers)
