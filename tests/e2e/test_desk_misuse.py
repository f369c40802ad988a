"""The staff desk used carelessly: an answer (or the words of «Інше») begun in one request's topic and written in
another's, a command sent where a text is awaited, ready answers with markup or of the greatest length, staff
commands sent in a private chat, a list of thirty colleagues with one who left, and a resident who blocked the bot
before «Чи отримали ви допомогу?»; a command while a consultation's internal note is awaited."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio

from bot.runtime.housekeeping import ask_whether_helped
from sandbox.client import message_text
from tests.support.consult import ask, line_group
from tests.support.staff import (
    card_in,
    file_request,
    finish_request,
    group_settled,
    number_of,
    outbox_settled,
    staff_group,
)
from tests.support.world import Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")

SITUATION = "Літня людина потребує догляду"  # goes to tcso
LONG = ("Довга відповідь. " + "Документи прийнято, чекайте на дзвінок у робочий день. " * 80)[:4000].strip()
MARKUP = "<b>Увага</b> & <script>alert(1)</script> ще <i>текст"


@pytest_asyncio.fixture(autouse=True, loop_scope="package")
async def ready_answers_as_found(world: World):
    """The institution's ready answers after each test are those it found: the ones it added (4000 characters, with
    markup, written between commands) are removed, as other tests read the list of the same institution."""
    templates = world.services.templates
    found = {t.id for t in await templates.of("lutsk", "tcso")}
    yield
    for template in await templates.of("lutsk", "tcso"):
        if template.id not in found:
            await templates.remove("lutsk", "tcso", template.id)


async def bot_texts(world: World, chat_id: int, after: int, settle: float = 1.0) -> list[str]:
    await asyncio.sleep(settle)
    return [message_text(m) for m in await world.client.messages(chat_id, since_id=after) if m.get("sender") == "bot"]


async def press(world: World, who: Person, message: dict[str, Any], text: str, count: int = 1) -> list[dict]:
    """Press a button of this very message (not the newest one with that text) and wait for `count` messages in
    its topic."""
    chat_id, thread = message["chat"]["id"], message.get("message_thread_id")
    mark = await world.client.last_id(chat_id)
    await world.client.callback_answer(await world.client.press(who.id, message, text, chat_id=chat_id))
    return await world.client.wait_bot_messages(chat_id, mark, count, timeout=8, thread_id=thread)


async def templates_list(world: World, staff: Person, group_id: int) -> dict[str, Any]:
    """/templates in the group's general topic; its last message, the one with the buttons."""
    mark = await world.client.last_id(group_id)
    await world.client.send_text(staff.id, "/templates", chat_id=group_id)
    for _ in range(160):
        got = [m for m in await world.client.messages(group_id, since_id=mark) if m.get("sender") == "bot"]
        if got and any(b.startswith("➕") for b in buttons(got[-1])):
            return got[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("/templates did not answer")


async def two_requests(world: World, title: str) -> tuple[int, Person, list[Person], list[dict[str, Any]]]:
    group_id, irina = await staff_group(world, "tcso", title=title)
    await irina.say("/role соціальна працівниця")
    people = [await world.resident("lutsk", name="Анна"), await world.resident("lutsk", name="Борис")]
    after = await world.client.last_id(group_id)
    numbers = [number_of(await file_request(p, situation=SITUATION, contact="chat")) for p in people]
    cards = [await card_in(world, group_id, after, n) for n in numbers]
    await group_settled(world, "lutsk", "tcso")
    return group_id, irina, people, cards


async def test_an_answer_begun_in_one_topic_goes_where_it_is_written(world: World) -> None:
    group_id, irina, (anna, boris), (card_a, card_b) = await two_requests(world, "Два звернення")
    marks = [await world.client.last_id(p.chat_id) for p in (anna, boris)]

    # «💬 Відповісти» under Анна's card, then the answer written in Борис's topic: it is Борис's
    await press(world, irina, card_a, "💬 Відповісти")
    irina.thread_id = card_b["message_thread_id"]
    [sent] = await irina.say("Борисе, ваша довідка готова.")
    assert "Надіслано мешканцю" in message_text(sent)
    assert not [t for t in await bot_texts(world, anna.chat_id, marks[0]) if "довідка готова" in t]
    assert any("Борисе, ваша довідка готова." in t for t in await bot_texts(world, boris.chat_id, marks[1], 0))
    # the answer begun under Анна's card still waits in her topic
    irina.thread_id = card_a["message_thread_id"]
    await irina.say("Анно, чекаємо вас у четвер.")
    assert any("Анно, чекаємо вас у четвер." in t for t in await bot_texts(world, anna.chat_id, marks[0]))

    # «Інше» when closing Анна's request, the words written in Борис's topic: an answer to him, nothing closed
    [reasons] = await press(world, irina, card_a, "☑️ Закрити")
    await press(world, irina, reasons, "Інше", count=0)
    irina.thread_id = card_b["message_thread_id"]
    marks = [await world.client.last_id(p.chat_id) for p in (anna, boris)]
    [sent] = await irina.say("Подзвоніть нам, будь ласка.")
    assert "Надіслано мешканцю" in message_text(sent)
    assert any("Подзвоніть нам" in t for t in await bot_texts(world, boris.chat_id, marks[1]))
    assert not await bot_texts(world, anna.chat_id, marks[0], 0)
    request = await world.services.requests.by_card(group_id, card_a["message_id"])
    assert request.status.open


async def test_ready_answers_of_4000_characters_and_with_markup(world: World) -> None:
    group_id, irina, (anna, _boris), (card_a, _card_b) = await two_requests(world, "Довгі відповіді")
    for text in (LONG, MARKUP):
        await press(world, irina, await templates_list(world, irina, group_id), "➕ Додати готову відповідь")
        [saved] = await irina.say(text)
        assert "Готову відповідь збережено" in message_text(saved)
    listing = await templates_list(world, irina, group_id)
    n = len([b for b in buttons(listing) if b.startswith("✏️")])

    # ✏️ shows the long one whole in two messages, the buttons under the second; 🗑 shows it whole too
    shown = await press(world, irina, listing, f"✏️ {n - 1}", count=2)
    assert "".join(message_text(m) for m in shown).count("Документи прийнято") == LONG.count("Документи прийнято")
    assert buttons(shown[-1]) == ["❌ Скасувати"]
    await press(world, irina, shown[-1], "❌ Скасувати", count=0)
    shown = await press(world, irina, listing, f"🗑 {n - 1}")  # fits one message with its short question
    assert message_text(shown[-1]).count("Документи прийнято") == LONG.count("Документи прийнято")
    assert buttons(shown[-1]) == ["🗑 Видалити", "❌ Скасувати"]
    await press(world, irina, shown[-1], "❌ Скасувати", count=0)

    # offered under «💬 Відповісти»: shown whole, and sent as it is, whole
    [offer] = await press(world, irina, card_a, "💬 Відповісти")
    long_label = next(b for b in buttons(offer) if b.startswith("📋 Довга відповідь"))
    shown = await press(world, irina, offer, long_label, count=2)
    assert buttons(shown[-1]) == ["✅ Надіслати як є", "❌ Скасувати"]
    mark = await world.client.last_id(anna.chat_id)
    await press(world, irina, shown[-1], "✅ Надіслати як є")
    got = "".join(t for t in await bot_texts(world, anna.chat_id, mark, 1.5))
    assert got.count("Документи прийнято") == LONG.count("Документи прийнято")

    # one with markup reaches the resident as the very characters written
    [offer] = await press(world, irina, card_a, "💬 Відповісти")
    [shown] = await press(world, irina, offer, next(b for b in buttons(offer) if "Увага" in b))
    assert MARKUP in message_text(shown)
    mark = await world.client.last_id(anna.chat_id)
    await press(world, irina, shown, "✅ Надіслати як є")
    assert any(MARKUP in t for t in await bot_texts(world, anna.chat_id, mark))


async def test_staff_commands_in_a_private_chat_say_where_they_work(world: World) -> None:
    _group_id, irina = await staff_group(world, "tcso", title="Приватні команди")
    await irina.say("/role соціальна працівниця")
    me = Person(world.client, irina.user)  # the same person, in the private chat with the bot
    for command in ("/templates", "/open", "/role психолог", "/queue", "/bind 123"):
        [said] = await me.say(command)
        assert "працює в робочій групі установи" in message_text(said), (command, message_text(said))
        assert "№" not in message_text(said) and not buttons(said)


async def test_thirty_colleagues_and_one_who_left(world: World) -> None:
    group_id, irina = await staff_group(world, "tcso", title="Великий стіл")
    await irina.say("/role соціальна працівниця")
    for i in range(30):
        user = await world.client.create_user(f"Колега{i}", language_code="uk")
        await world.client.add_member(group_id, user)
        person = Person(world.client, user)
        person.chat_id = group_id
        await person.say(f"/role фахівець {i}")
    gone = await world.client.create_user("Пішла", language_code="uk")
    await world.client.add_member(group_id, gone)
    person = Person(world.client, gone)
    person.chat_id = group_id
    await person.say("/role юристка")
    await world.client.add_member(group_id, gone, status="left")
    anna = await world.resident("lutsk", name="Ганна")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(anna, situation=SITUATION, contact="chat"))
    card = await card_in(world, group_id, after, number)
    await group_settled(world, "lutsk", "tcso")
    await press(world, irina, card, "🙋 Взяти", count=0)
    [listing] = await press(world, irina, card, "👥 Передати колезі")
    names = buttons(listing)
    assert len([b for b in names if "Колега" in b]) == 30
    assert not [b for b in names if "Пішла" in b or "Ірина" in b]


async def test_a_command_is_not_taken_for_an_answer_a_reason_or_a_ready_answer(world: World) -> None:
    group_id, irina, (anna, _boris), (card_a, _card_b) = await two_requests(world, "Команди замість тексту")
    irina.thread_id = card_a["message_thread_id"]
    mark = await world.client.last_id(anna.chat_id)

    # an answer begun, then a command: nothing reaches the resident; /cancel drops the answer
    await press(world, irina, card_a, "💬 Відповісти")
    [said] = await irina.say("/menu")
    assert "Нічого не надіслано" in message_text(said)
    [said] = await irina.say("/cancel")
    assert "Скасовано" in message_text(said)
    [said] = await irina.say("/cancel")
    assert "Немає чого скасовувати" in message_text(said)
    assert not await bot_texts(world, anna.chat_id, mark)

    # a redirect's reason: a command is not the reason, and nothing is passed on
    [where] = await press(world, irina, card_a, "↪️ Переадресувати")
    await press(world, irina, where, buttons(where)[0], count=0)
    [said] = await irina.say("/start")
    assert "Нічого не надіслано" in message_text(said)
    await irina.say("/cancel")
    request = await world.services.requests.by_card(group_id, card_a["message_id"])
    assert request.institution_id == "tcso" and request.status.open
    assert not await bot_texts(world, anna.chat_id, mark, 0)

    # a ready answer being written: a command is not kept as one; the group's own commands still answer
    count = len(await world.services.templates.of("lutsk", "tcso"))
    irina.thread_id = None
    await press(world, irina, await templates_list(world, irina, group_id), "➕ Додати готову відповідь")
    [said] = await irina.say("/new")
    assert "Нічого не надіслано" in message_text(said)
    [listing] = await irina.say("/open")
    assert "Відкриті звернення" in message_text(listing)
    [saved] = await irina.say("Чекаємо вас з паспортом.")
    assert "Готову відповідь збережено" in message_text(saved)
    texts = [t.text for t in await world.services.templates.of("lutsk", "tcso")]
    assert len(texts) == count + 1 and "/new" not in texts and "/open" not in texts


async def test_a_resident_who_blocked_the_bot_is_not_counted_as_asked(world: World) -> None:
    """The question cannot reach them: it is kept as never asked (left out of /stats), not as unanswered."""
    requests = world.services.requests
    original, now = requests.clock, [datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=800)]
    requests.clock = lambda: now[0]
    try:
        group_id, irina, (anna, _boris), (card_a, _card_b) = await two_requests(world, "Заблокували бота")
        request = await requests.by_card(group_id, card_a["message_id"])
        irina.thread_id = card_a["message_thread_id"]
        await irina.say("Домовилися про візит у четвер.")
        await finish_request(world, irina.id, group_id, request.id)
        await outbox_settled(world, [f"resident:{anna.id}"])
        world.allow_errors("bot was blocked by the user", anna.id)
        await world.client.block(anna.user)
        now[0] += timedelta(days=3, minutes=1)
        assert await ask_whether_helped(world.services) >= 1
        await outbox_settled(world, [f"resident:{anna.id}"])
        rows = await world.services.db.fetchall(
            "SELECT answer FROM request_confirmations WHERE request_id = ?", (request.id,))
        assert [r["answer"] for r in rows] == ["void"]
    finally:
        requests.clock = original


async def test_without_topics_a_reply_to_another_card_answers_that_card(world: World) -> None:
    """A group without topics: «💬 Відповісти» under Анна's card, then a reply to Борис's card is Борис's answer (and
    Анна's answer still waits for the next message that is not a reply to another card); the same while a redirect's
    reason or a ready answer is awaited."""
    group_id, irina = await staff_group(world, "tcso", title="Без тем", forum=False)
    await irina.say("/role соціальна працівниця")
    anna, boris = await world.resident("lutsk", name="Анна"), await world.resident("lutsk", name="Борис")
    after = await world.client.last_id(group_id)
    numbers = [number_of(await file_request(p, situation=SITUATION, contact="chat")) for p in (anna, boris)]
    card_a, card_b = [await card_in(world, group_id, after, n) for n in numbers]
    await group_settled(world, "lutsk", "tcso")
    marks = [await world.client.last_id(p.chat_id) for p in (anna, boris)]
    await press(world, irina, card_a, "💬 Відповісти")
    [sent] = await irina.reply(card_b, "Борисе, ваша довідка готова.")
    assert "Надіслано мешканцю" in message_text(sent)
    assert any("Борисе, ваша довідка готова." in t for t in await bot_texts(world, boris.chat_id, marks[1]))
    assert not await bot_texts(world, anna.chat_id, marks[0], 0)
    [sent] = await irina.say("Анно, чекаємо вас у четвер.")
    assert "Надіслано мешканцю" in message_text(sent)
    assert any("Анно, чекаємо вас у четвер." in t for t in await bot_texts(world, anna.chat_id, marks[0]))

    # a redirect's reason awaited for Анна's request: a reply to Борис's card is his answer, nothing is passed on
    [where] = await press(world, irina, card_a, "↪️ Переадресувати")
    await press(world, irina, where, buttons(where)[0], count=0)
    [sent] = await irina.reply(card_b, "Уточніть, будь ласка, адресу.")
    assert "Надіслано мешканцю" in message_text(sent)
    assert (await world.services.requests.by_card(group_id, card_a["message_id"])).institution_id == "tcso"
    await irina.say("/cancel")

    # a ready answer being written: a reply to a card is that card's answer, not the ready answer
    count = len(await world.services.templates.of("lutsk", "tcso"))
    await press(world, irina, await templates_list(world, irina, group_id), "➕ Додати готову відповідь")
    mark = await world.client.last_id(boris.chat_id)
    [sent] = await irina.reply(card_b, "Борисе, передзвоніть нам.")
    assert "Надіслано мешканцю" in message_text(sent)
    assert any("Борисе, передзвоніть нам." in t for t in await bot_texts(world, boris.chat_id, mark))
    [saved] = await irina.say("Передзвоніть нам, будь ласка, у робочий час.")
    assert "Готову відповідь збережено" in message_text(saved)
    assert len(await world.services.templates.of("lutsk", "tcso")) == count + 1


async def test_a_command_is_not_taken_for_a_consultations_note(world: World) -> None:
    group_id, staff = await line_group(world, "benefits")
    person = await world.resident("lutsk", name="Ярема")
    after = await world.client.last_id(group_id)
    await ask(world, person, "Соціальна підтримка і пільги", "Як оформити субсидію?")
    [card] = await world.client.wait_bot_messages(group_id, after, 1, timeout=8)
    staff.thread_id = card["message_thread_id"]
    consultation = await world.services.consult.open_for_resident(person.id)
    await press(world, staff, card, "🙋 Взяти", count=0)
    await press(world, staff, card, "🗒 Примітка")
    mark = await world.client.last_id(person.chat_id)
    [said] = await staff.say("/zzz")
    assert "Нічого не надіслано" in message_text(said)
    [listing] = await staff.say("/open")  # the group's own command answers, and the note still waits
    assert "звернен" in message_text(listing).lower()
    [saved] = await staff.say("Потрібна довідка про доходи.")
    assert "Примітку збережено" in message_text(saved)
    kept = [s.text for s in await world.services.consult.transcript(consultation.id, public_only=False)
            if s.kind == "note"]
    assert kept == ["Потрібна довідка про доходи."]
    assert not await bot_texts(world, person.chat_id, mark, 0.3)
    await press(world, staff, card, "✅ Завершити консультацію", count=0)


async def test_a_reason_too_long_for_the_resident_is_asked_again_not_cut(world: World) -> None:
    """The words of «Інше» (500 characters) and a redirect's reason (1000) reach the resident: a longer text is not
    cut silently, the staff member is asked for a shorter one and the step waits for it."""
    group_id, irina, (anna, _boris), (card_a, _card_b) = await two_requests(world, "Довгі причини")
    irina.thread_id = card_a["message_thread_id"]
    words = "Ми оформили догляд, але частину документів треба донести особисто. " * 20
    [reasons] = await press(world, irina, card_a, "☑️ Закрити")
    await press(world, irina, reasons, "Інше", count=0)
    [said] = await irina.say(words[:600])
    assert "довше за 500 символів" in message_text(said) and not buttons(said)
    [confirm] = await irina.say(words[:300].strip())
    assert "Закрити звернення" in message_text(confirm) and words[:300].strip() in message_text(confirm)
    await press(world, irina, confirm, "❌ Скасувати", count=0)

    [where] = await press(world, irina, card_a, "↪️ Переадресувати")
    await press(world, irina, where, buttons(where)[0], count=0)
    [said] = await irina.say(words[:1200])
    assert "довше за 1000 символів" in message_text(said)
    request = await world.services.requests.by_card(group_id, card_a["message_id"])
    assert request.institution_id == "tcso"
    mark = await world.client.last_id(anna.chat_id)
    [done] = await irina.say(words[:900].strip())
    assert "Звернення № " in message_text(done)
    history = await world.services.requests.history(request.id, public_only=True)  # the resident reads it
    assert [e.text for e in history if e.kind == "redirected"] == [words[:900].strip()]
    # and in the notice itself, as the prompt for the reason promised
    told = [t for t in await bot_texts(world, anna.chat_id, mark) if "передано до установи" in t]
    assert len(told) == 1 and words[:900].strip() in told[0]


async def test_the_group_is_told_when_the_one_who_has_a_request_leaves(world: World) -> None:
    group_id, irina, (anna, _boris), (card_a, card_b) = await two_requests(world, "Хтось пішов")
    await press(world, irina, card_a, "🙋 Взяти", count=0)
    mark = await world.client.last_id(group_id)
    await world.client.add_member(group_id, irina.user, status="left")
    [told] = await world.client.wait_bot_messages(group_id, mark, 1, timeout=8, thread_id=card_a["message_thread_id"])
    assert "соціальна працівниця Ірина" in message_text(told) and "вийшов(-ла) з групи" in message_text(told)
    assert "Передати колезі" in message_text(told)
    await asyncio.sleep(0.5)  # nothing about the request she did not have
    assert not [m for m in await world.client.messages(group_id, since_id=mark)
                if m.get("message_thread_id") == card_b["message_thread_id"] and m.get("sender") == "bot"]
