"""Requests end to end: a resident asks, the institution's group handles it, the resident follows it."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from sandbox.client import message_text
from tests.support.staff import file_request, group_messages, new_group, number_of, report_in_danger, staff_group
from tests.support.world import Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_the_whole_journey_of_a_request(world: World) -> None:
    group_id, staff = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Марія")
    after = await world.client.last_id(group_id)
    accepted = await file_request(person, situation="Літня людина потребує догляду", photo=True)
    number = number_of(accepted)
    assert "Територіальний центр" in message_text(accepted)
    assert "робочих днів" in message_text(accepted)

    # the card reaches the institution's group in a topic of its own, with the photo
    card, photo = await group_messages(world, group_id, after, count=2)
    thread = card["message_thread_id"]
    assert thread and photo["message_thread_id"] == thread and photo.get("photo")
    card_text = message_text(card)
    assert f"Звернення № {number}" in card_text and "Мамі 80 років" in card_text
    assert "Контакт (надіслано через Telegram)" in card_text
    assert buttons(card) == ["🙋 Взяти", "💬 Відповісти", "📝 Примітка", "↪️ Переадресувати", "👥 Передати колезі",
                             "✅ Вирішено", "☑️ Закрити"]
    topics = (await world.client.state())["groups"]
    assert any(number in t["name"] for g in topics if g["id"] == group_id for t in g.get("topics", []))

    staff.thread_id = thread
    # take: the card changes and the resident is told
    mark = person._last_id
    await staff.tap("🙋 Взяти")
    assert "Ви взяли звернення" in staff.last_answer["text"]
    [taken] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    person._absorb([taken])
    assert "взяв ваше звернення" in message_text(taken)

    # an internal note never reaches the resident
    await staff.tap("📝 Примітка", new=1)
    [saved] = await staff.say("Внутрішнє: зателефонувати доньці")
    assert "Примітку збережено" in message_text(saved)

    # writing in the topic answers the resident, signed with the role
    await staff.say("/role соціальний працівник")
    mark = person._last_id
    [sent] = await staff.say("Доброго дня! Соціальний робітник прийде у вівторок о 10:00.")
    assert "Надіслано мешканцю" in message_text(sent)
    [answer] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    person._absorb([answer])
    assert "Відповідь на ваше звернення" in message_text(answer)
    assert "соціальний працівник" in message_text(answer) and "вівторок о 10:00" in message_text(answer)
    assert "зателефонувати доньці" not in message_text(answer)

    # the resident answers back into the same topic
    await person.tap("✍️ Відповісти", new=1)
    mark_group = await world.client.last_id(group_id)
    [ok] = await person.say("Дякую, чекатимемо!")
    assert "Надіслано фахівцю" in message_text(ok)
    [relayed] = await group_messages(world, group_id, mark_group)
    assert relayed["message_thread_id"] == thread and "Дякую, чекатимемо!" in message_text(relayed)

    # resolved: the resident is asked to rate, rates and comments
    mark = person._last_id
    await staff.tap("✅ Вирішено", new=1)  # a reason, then «Так»
    await staff.tap("Допомогли")
    await staff.tap("✅ Так, вирішено")
    [finished] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    person._absorb([finished])
    assert "як вирішене" in message_text(finished) and buttons(finished) == ["1", "2", "3", "4", "5"]
    await person.tap("5", new=1)
    [thanks] = await person.say("Дуже вдячна за допомогу")
    assert "коментар збережено" in message_text(thanks)

    # «Мої звернення» shows the whole history
    [listing] = await person.say("📂 Мої звернення")
    assert number in message_text(listing) and "Вирішено" in message_text(listing)
    [history] = await person.tap(next(b for b in buttons(listing) if number in b), new=1)
    text = message_text(history)
    for line in ("Звернення надіслано", "Фахівець взяв звернення в роботу", "Відповідь (соціальний працівник)",
                 "Ваше повідомлення", "Позначено як вирішене", "Ваша оцінка"):
        assert line in text, line
    assert "Внутрішня примітка" not in text and "зателефонувати доньці" not in text
    request = (await world.services.requests.for_resident(person.id))[0]
    assert request.rating == 5 and request.rating_comment == "Дуже вдячна за допомогу"


async def test_redirect_to_another_institution(world: World) -> None:
    tcso_group, staff = await staff_group(world, "tcso")
    dsvp_group, _ = await staff_group(world, "dsvp", title="Департамент")
    person = await world.resident("lutsk", name="Петро")
    after = await world.client.last_id(tcso_group)
    await file_request(person, situation="Літня людина потребує догляду", contact="chat")
    [card] = await group_messages(world, tcso_group, after)
    staff.thread_id = card["message_thread_id"]
    await staff.tap("↪️ Переадресувати", new=1)
    after_dsvp = await world.client.last_id(dsvp_group)
    mark = person._last_id
    await staff.tap(next(b for b in staff.buttons if "Департамент" in b))
    [done] = await staff.say("Це питання пільг, його вирішує департамент")
    assert "Мешканцю повідомлено" in message_text(done)
    [moved] = await group_messages(world, dsvp_group, after_dsvp)
    assert "Звернення №" in message_text(moved)
    [told] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    assert "передано до установи" in message_text(told) and "Департамент" in message_text(told)
    # the old group's card says where it went and has no buttons left
    old = next(m for m in await world.client.messages(tcso_group) if m["message_id"] == card["message_id"])
    assert message_text(old).startswith("↪️ Передано: Департамент") and not buttons(old)


async def test_withdraw(world: World) -> None:
    group_id, _ = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Ганна")
    after = await world.client.last_id(group_id)
    accepted = await file_request(person, situation="Літня людина потребує догляду", contact="chat")
    await group_messages(world, group_id, after)
    [listing] = await person.say("📂 Мої звернення")
    await person.tap(next(b for b in buttons(listing) if number_of(accepted) in b), new=1)
    await person.tap("↩️ Відкликати звернення", new=1)
    after = await world.client.last_id(group_id)
    [done] = await person.tap("Так, відкликати")
    assert "відкликано" in message_text(done)
    [notice] = await group_messages(world, group_id, after)
    assert "Мешканець відкликав звернення" in message_text(notice)


async def test_anonymous_report_about_a_child_goes_to_the_childrens_service(world: World) -> None:
    group_id, _ = await staff_group(world, "ssd", community="volodymyr", title="Служба у справах дітей")
    person = await world.resident("volodymyr", name="Сусідка")
    after = await world.client.last_id(group_id)
    screen, accepted = await report_in_danger(
        person, "👶 Дитина", "Дитина третій день сама вдома, плаче, батьків не видно. Вулиця Ковельська.")
    assert "112" in message_text(screen)  # a child at risk: the emergency lines first
    assert "Служба у справах дітей" in message_text(accepted)
    [card] = await group_messages(world, group_id, after)
    text = message_text(card)
    assert "ТЕРМІНОВО" in text and "Анонімно" in text and "Сусідка" not in text
    assert str(person.id) not in text


async def test_unbound_institution_waits_then_gets_the_card(world: World) -> None:
    from tests.support.world import ADMIN_ID

    admin_seen = await world.client.last_id(ADMIN_ID)
    person = await world.resident("kakhovka", name="Олег")
    accepted = await file_request(person, situation="Сім’я у складних обставинах", contact="chat")
    number = number_of(accepted)
    request = (await world.services.requests.for_resident(person.id))[0]
    assert not request.delivered
    [notice] = await world.client.wait_bot_messages(ADMIN_ID, admin_seen, 1, timeout=8)
    assert number in message_text(notice) and "не має підключеної групи" in message_text(notice)
    group_id, _ = await staff_group(world, request.institution_id, community="kakhovka")
    messages = await group_messages(world, group_id, 0, count=2)
    assert any(f"Звернення № {number}" in message_text(m) for m in messages)


async def test_group_that_removed_the_bot(world: World) -> None:
    group_id, staff = await staff_group(world, "tcso")
    world.allow_errors("bot was kicked", chat_id=group_id)
    from tests.support.world import ADMIN_ID

    admin_seen = await world.client.last_id(ADMIN_ID)
    await world.client.add_bot(group_id, status="kicked")
    person = await world.resident("lutsk", name="Віра")
    await file_request(person, situation="Літня людина потребує догляду", contact="chat")
    request = (await world.services.requests.for_resident(person.id))[0]
    for _ in range(100):  # the administrators are told (besides the notice that the group was bound)
        notices = [message_text(m) for m in await world.client.messages(ADMIN_ID, since_id=admin_seen)
                   if m.get("sender") == "bot"]
        if any("недоступна" in text for text in notices):
            break
        await asyncio.sleep(0.08)
    assert any("недоступна" in text for text in notices), notices
    row = await world.services.db.fetchone("SELECT status FROM outbox WHERE request_id = ? AND kind = 'card'",
                                           (request.id,))
    assert row["status"] == "held"
    group = await world.services.groups.group(group_id)
    assert not group.active
    # the group is fixed and bound again: the card arrives
    await world.client.add_bot(group_id, status="administrator")
    after = await world.client.last_id(group_id)
    code = await world.services.groups.create_bind_code("lutsk", "tcso", None)
    await world.client.send_text(staff.user, f"/bind {code}", chat_id=group_id)
    for _ in range(100):  # the /bind answer and the card (and the greeting of a bot added again)
        messages = [m for m in await world.client.messages(group_id, since_id=after) if m.get("sender") == "bot"]
        if any(request.public_id in message_text(m) for m in messages):
            break
        await asyncio.sleep(0.08)
    assert any(request.public_id in message_text(m) for m in messages), [message_text(m) for m in messages]


async def test_forged_callbacks_cannot_touch_other_requests(world: World) -> None:
    group_id, staff = await staff_group(world, "tcso")
    owner = await world.resident("lutsk", name="Власниця")
    after = await world.client.last_id(group_id)
    await file_request(owner, situation="Літня людина потребує догляду", description="Таємний опис", contact="chat")
    # a new group of the institution also gets the open cards of a group lost in an earlier test: find this one
    arrived = await group_messages(world, group_id, after)
    while not any("Таємний опис" in message_text(m) for m in arrived):
        after = max(m["message_id"] for m in arrived)
        arrived = await group_messages(world, group_id, after)
    request = (await world.services.requests.for_resident(owner.id))[0]
    stranger = await world.resident("lutsk", name="Чужий")
    [menu] = await stranger.say("/menu")
    for data in (f"r:open:{request.id}:", f"r:withdraw_yes:{request.id}:", f"r:rate:{request.id}:5",
                 f"r:write:{request.id}:", f"s:take:{request.id}:", f"s:resolve:{request.id}:"):
        answer = await stranger.forge(menu, data)
        assert answer.get("text"), data
        assert "Таємний опис" not in str(answer)
    # the staff of another institution try to act on it from their own group
    other_group, other_staff = await staff_group(world, "dsvp", title="Інша установа")
    [other_card_screen] = await other_staff.say("/open")
    query = await world.client.press_data(other_staff.id, other_card_screen, f"s:take:{request.id}:", force=True,
                                          chat_id=other_group)
    answer = await world.client.callback_answer(query)
    assert "належить іншій установі" in answer["text"]
    fresh = await world.services.requests.get(request.id)
    assert fresh.status.value == "new" and fresh.assignee_id is None


async def test_delete_my_data(world: World) -> None:
    group_id, _ = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Зоряна")
    await file_request(person, situation="Літня людина потребує догляду", description="Мій телефон і адреса тут")
    [settings] = await person.say("⚙️ Налаштування")
    await person.tap("🗑 Видалити мої дані", new=1)
    [done] = await person.tap("🗑 Так, видалити")
    assert "Ваші дані видалено" in message_text(done)
    assert await world.services.requests.for_resident(person.id) == []
    row = await world.services.db.fetchone(
        "SELECT COUNT(*) AS n FROM requests WHERE description LIKE '%Мій телефон%' OR contact_phone IS NOT NULL "
        "AND resident_id IS NULL AND purged_at IS NOT NULL")
    assert row["n"] == 0
    [listing] = await person.say("📂 Мої звернення")
    assert "поки немає звернень" in message_text(listing)


async def test_a_resident_who_blocked_the_bot(world: World) -> None:
    group_id, staff = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Блокувальник")
    after = await world.client.last_id(group_id)
    await file_request(person, situation="Літня людина потребує догляду", contact="chat")
    [card] = await group_messages(world, group_id, after)
    staff.thread_id = card["message_thread_id"]
    world.allow_errors("blocked by the user", chat_id=person.id)
    await world.client.block(person.id)
    [sent] = await staff.say("Ми зателефонуємо вам завтра")
    assert "Надіслано мешканцю" in message_text(sent)
    import asyncio

    for _ in range(100):  # the outbox works in the background: give it up to 5 s
        resident = await world.services.residents.get(person.id)
        if resident.blocked:
            break
        await asyncio.sleep(0.05)
    assert resident.blocked
    row = await world.services.db.fetchone(
        "SELECT status FROM outbox WHERE target = ? AND kind = 'reply'", (f"resident:{person.id}",))
    assert row["status"] == "dropped"  # not retried forever
    # the request and the answer are kept: the resident sees them after unblocking
    await world.client.block(person.id, blocked=False)
    await person.say("/start", count=2)
    request = (await world.services.requests.for_resident(person.id))[0]
    events = await world.services.requests.history(request.id, public_only=True)
    assert any(e.kind == "reply" and "завтра" in (e.text or "") for e in events)


async def test_an_administrator_binds_a_group_through_the_bot(world: World) -> None:
    from tests.support.world import ADMIN_ID

    admin = next(u for u in (await world.client.state())["users"] if u["id"] == ADMIN_ID)
    boss = Person(world.client, admin)
    [listing] = await boss.say("/bind_code")
    assert "lutsk tcso" in message_text(listing)
    [answer] = await boss.say("/bind_code volodymyr css")
    code = message_text(answer).split("/bind ", 1)[1].split()[0]
    assert "діє один раз" in message_text(answer)
    staff_user = await world.client.create_user("Оксана")
    group = await new_group(world.client, "ЦСС Володимир", forum=True, members=[staff_user])
    staff = Person(world.client, staff_user)
    staff.chat_id = group["id"]
    [bound] = await staff.say(f"/bind {code}")
    assert "Тепер ця група отримує звернення" in message_text(bound)
    [again] = await staff.say(f"/bind {code}")
    assert "уже використано" in message_text(again)
    stranger = await world.resident("volodymyr", name="Не адмін")
    [refused] = await stranger.say("/bind_code volodymyr css")
    assert "для адміністраторів громади" in message_text(refused)


async def test_a_request_sent_after_midnight_is_due_on_a_kyiv_day(world: World) -> None:
    """At 01:20 on a Tuesday in Kyiv it is still Monday in UTC: three working days are counted, and the day is
    told, in Kyiv time (Friday the 11th), not the UTC day before. The requests' clock is put in a December far
    ahead, so that the request is due after every other test and the wall clock plays no part."""
    group_id, _ = await staff_group(world, "tcso")
    requests = world.services.requests
    original = requests.clock
    requests.clock = lambda: datetime(2099, 12, 7, 23, 20, tzinfo=timezone.utc)  # Tue 8 Dec 2099, 01:20 in Kyiv
    try:
        person = await world.resident("lutsk", name="Ольга")
        after = await world.client.last_id(group_id)
        accepted = await file_request(person, situation="Літня людина потребує догляду", contact="chat")
        assert "Відповідь очікуйте до 11 грудня 2099" in message_text(accepted), message_text(accepted)
        [card] = await group_messages(world, group_id, after)
        assert "11.12" in message_text(card) and "10.12" not in message_text(card)
        [listing] = await person.say("📂 Мої звернення")
        [history] = await person.tap(next(b for b in buttons(listing) if number_of(accepted) in b), new=1)
        assert "Відповідь очікується до: 11 грудня 2099" in message_text(history)
    finally:
        requests.clock = original
