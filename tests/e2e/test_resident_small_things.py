"""What a new resident noticed, end to end on the sandbox: a main keyboard of three rows with the rest under «☰ Ще»
(and the old buttons' texts still answered), «Назад» from a card opened from search back to the same results, the
summary changing the topic and «for whom», a request's detail with the resident's own words, and the consultation
card whose «Питання» stays the first question."""
from __future__ import annotations

import asyncio

import pytest

from dialogs.common import Nav
from dialogs.resident.form import AskCb
from sandbox.client import message_text
from tests.support.consult import TUESDAY_10, ask, line_group
from tests.support.staff import file_request, number_of
from tests.support.world import MENU_UK, MORE_UK, Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def press_on(world: World, person: Person, message: dict, text: str) -> dict:
    """Press `text` under this very message (not the newest one that has it) and return the message edited."""
    rev = (await world.client.chat(person.chat_id))["rev"]
    await person.client.press(person.id, message, text)
    result = await world.client.wait(person.chat_id, person._last_id, 1, 8, since_rev=rev)
    [edited] = [m for m in result["edited"] if m["message_id"] == message["message_id"]]
    person._absorb([edited])
    return edited


def rows(person: Person) -> list[list[str]]:
    markup = (person.reply_keyboard or {}).get("markup") or {}
    return [[b["text"] for b in row] for row in markup.get("keyboard", [])]


async def test_the_main_keyboard_has_three_rows_and_the_rest_under_more(world: World) -> None:
    person = await world.resident("lutsk", name="Ніна")
    await person.say("/menu")
    assert rows(person) == [["🧭 Знайти допомогу", "🔎 Пошук"], ["📝 Попросити допомогу", "📂 Мої звернення"],
                            ["🆘 Екстрена допомога", "☰ Ще"]]
    assert person.keyboard == MENU_UK

    [more] = await person.tap("☰ Ще")
    assert "онлайн-консультація" in message_text(more)
    assert person.keyboard == MORE_UK
    [settings] = await person.tap("⚙️ Налаштування")
    assert "Налаштування" in message_text(settings) and "🗑 Видалити мої дані" in buttons(settings)
    [help_] = await person.tap("❓ Як користуватися")
    assert "Як користуватися ботом" in message_text(help_)
    assert person.keyboard == MENU_UK  # the help brings the main keyboard back

    await person.tap("☰ Ще")
    [menu] = await person.tap("⬅️ Назад")
    assert "Головне меню" in message_text(menu) and person.keyboard == MENU_UK

    # every item is still reachable by its old text, typed or pressed on an old nine-button keyboard
    [topics] = await person.say("💬 Онлайн-консультація")
    assert "тем" in message_text(topics).lower() and buttons(topics)
    [consent_or_about] = await person.say("🙋 Повідомити про людину в біді")
    assert "Перш ніж" in message_text(consent_or_about) or "Кому потрібна допомога" in message_text(consent_or_about)
    [settings] = await person.say("⚙️ Налаштування")
    assert "🗑 Видалити мої дані" in buttons(settings)
    [help_] = await person.say("❓ Як користуватися")
    assert "Як користуватися ботом" in message_text(help_)


async def test_more_in_the_middle_of_a_form_keeps_it(world: World) -> None:
    person = await world.resident("lutsk", name="Ліда")
    [consent] = await person.say("📝 Попросити допомогу")
    if "Перш ніж надіслати звернення" in message_text(consent):
        await person.tap("✅ Погоджуюся", new=1)
    [whom] = await person.tap("Літня людина потребує догляду", new=1)
    assert "Для кого потрібна допомога?" in message_text(whom)
    await person.tap("☰ Ще")
    await person.tap("⬅️ Назад")
    [described] = await person.tap("🙋 Для себе", new=1)  # the form goes on where it was
    assert "опишіть, що сталося" in message_text(described)


async def test_back_from_a_card_opened_from_search_returns_to_the_results(world: World) -> None:
    person = await world.resident("lutsk", name="Галина")
    [first] = await person.say("де безкоштовно поїсти пенсіонеру")
    [second] = await person.say("літня людина потребує догляду вдома")
    assert "Я знайшов" in message_text(first) and "Я знайшов" in message_text(second)
    first_text, second_text = message_text(first), message_text(second)

    [card] = await person.tap(buttons(second)[0])
    assert card["message_id"] == second["message_id"] and "Я знайшов" not in message_text(card)
    assert buttons(card)[-2:] == ["◀️ Назад", "🏠 Меню"]
    [back] = await person.tap("◀️ Назад")
    assert back["message_id"] == second["message_id"] and message_text(back) == second_text
    assert buttons(back) == buttons(second)

    # the earlier results, opened and left again, come back as they were too
    older = person.message(first["message_id"])
    card = await press_on(world, person, older, buttons(older)[0])
    assert "Я знайшов" not in message_text(card)
    back = await press_on(world, person, card, "◀️ Назад")
    assert back["message_id"] == first["message_id"] and message_text(back) == first_text

    # a back button whose search is no longer kept (forged or from before /menu) leads to the menu, not an error
    mark = person._last_id
    answer = await person.forge(second, Nav(screen="found", item="00000000").pack())
    assert answer["text"] == "Ця кнопка застаріла."
    [menu] = await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8)
    assert "Головне меню" in message_text(menu)
    answer = await person.forge(second, Nav(screen="found", item="").pack())
    assert answer["text"] == "Ця кнопка застаріла."
    for item in ("00000000", "00000000.no-such-service", ".", ""):  # a card from results that never were
        answer = await person.forge(second, Nav(screen="fsvc", item=item).pack())
        assert "Не вдалося знайти цю послугу" in answer["text"]


async def test_the_summary_changes_the_topic_and_for_whom_and_keeps_the_rest(world: World) -> None:
    person = await world.resident("lutsk", name="Тетяна")
    [consent] = await person.say("📝 Попросити допомогу")
    if "Перш ніж надіслати звернення" in message_text(consent):
        await person.tap("✅ Погоджуюся", new=1)
    await person.tap("Літня людина потребує догляду", new=1)
    await person.tap("🙋 Для себе", new=1)
    await person.say("Потрібна допомога з оформленням документів на догляд")
    await person.tap("Далі ➡️", new=1)
    await person.say("☎️ Написати номер")
    await person.say("067 123 45 67", count=2)
    summary = person.received[-1]
    assert "Тема: Літня людина потребує догляду" in message_text(summary)
    assert "🗂 Змінити тему" in buttons(summary) and "👥 Змінити, для кого" in buttons(summary)

    [topics] = await person.tap("🗂 Змінити тему", new=1)
    assert "Про що ваше звернення?" in message_text(topics)
    await person.tap("Сім’я у складних обставинах", new=2)
    summary = person.received[-1]
    text = message_text(summary)
    assert "Тема: Сім’я у складних обставинах" in text and "Для кого: для себе" in text
    assert "оформленням документів на догляд" in text and "+380671234567" in text.replace(" ", "")

    [whom] = await person.tap("👥 Змінити, для кого", new=1)
    assert "Для кого потрібна допомога?" in message_text(whom)
    await person.tap("👶 Для моєї дитини", new=2)
    text = message_text(person.received[-1])
    assert "Для кого: для своєї дитини" in text and "Тема: Сім’я у складних обставинах" in text
    assert "оформленням документів на догляд" in text

    # a forged change (a step this form has not, or an unknown one) only shows the summary again
    mark = person._last_id
    await person.forge(person.received[-1], AskCb(step="edit", value="about").pack())
    got = await world.client.wait_bot_messages(person.chat_id, mark, 2, timeout=8)
    person._absorb(got)
    assert "Для кого: для своєї дитини" in message_text(got[-1])

    accepted = (await person.tap("✅ Надіслати", new=1))[-1]
    row = await world.services.db.fetchone("SELECT id FROM requests WHERE public_id = ?", (number_of(accepted),))
    request = await world.services.requests.get(row["id"])
    assert request.situation_id and request.for_whom == "child"
    assert world.services.catalogue.situations[request.situation_id].name.get("uk") == "Сім’я у складних обставинах"
    assert request.description == "Потрібна допомога з оформленням документів на догляд"
    assert request.contact_phone and request.contact_phone.endswith("671234567")


async def test_a_report_changes_who_needs_help(world: World) -> None:
    person = await world.resident("lutsk", name="Зоя")
    [consent] = await person.say("🙋 Повідомити про людину в біді")
    if "Перш ніж" in message_text(consent):
        await person.tap("✅ Погоджуюся", new=1)
    await person.tap("👵 Літня людина", new=1)
    await person.say("Сусідці похилого віку потрібна допомога з покупками")
    await person.tap("Далі ➡️", new=1)
    await person.tap("🕶 Анонімно", new=2)
    summary = person.received[-1]
    assert "👥 Змінити, кому потрібна допомога" in buttons(summary)
    assert "🗂 Змінити тему" not in buttons(summary) and "👥 Змінити, для кого" not in buttons(summary)
    await person.tap("👥 Змінити, кому потрібна допомога", new=1)
    await person.tap("👶 Дитина", new=2)
    text = message_text(person.received[-1])
    assert "Сусідці похилого віку" in text and "анонімно" in text
    topic = next(line for line in text.splitlines() if line.startswith("Тема:"))
    assert topic != next(line for line in message_text(summary).splitlines() if line.startswith("Тема:"))
    assert world.services.catalogue.situations["child_at_risk"].name.get("uk") in topic


async def test_a_request_detail_shows_what_the_resident_wrote(world: World) -> None:
    person = await world.resident("lutsk", name="Віра")
    accepted = await file_request(person, situation="Літня людина потребує догляду",
                                  description="Батько після інсульту, потрібна доглядальниця", photo=True)
    number = number_of(accepted)
    [listing] = await person.say("📂 Мої звернення")
    opened = await person.tap(next(b for b in buttons(listing) if number in b), new=1)
    detail = "\n".join(message_text(m) for m in opened)
    assert "Що ви написали" in detail and "Батько після інсульту, потрібна доглядальниця" in detail
    assert "📎 файлів: 1" in detail
    assert detail.index("Що ви написали") < detail.index("Історія")


async def test_the_consultation_card_keeps_the_first_question(world: World) -> None:
    consult = world.services.consult
    original = consult.clock
    consult.clock = lambda: TUESDAY_10
    try:
        group_id, staff = await line_group(world, "family")
        person = await world.resident("lutsk", name="Надія")
        after = await world.client.last_id(group_id)
        await ask(world, person, "Сім’я і діти", "Як оформити допомогу при народженні дитини?")
        [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
        staff.thread_id = card["message_thread_id"]
        mark = await world.client.last_id(group_id)
        await person.say("І ще: чи можна подати заяву онлайн?", count=0)
        [relayed] = await world.client.wait_bot_messages(group_id, mark, 1, timeout=8)
        assert "чи можна подати заяву онлайн" in message_text(relayed)

        await staff.tap("🙋 Взяти", expect=False)  # the card is edited: its status and who took it
        text = message_text(card)
        for _attempt in range(160):
            text = message_text(next(m for m in await world.client.messages(group_id)
                                     if m["message_id"] == card["message_id"]))
            if text != message_text(card):
                break
            await asyncio.sleep(0.05)
        assert text != message_text(card), "the card was not updated"
        assert "допомогу при народженні дитини" in text.split("Питання", 1)[1]
        assert "подати заяву онлайн" not in text
    finally:
        consult.clock = original
    await person.say("❌ Завершити консультацію", count=2)  # the end, and the rating of the specialist who took it
    assert await world.services.consult.open_for_resident(person.id) is None
