"""The online consultation line end to end, with a controllable clock."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from bot.runtime.housekeeping import consultation_clock
from sandbox.client import message_text
from tests.support.consult import KYIV, TUESDAY_10, ask, buttons_data, choose_topic, leave_the_line, line_group
from tests.support.staff import staff_group
from tests.support.world import Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")
SATURDAY_12 = datetime(2026, 12, 5, 12, 0, tzinfo=KYIV).astimezone(timezone.utc)


@pytest.fixture
def clock(world: World):
    """Set the consultation line's time; restored after the test."""
    consult = world.services.consult
    original = consult.clock
    now = {"value": TUESDAY_10}
    consult.clock = lambda: now["value"]
    yield now
    consult.clock = original


async def test_a_consultation_in_hours(world: World, clock) -> None:
    group_id, first = await line_group(world, "psychological")
    second_user = await world.client.create_user("Богдан")
    await world.client.add_member(group_id, second_user)
    person = await world.resident("lutsk", name="Лариса")
    after = await world.client.last_id(group_id)
    await ask(world, person, "Психологічна підтримка", "Після переїзду не можу спати, постійна тривога")
    [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    assert "Онлайн-консультація №" in message_text(card) and "постійна тривога" in message_text(card)
    assert buttons(card)[0] == "🙋 Взяти"
    thread = card["message_thread_id"]

    # two specialists press «Взяти» at once: only one gets it
    await world.client.send_text(first.user, "/role психолог", chat_id=group_id)
    presses = await asyncio.gather(
        world.client.press_data(first.id, card, buttons_data(card, "🙋 Взяти"), chat_id=group_id),
        world.client.press_data(second_user["id"], card, buttons_data(card, "🙋 Взяти"), chat_id=group_id),
    )
    answers = [await world.client.callback_answer(p) for p in presses]
    won = [a for a in answers if "Консультація ваша" in a["text"]]
    lost = [a for a in answers if "вже взяв" in a["text"]]
    assert len(won) == 1 and len(lost) == 1
    consultation = await world.services.consult.open_for_resident(person.id)
    winner_is_first = consultation.specialist_id == first.id
    specialist = first if winner_is_first else Person(world.client, second_user)
    specialist.chat_id, specialist.thread_id = group_id, thread

    mark = person._last_id
    [joined] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    person._absorb([joined])
    assert "До вас приєднався фахівець" in message_text(joined)
    assert str(specialist.id) not in message_text(joined)

    # both ways: text from the specialist, a photo and a voice note from the resident
    await world.client.send_text(specialist.user, "Добрий день! Розкажіть, будь ласка, більше.", chat_id=group_id,
                                 thread_id=thread)
    [relayed] = await world.client.wait_bot_messages(person.chat_id, person._last_id, 1, timeout=8)
    person._absorb([relayed])
    assert "Розкажіть, будь ласка, більше." in message_text(relayed)
    mark_group = await world.client.last_id(group_id)
    await person.say("Прокидаюся о третій і не можу заснути", expect=False)
    await person.send_photo(expect=False)
    await world.client.send_voice(person.id)
    got = await world.client.wait_bot_messages(group_id, mark_group, 3, timeout=8, thread_id=thread)
    assert "о третій" in message_text(got[0]) and got[1].get("photo") and got[2].get("voice")

    # the resident ends it and rates it
    answers = await person.say("❌ Завершити консультацію", count=2)
    assert "Консультацію завершено" in message_text(answers[0]) and buttons(answers[1]) == ["1", "2", "3", "4", "5"]
    await person.tap("5", new=1)
    done = await world.services.consult.get(consultation.id)
    assert done.status == "ended" and done.rating == 5 and done.ended_by == "resident"
    transcript = await world.services.consult.transcript(consultation.id)
    assert [s.sender for s in transcript] == ["resident", "specialist", "resident", "resident", "resident"]
    assert [s.kind for s in transcript][-2:] == ["photo", "voice"]


async def test_outside_hours_book_cancel_remind_and_meet(world: World, clock) -> None:
    clock["value"] = SATURDAY_12
    group_id, staff = await line_group(world, "legal")
    person = await world.resident("lutsk", name="Юрій")
    answers = await choose_topic(person, "Юридичні питання")
    closed = answers[-1]
    assert "Зараз лінія не працює" in message_text(closed) and "пн, 07.12 о 09:00" in message_text(closed)
    [slots] = await person.tap("📅 Записатися на час", new=1)
    assert "пн, 07.12" in message_text(slots) and buttons(slots)[0] == "09:00"
    after = await world.client.last_id(group_id)
    answers = await person.tap("09:00", new=1)
    assert "Вас записано" in message_text(answers[-1])
    seen = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    if not any("Новий запис" in message_text(m) for m in seen):  # a card held for the line's group came first
        seen = await world.client.wait_bot_messages(group_id, seen[-1]["message_id"], 1, timeout=8)
    assert any("Новий запис" in message_text(m) for m in seen)

    # a second booking, then cancelled from «Мої звернення»
    await person.say("💬 Онлайн-консультація")
    await person.tap("Юридичні питання", new=1)
    [slots] = await person.tap("📅 Записатися на час", new=1)
    assert buttons(slots)[0] == "09:30"  # 09:00 is taken now
    await person.tap("09:30", new=1)
    await person.say("📂 Мої звернення")
    [mine] = await person.tap("📅 Мої записи і консультації", new=1)
    assert "пн, 07.12 о 09:00" in message_text(mine) and "пн, 07.12 о 09:30" in message_text(mine)
    after = await world.client.last_id(group_id)
    answers = await person.tap("❎ Скасувати пн, 07.12 о 09:30", new=1)
    assert "скасовано" in message_text(answers[-1])
    seen = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    if not any("Запис скасовано" in message_text(m) for m in seen):  # the new-booking notice came first
        seen = await world.client.wait_bot_messages(group_id, seen[-1]["message_id"], 1, timeout=8)
    assert any("Запис скасовано" in message_text(m) and "09:30" in message_text(m) for m in seen)

    # reminders the day before and an hour before, each once
    slot = datetime(2026, 12, 7, 9, 0, tzinfo=KYIV).astimezone(timezone.utc)
    for moment, words in ((slot - timedelta(hours=20), "завтра"), (slot - timedelta(minutes=40), "за годину")):
        clock["value"] = moment
        mark = person._last_id
        assert await consultation_clock(world.services) == 1
        [reminder] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
        person._absorb([reminder])
        assert words in message_text(reminder)
    assert await consultation_clock(world.services) == 0

    # at the booked time the consultation opens and a specialist takes it
    clock["value"] = slot
    after = await world.client.last_id(group_id)
    mark = person._last_id
    assert await consultation_clock(world.services) == 1
    [opened] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    person._absorb([opened])
    assert "Настав час вашої консультації" in message_text(opened)
    [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    assert "Запис заздалегідь" in message_text(card)
    staff.thread_id = card["message_thread_id"]
    await staff.tap("🙋 Взяти", expect=False)
    [joined] = await world.client.wait_bot_messages(person.chat_id, person._last_id, 1, timeout=8)
    assert "До вас приєднався фахівець" in message_text(joined)
    await leave_the_line(world, person)  # the line's later tests find its queue and its 09:00 free


async def test_nobody_answers_then_a_call_back_request(world: World, clock) -> None:
    await line_group(world, "benefits")
    person = await world.resident("lutsk", name="Степан")
    await ask(world, person, "Соціальна підтримка і пільги", "Як оформити субсидію?")
    clock["value"] = TUESDAY_10 + timedelta(minutes=20)
    mark = person._last_id
    assert await consultation_clock(world.services) >= 1
    sorry, offer = await world.client.wait_bot_messages(person.chat_id, mark, 2, timeout=8)
    person._absorb([sorry, offer])
    assert "ніхто з фахівців не встиг" in message_text(sorry)
    assert buttons(offer) == ["📅 Записатися на час", "📞 Попросити передзвонити"]
    asked = (await person.tap("📞 Попросити передзвонити", new=1))[-1]
    assert "На який номер вам зателефонувати?" in message_text(asked)
    await person.say("050 123 45 67", count=2)
    answers = await person.tap("➡️ Надіслати те, що я написав(-ла)", new=1)
    assert "звернення №" in message_text(answers[-1]) and "+380501234567" in message_text(answers[-1])
    request = (await world.services.requests.for_resident(person.id))[0]
    assert "субсидію" in request.description and request.contact_phone == "+380501234567"


async def test_transfer_to_another_institution(world: World, clock) -> None:
    group_id, staff = await line_group(world, "older_care")
    line = world.services.consult.line("lutsk", "older_care")
    other_id = "dsvp" if line.institution_id != "dsvp" else "tcso"
    other_group, _ = await staff_group(world, other_id, title="Інша установа")
    person = await world.resident("lutsk", name="Надія")
    after = await world.client.last_id(group_id)
    await ask(world, person, "Догляд за літньою людиною", "Хто допоможе з пільгами для мами?")
    [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    staff.thread_id = card["message_thread_id"]
    await staff.tap("↪️ Передати", new=1)
    after_other = await world.client.last_id(other_group)
    mark = person._last_id
    other_name = world.services.catalogue.communities["lutsk"].institutions[other_id].short_name.uk
    await staff.tap(next(b for b in staff.buttons if b.startswith("🏛") and other_name in b), expect=False)
    assert "Передано" in staff.last_answer["text"]
    [moved] = await world.client.wait_bot_messages(other_group, after_other, 1, timeout=8)
    assert "пільгами для мами" in message_text(moved)
    [told] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    assert "передано іншому фахівцю" in message_text(told)
    old = next(m for m in await world.client.messages(group_id) if m["message_id"] == card["message_id"])
    assert message_text(old).startswith("↪️ Передано:") and not buttons(old)
    await leave_the_line(world, person)  # not left waiting in the other institution's queue
