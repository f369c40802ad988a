"""The consultation line as a resident meets it, end to end on the sandbox with a controllable clock: the keyboard
comes back when the other side ends a consultation, the queue is promised only when someone can answer now,
booking pages through every bookable day, and a call back asks for the phone and the question."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.requests.routing import route
from bot.runtime.housekeeping import consultation_clock
from sandbox.client import message_text
from tests.support.consult import KYIV, TUESDAY_10, ask, buttons_data, choose_topic, line_group
from tests.support.staff import staff_group
from tests.support.world import Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")
SATURDAY_12 = datetime(2026, 12, 5, 12, 0, tzinfo=KYIV).astimezone(timezone.utc)
MENU = "🧭 Знайти допомогу"  # a button of the main keyboard


@pytest.fixture
def clock(world: World):
    """Set the consultation line's time; restored after the test."""
    consult = world.services.consult
    original = consult.clock
    now = {"value": TUESDAY_10}
    consult.clock = lambda: now["value"]
    yield now
    consult.clock = original


def carries_menu(message: dict) -> bool:
    """The message itself brings the main menu's reply keyboard."""
    rows = (message.get("reply_markup") or {}).get("keyboard") or []
    return any(button["text"] == MENU for row in rows for button in row)


async def reminders(world: World, booking_id: int) -> tuple:
    """When the booking's reminders (the day before, an hour before) were queued."""
    row = await world.services.db.fetchone(
        "SELECT reminded_day_at, reminded_hour_at FROM bookings WHERE id = ?", (booking_id,))
    return row["reminded_day_at"], row["reminded_hour_at"]


async def next_messages(world: World, person: Person, count: int) -> list[dict]:
    got = await world.client.wait_bot_messages(person.chat_id, person._last_id, count, timeout=8)
    person._absorb(got)
    return got


async def test_the_keyboard_comes_back_when_the_specialist_ends(world: World, clock) -> None:
    group_id, staff = await line_group(world, "family")
    person = await world.resident("lutsk", name="Оксана")
    after = await world.client.last_id(group_id)
    await ask(world, person, "Сім’я і діти", "Як оформити допомогу на дитину?")
    [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    staff.thread_id = card["message_thread_id"]
    await staff.tap("🙋 Взяти", expect=False)
    [joined] = await next_messages(world, person, 1)
    assert "До вас приєднався фахівець" in message_text(joined)
    await person.refresh()
    assert person.keyboard == ["❌ Завершити консультацію"]

    await staff.tap("✅ Завершити консультацію", expect=False)
    ended, rating = await next_messages(world, person, 2)
    assert "Фахівець завершив консультацію" in message_text(ended) and carries_menu(ended)
    assert buttons(rating) == ["1", "2", "3", "4", "5"]
    await person.refresh()
    assert MENU in person.keyboard and "❌ Завершити консультацію" not in person.keyboard
    await person.tap("4", new=1)
    assert (await world.services.consult.past_for_resident(person.id, limit=1))[0].rating == 4


async def test_the_keyboard_comes_back_when_nobody_answers_in_time(world: World, clock) -> None:
    await line_group(world, "child_disability")
    person = await world.resident("lutsk", name="Марина")
    await ask(world, person, "Дитина з інвалідністю", "Як отримати реабілітацію для сина?")
    clock["value"] = TUESDAY_10 + timedelta(minutes=16)
    assert await consultation_clock(world.services) >= 1
    sorry, offer = await next_messages(world, person, 2)
    assert "ніхто з фахівців не встиг" in message_text(sorry) and carries_menu(sorry)
    assert buttons(offer) == ["📅 Записатися на час", "📞 Попросити передзвонити"]
    await person.refresh()
    assert MENU in person.keyboard and "❌ Завершити консультацію" not in person.keyboard
    assert await world.services.consult.open_for_resident(person.id) is None

    # a call back with the resident's own number shared by the button, and what was written in the chat
    await person.tap("📞 Попросити передзвонити", new=1)
    await person.share_contact(count=2)
    done = (await person.tap("➡️ Надіслати те, що я написав(-ла)", new=1))[-1]
    assert "зателефонує вам на номер" in message_text(done) and carries_menu(done)
    [request] = await world.services.requests.for_resident(person.id)
    assert request.contact_method == "telegram" and request.contact_phone
    assert "реабілітацію для сина" in request.description
    answer = await person.forge(offer, buttons_data(offer, "📞 Попросити передзвонити"))
    assert "вже зроблено" in answer.get("text", "")  # a second request is not filed
    assert len(await world.services.requests.for_resident(person.id)) == 1


async def test_no_queue_is_promised_when_nobody_can_answer(world: World, clock) -> None:
    # within hours, but the line's group is gone: no queue, no wait; booking and a call back at once, with why
    group_id, _staff = await line_group(world, "psychological")
    assert await world.services.groups.group_lost(group_id, "removed")
    person = await world.resident("lutsk", name="Віра")
    offer = (await choose_topic(person, "Психологічна підтримка"))[-1]
    text = message_text(offer)
    assert "фахівців цієї лінії ще не підключено" in text and "черз" not in text and "хв" not in text
    assert buttons(offer)[:2] == ["📅 Записатися на час", "📞 Попросити передзвонити"]
    # a booking for later today is promised the reminder an hour before only
    [day] = await person.tap("📅 Записатися на час", new=1)
    assert "вт, 01.12" in message_text(day) and buttons(day)[0] == "11:00"
    booked = (await person.tap("13:00", new=1))[-1]
    assert "Вас записано" in message_text(booked) and "Я нагадаю за годину." in message_text(booked)
    assert "за день" not in message_text(booked)
    # and is not reminded "tomorrow" of it, only an hour before
    [booking] = await world.services.consult.bookings_of(person.id)
    clock["value"] = TUESDAY_10 + timedelta(minutes=5)
    await consultation_clock(world.services)
    assert await reminders(world, booking.id) == (None, None)
    clock["value"] = TUESDAY_10 + timedelta(minutes=125)
    await consultation_clock(world.services)
    assert (await reminders(world, booking.id))[1] is not None
    [reminder] = await next_messages(world, person, 1)
    assert "за годину" in message_text(reminder)
    await world.services.consult.cancel_booking(person.id, booking.id)  # the line's later tests find no booking
    clock["value"] = TUESDAY_10

    # the group goes away while the resident writes the question: the question is not queued
    group_id, _staff = await line_group(world, "older_care")
    other = await world.resident("lutsk", name="Петро")
    answers = await choose_topic(other, "Догляд за літньою людиною")
    assert "Напишіть своє питання" in message_text(answers[-1])
    assert await world.services.groups.group_lost(group_id, "removed")
    [told] = await other.say("Мамі потрібна доглядальниця")
    assert "ще не підключено" in message_text(told) and "черз" not in message_text(told)
    assert await world.services.consult.open_for_resident(other.id) is None

    # outside hours with a bound group: the line is closed, no queue either
    clock["value"] = SATURDAY_12
    await line_group(world, "older_care")
    third = await world.resident("lutsk", name="Галина")
    closed = (await choose_topic(third, "Догляд за літньою людиною"))[-1]
    assert "Зараз лінія не працює" in message_text(closed) and "черз" not in message_text(closed)


async def test_booking_on_the_third_day(world: World, clock) -> None:
    clock["value"] = SATURDAY_12
    await line_group(world, "legal")
    person = await world.resident("lutsk", name="Тарас")
    await choose_topic(person, "Юридичні питання")
    [first] = await person.tap("📅 Записатися на час", new=1)
    assert "пн, 07.12" in message_text(first) and "день 1 з 5" in message_text(first)
    times = [b for b in buttons(first) if b[:2].isdigit()]
    assert times[0] == "09:00" and times[-1] == "16:30" and len(times) == 16  # every free time, not 12
    assert "◀️ Назад" in buttons(first) and not any(b.startswith("◀️ ") and b != "◀️ Назад" for b in buttons(first))

    [second] = await person.tap("вт, 08.12 ▶️")  # the same message shows the next day
    assert second["message_id"] == first["message_id"] and "вт, 08.12" in message_text(second)
    [third] = await person.tap("ср, 09.12 ▶️")
    assert "ср, 09.12" in message_text(third) and "день 3 з 5" in message_text(third)
    assert "◀️ вт, 08.12" in buttons(third) and "чт, 10.12 ▶️" in buttons(third)

    answers = await person.tap("14:30", new=1)
    booked = message_text(answers[-1])
    assert "Вас записано" in booked and "ср, 09.12 о 14:30" in booked and "за день і за годину" in booked
    [booking] = await world.services.consult.bookings_of(person.id)
    assert datetime.fromisoformat(booking.starts_at) == datetime(2026, 12, 9, 14, 30, tzinfo=KYIV)

    # a taken or made-up time books nothing; a made-up day shows a real one
    await choose_topic(person, "Юридичні питання")
    [day_screen] = await person.tap("📅 Записатися на час", new=1)
    taken = f"c:slot:legal.{booking.starts_at[:16].replace('-', '').replace('T', '').replace(':', '')}"  # UTC
    for forged in (taken, "c:slot:legal.209901010900", "c:slot:legal.x", "c:slot:nope"):
        answer = await person.forge(day_screen, forged)
        assert "цей час уже зайнятий" in answer.get("text", ""), forged
    assert len(await world.services.consult.bookings_of(person.id)) == 1
    rev = (await world.client.chat(person.chat_id))["rev"]
    await person.forge(day_screen, "c:day:legal.20991231")
    changed = await world.client.wait(person.chat_id, person._last_id, 1, 8, since_rev=rev)
    [last_day] = [m for m in changed["edited"] if m["message_id"] == day_screen["message_id"]]
    assert "пт, 11.12" in message_text(last_day) and "день 5 з 5" in message_text(last_day)
    await world.services.consult.cancel_booking(person.id, booking.id)  # the line's later tests find no booking


async def test_a_call_back_with_a_typed_phone_and_a_question(world: World, clock) -> None:
    clock["value"] = SATURDAY_12
    view = world.services.catalogue.communities["lutsk"]
    topic = next(t for t in world.services.catalogue.consultation_topics if t.id == "benefits")
    group_id, _staff = await staff_group(world, route(view, situation_id=topic.situation), title="Передзвонити")
    person = await world.resident("lutsk", name="Ганна")
    await choose_topic(person, "Соціальна підтримка і пільги")
    asked = (await person.tap("📞 Попросити передзвонити", new=1))[-1]
    assert "На який номер вам зателефонувати?" in message_text(asked)
    await person.refresh()
    assert "📱 Поділитися моїм номером" in person.keyboard
    assert not await world.services.requests.for_resident(person.id)  # nothing filed before the phone

    [wrong] = await person.say("12345")
    assert "номер" in message_text(wrong)
    [question] = await person.say("067 123 45 67")
    assert "Одним рядком" in message_text(question)
    after = await world.client.last_id(group_id)
    [done] = await person.say("Як переоформити субсидію після переїзду?")
    assert "зателефонує вам на номер +380671234567" in message_text(done) and carries_menu(done)

    [request] = await world.services.requests.for_resident(person.id)
    assert request.contact_phone == "+380671234567" and request.contact_method == "phone"
    assert "переоформити субсидію" in request.description
    [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    card_text = message_text(card)
    assert "+380671234567" in card_text and "переоформити субсидію" in card_text
