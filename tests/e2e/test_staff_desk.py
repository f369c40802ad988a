"""The staff desk: who has a request and until when (the card, /open, the topic's title), finishing with a reason
and a confirmation (a colleague's request is asked about), what the resident reads, and the due clock.

The requests' clock is set to a fixed moment for each test (and put back), so the due clock reads the same on
any day the tests run."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from bot.runtime.housekeeping import remind
from sandbox.client import message_text
from tests.support.consult import KYIV, TUESDAY_10, buttons_data
from tests.support.staff import file_request, group_messages, number_of, open_listing, staff_group
from tests.support.world import ADMIN_ID, Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")


@pytest.fixture
def desk_clock(world: World) -> Iterator[list[datetime]]:
    """The requests' clock at Tuesday 10:00 in Kyiv; the test moves it by changing the list's one moment."""
    moment = [TUESDAY_10]
    requests = world.services.requests
    before = requests.clock
    requests.clock = lambda: moment[0]
    yield moment
    requests.clock = before


async def colleague(world: World, group_id: int, name: str) -> Person:
    user = await world.client.create_user(name, language_code="uk")
    await world.client.add_member(group_id, user)
    person = Person(world.client, user)
    person.chat_id = group_id
    return person


def topic_title(world: World, group_id: int, thread_id: int) -> str:
    return world.sandbox.core.state.chats[group_id].topics[thread_id].name


async def card_now(world: World, group_id: int, card: dict) -> dict:
    return next(m for m in await world.client.messages(group_id) if m["message_id"] == card["message_id"])


def day_of(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(KYIV).strftime("%d.%m")


async def test_a_colleague_closes_with_a_reason_and_the_resident_is_not_asked_to_rate(world: World,
                                                                                      desk_clock) -> None:
    group_id, irina = await staff_group(world, "tcso", title="Черговий стіл")
    bohdan = await colleague(world, group_id, "Богдан")
    await irina.say("/role соціальна працівниця")
    person = await world.resident("lutsk", name="Стефанія")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation="Літня людина потребує догляду", contact="chat"))
    [card] = [m for m in await group_messages(world, group_id, after) if number in message_text(m)]
    thread = card["message_thread_id"]
    irina.thread_id = bohdan.thread_id = thread
    request = await world.services.requests.by_card(group_id, card["message_id"])
    due = day_of(request.due_at)
    assert f"⏳ Відповісти до {due}, лишилося 3 дні" in message_text(card)
    assert "ще ніхто не взяв" in message_text(card)
    assert topic_title(world, group_id, thread).startswith(f"🔵 {number} · нове · ")

    # Ірина takes it: the card and the topic's title say who and what; the resident is told it is in work
    taken_mark = await world.client.last_id(person.chat_id)
    await irina.tap("🙋 Взяти")
    await world.client.wait_bot_messages(person.chat_id, taken_mark, 1, timeout=8)
    card = await card_now(world, group_id, card)
    assert "взяв: соціальна працівниця Ірина" in message_text(card)
    assert topic_title(world, group_id, thread).startswith(f"🟡 {number} · в роботі · ")
    # /open lists every open request of the institution (other tests' too): this one's entry says who and until when
    [entry] = [e for e in await open_listing(world, irina) if f"№ {number} " in e]
    assert "соціальна працівниця Ірина" in entry and f"Відповісти до {due}, лишилося 3 дні" in entry

    # Богдан presses «Закрити»: asked about his colleague's request, then a reason, then a confirmation
    [question] = await bohdan.tap("☑️ Закрити", new=1)
    assert "Закрити звернення, яке веде Ірина?" in message_text(question)
    assert buttons(question) == ["Допомогли", "Перенаправили", "Не вдалося зв’язатися", "Не наша компетенція",
                                 "Дублікат", "Інше", "❌ Скасувати"]
    [confirm] = await bohdan.tap("Не вдалося зв’язатися")
    assert "Закрити звернення, яке веде Ірина?" in message_text(confirm)
    assert "Фахівцям не вдалося з вами зв’язатися" in message_text(confirm)
    assert (await world.services.requests.get(request.id)).status.open  # nothing changed before «Так»
    yes = buttons_data(confirm, "✅ Так, закрити")
    mark = await world.client.last_id(person.chat_id)
    [done] = await bohdan.tap("✅ Так, закрити")
    assert "закрите: Не вдалося зв’язатися" in message_text(done) and not buttons(done)

    # the resident reads what happened, and is not asked to rate help nobody gave
    [told] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    assert f"закрило ваше звернення № {number}" in message_text(told) or number in message_text(told)
    assert "Фахівцям не вдалося з вами зв’язатися" in message_text(told)
    assert buttons(told) == [] and "оцініть" not in message_text(told).lower()
    closed = await world.services.requests.get(request.id)
    assert closed.status.value == "closed" and closed.finish_reason == "unreachable"
    card = await card_now(world, group_id, card)
    assert "Закрито · Не вдалося зв’язатися" in message_text(card)
    assert topic_title(world, group_id, thread).startswith(f"⚪ {number} · закрито · ")

    # a second press of the same «Так» changes nothing and sends nothing
    query = await world.client.press_data(bohdan.id, done, yes, chat_id=group_id, force=True)
    answer = await world.client.callback_answer(query)
    assert "вже завершив(-ла)" in answer["text"] and "Богдан" in answer["text"]
    person._last_id = max(person._last_id, told["message_id"])
    await person.expect_silence(0.5)
    events = await world.services.requests.history(request.id, public_only=False)
    assert [e.kind for e in events].count("closed") == 1

    # the resident's history says who and why
    [mine] = await person.say("📂 Мої звернення")
    [history] = await person.tap(next(b for b in buttons(mine) if number in b), new=1)
    assert "Закрито (фахівець Богдан): Не вдалося зв’язатися" in message_text(history)


async def test_other_words_after_an_answer_and_a_button_out_of_date(world: World, desk_clock) -> None:
    group_id, irina = await staff_group(world, "tcso", title="Стіл з причинами")
    person = await world.resident("lutsk", name="Орест")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation="Літня людина потребує догляду", contact="chat"))
    [card] = [m for m in await group_messages(world, group_id, after) if number in message_text(m)]
    irina.thread_id = card["message_thread_id"]

    # a reason button made before the request changed is refused
    await irina.tap("✅ Вирішено", new=1)
    taken_mark = await world.client.last_id(person.chat_id)
    await irina.tap("🙋 Взяти")
    await world.client.wait_bot_messages(person.chat_id, taken_mark, 1, timeout=8)
    irina.last_answer = None
    await irina.tap("Допомогли", expect=False)
    assert "змінилося" in irina.last_answer["text"]
    assert (await world.services.requests.by_card(group_id, card["message_id"])).status.value == "in_progress"

    # answered, then resolved with words of its own: the resident reads them and may rate
    mark = await world.client.last_id(person.chat_id)
    await irina.say("Домовилися про візит у четвер.")
    await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    await irina.tap("✅ Вирішено", new=1)
    [prompt] = await irina.tap("Інше")
    assert "Напишіть причину одним повідомленням" in message_text(prompt)
    [confirm] = await irina.say("Оформили догляд удома з понеділка")
    assert "Позначити звернення" in message_text(confirm) and "Оформили догляд удома" in message_text(confirm)
    mark = await world.client.last_id(person.chat_id)
    await irina.tap("✅ Так, вирішено")
    [told] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    assert "як вирішене" in message_text(told) and "«Оформили догляд удома з понеділка»" in message_text(told)
    assert buttons(told) == ["1", "2", "3", "4", "5"]


async def test_the_due_clock_reminds_the_group_then_the_administrators(world: World, desk_clock) -> None:
    group_id, irina = await staff_group(world, "tcso", title="Стіл з годинником")
    person = await world.resident("lutsk", name="Влас")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation="Літня людина потребує догляду", contact="chat"))
    [card] = [m for m in await group_messages(world, group_id, after) if number in message_text(m)]
    thread = card["message_thread_id"]
    request = await world.services.requests.by_card(group_id, card["message_id"])
    due = datetime.fromisoformat(request.due_at)

    # taken at once, so that only the answer date reminds (not «not taken in time»)
    irina.thread_id = thread
    await irina.tap("🙋 Взяти")
    desk_clock[0] = due - timedelta(hours=20)  # the day before
    mark, admin_mark = await world.client.last_id(group_id), await world.client.last_id(ADMIN_ID)
    assert await remind(world.services) >= 1  # other tests' open requests of the institution may be reminded too
    [notice] = await group_messages(world, group_id, mark, thread_id=thread)
    assert f"№ {number}" in message_text(notice) and f"Відповісти до {day_of(request.due_at)}" in message_text(notice)
    card = await card_now(world, group_id, card)
    assert "лишився 1 день" in message_text(card) or "сьогодні останній день" in message_text(card)
    mark = await world.client.last_id(group_id)
    await remind(world.services)  # once: nothing more in its topic, nothing about it to the administrators
    await asyncio.sleep(0.5)
    assert not [m for m in await world.client.messages(group_id, since_id=mark)
                if m.get("sender") == "bot" and m.get("message_thread_id") == thread]
    assert not [m for m in await world.client.messages(ADMIN_ID, since_id=admin_mark) if number in message_text(m)]

    # past the answer date: the group and the administrators, and the card says by how much
    desk_clock[0] = due + timedelta(days=1, hours=1)
    mark = await world.client.last_id(group_id)
    assert await remind(world.services) >= 1
    [late] = await group_messages(world, group_id, mark, thread_id=thread)
    assert "прострочено на 1 день" in message_text(late)
    for _ in range(100):  # among the administrators' notices (other open requests may be late too)
        told = [m for m in await world.client.messages(ADMIN_ID, since_id=admin_mark) if number in message_text(m)]
        if told:
            break
        await asyncio.sleep(0.08)
    assert len(told) == 1
    card = await card_now(world, group_id, card)
    assert "прострочено на 1 день" in message_text(card)


async def test_forged_reason_and_confirmation_buttons_change_nothing(world: World, desk_clock) -> None:
    group_id, irina = await staff_group(world, "tcso", title="Стіл з підробками")
    person = await world.resident("lutsk", name="Жанна")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation="Літня людина потребує догляду", contact="chat"))
    [card] = [m for m in await group_messages(world, group_id, after) if number in message_text(m)]
    request = await world.services.requests.by_card(group_id, card["message_id"])
    rid, version = request.id, request.version
    for data in (f"s:fin:{rid}:c.helped.00000000", f"s:fin:{rid}:x.helped.{version}",
                 f"s:fin:{rid}:c.nonsense.{version}", f"s:fin:{rid}:c.other.{version}",  # «Інше» with no words
                 f"s:why:{rid}:c.helped", f"s:fin:{rid}:", f"s:fin:{rid}:c.helped.{version}.x"):
        query = await world.client.press_data(irina.id, card, data, chat_id=group_id, force=True)
        answer = await world.client.callback_answer(query)
        assert answer.get("show_alert"), (data, answer)
    now = await world.services.requests.get(rid)
    assert now.status.value == "new" and now.finish_reason is None and now.version == version
    assert [e.kind for e in await world.services.requests.history(rid, public_only=False)] == ["created"]
