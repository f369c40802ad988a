"""The staff desk through the sandbox: ready answers (/templates, offered by «💬 Відповісти», changed before
sending or sent as they are), handing a request over to a colleague, and a staff member whose Telegram client
speaks English getting English answers while the card stays Ukrainian."""
from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from sandbox.client import message_text
from tests.support.consult import buttons_data
from tests.support.staff import card_in, file_request, group_messages, group_settled, number_of, staff_group
from tests.support.world import BOT_ID, Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")

SITUATION = "Літня людина потребує догляду"  # goes to tcso


async def member(world: World, group_id: int, name: str, language: str = "uk") -> Person:
    user = await world.client.create_user(name, language_code=language)
    await world.client.add_member(group_id, user)
    person = Person(world.client, user)
    person.chat_id = group_id
    return person


async def now(world: World, chat_id: int, message_id: int) -> dict[str, Any]:
    return next(m for m in await world.client.messages(chat_id) if m["message_id"] == message_id)


async def press(world: World, who: Person, message: dict[str, Any], text: str, chat_id: int) -> str:
    """Tap a visible button as `who`; return the pop-up's text."""
    query = await world.client.press(who.id, message, text, chat_id=chat_id)
    return (await world.client.callback_answer(query)).get("text") or ""


async def forge(world: World, who: Person, message: dict[str, Any], data: str, chat_id: int) -> str:
    query = await world.client.press_data(who.id, message, data, chat_id=chat_id, force=True)
    return (await world.client.callback_answer(query)).get("text") or ""


async def press_as_outsider(world: World, chat_id: int, message: dict[str, Any], data: str) -> str:
    """A press by someone who is not a member (Telegram lets a reader of a public group press): the sandbox's
    control API lets only members act, so the callback query is made in its core."""
    outsider = await world.client.create_user("Сторонній", language_code="uk")
    core = world.sandbox.core
    conv = core.group_conversation(chat_id)
    query = core.press(core.state.bots[BOT_ID], core.user(outsider["id"]), conv, conv.messages[message["message_id"]],
                       data)
    return (await world.client.callback_answer(query.id)).get("text") or ""


async def bot_after(world: World, chat_id: int, after: int, count: int = 1, thread_id: int | None = None):
    return await group_messages(world, chat_id, after, count, thread_id=thread_id)


async def resident_gets(world: World, person: Person, after: int, words: str) -> dict[str, Any]:
    for _ in range(160):
        found = [m for m in await world.client.messages(person.chat_id, since_id=after)
                 if m.get("sender") == "bot" and words in message_text(m)]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the resident did not get {words!r}")


async def listed(staff: Person) -> tuple[int, list[dict[str, Any]]]:
    """/templates: the number of ready answers it names, and its messages."""
    mark = await staff.client.last_id(staff.chat_id)
    await staff.client.send_text(staff.id, "/templates", chat_id=staff.chat_id)
    for _ in range(100):
        got = [m for m in await staff.client.messages(staff.chat_id, since_id=mark) if m.get("sender") == "bot"]
        if got and "➕" in " ".join(buttons(got[-1])):
            n = re.search(r"(?:Готові відповіді групи|Ready answers of the group): (\d+)", message_text(got[0]))
            return int(n.group(1)), got
        await asyncio.sleep(0.05)
    raise AssertionError("/templates did not answer")


async def test_ready_answers_added_changed_removed_and_used(world: World) -> None:
    group_id, staff = await staff_group(world, "tcso", title="Готові відповіді")
    await staff.say("/role соціальна працівниця Ірина")
    n, shown = await listed(staff)
    assert n >= 1 and "Ми не змогли додзвонитися до вас" in " ".join(message_text(m) for m in shown)
    assert not re.search(r"\+?\d{3}[\d\s-]{6,}", " ".join(message_text(m) for m in shown))  # no phone numbers

    # add one, change it, remove another
    await staff.tap("➕ Додати готову відповідь", new=1)
    [saved] = await staff.say("Довідку підготовлено, її можна забрати в будь-який робочий день.")
    assert "Готову відповідь збережено" in message_text(saved)
    n2, shown = await listed(staff)
    assert n2 == n + 1 and "Довідку підготовлено" in message_text(shown[-1]) or "Довідку підготовлено" in " ".join(
        message_text(m) for m in shown)
    await staff.tap(f"✏️ {n2}", new=1)
    assert "Довідку підготовлено" in staff.text  # shown to copy
    [saved] = await staff.say("Довідку підготовлено: заберіть її, будь ласка, з паспортом.")
    assert "збережено" in message_text(saved)
    _n, shown = await listed(staff)
    everything = " ".join(message_text(m) for m in shown)
    assert "з паспортом" in everything and "в будь-який робочий день" not in everything
    await staff.tap("🗑 1", new=1)
    confirm = staff.last
    await staff.tap("🗑 Видалити")
    assert "видалено" in message_text(await now(world, group_id, confirm["message_id"]))
    again = await forge(world, staff, confirm, buttons_data(confirm, "🗑 Видалити"), group_id)
    assert "вже немає" in again  # a second press removes nothing more
    n3, _shown = await listed(staff)
    assert n3 == n2 - 1

    # «💬 Відповісти» offers them; one is changed before sending, another sent as is
    person = await world.resident("lutsk", name="Ганна")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation=SITUATION))
    card = await card_in(world, group_id, after, number)
    thread = card.get("message_thread_id")
    mark = await world.client.last_id(group_id)
    await press(world, staff, card, "💬 Відповісти", group_id)
    [prompt] = await bot_after(world, group_id, mark, thread_id=thread)
    offered = [b for b in buttons(prompt) if b.startswith("📋 ")]
    assert len(offered) == n3 and any("Довідку підготовлено" in b for b in offered)
    mine = next(b for b in offered if "Довідку підготовлено" in b)
    mark = await world.client.last_id(group_id)
    await press(world, staff, prompt, mine, group_id)
    [shown_text] = await bot_after(world, group_id, mark, thread_id=thread)
    assert "з паспортом" in message_text(shown_text) and "✅ Надіслати як є" in buttons(shown_text)
    resident_mark = await world.client.last_id(person.chat_id)
    mark = await world.client.last_id(group_id)
    await world.client.send_text(staff.id, "Довідку підготовлено: заберіть її у вівторок, з паспортом.",
                                 chat_id=group_id, thread_id=thread)
    [sent] = await bot_after(world, group_id, mark, thread_id=thread)
    assert "Надіслано мешканцю" in message_text(sent)
    got = await resident_gets(world, person, resident_mark, "заберіть її у вівторок")
    assert "соціальна працівниця Ірина" in message_text(got)

    mark = await world.client.last_id(group_id)
    await press(world, staff, card, "💬 Відповісти", group_id)
    [prompt] = await bot_after(world, group_id, mark, thread_id=thread)
    shipped = next(b for b in buttons(prompt) if "додзвонитися" in b)
    mark = await world.client.last_id(group_id)
    await press(world, staff, prompt, shipped, group_id)
    [offer] = await bot_after(world, group_id, mark, thread_id=thread)
    resident_mark = await world.client.last_id(person.chat_id)
    assert "Надіслано мешканцю" in await press(world, staff, offer, "✅ Надіслати як є", group_id)
    await resident_gets(world, person, resident_mark, "Ми не змогли додзвонитися до вас")
    twice = await forge(world, staff, offer, buttons_data(offer, "✅ Надіслати як є"), group_id)
    assert "застаріла" in twice
    await group_settled(world, "lutsk", "tcso")
    await asyncio.sleep(0.3)
    replies = [m for m in await world.client.messages(person.chat_id, since_id=resident_mark)
               if "додзвонитися" in message_text(m)]
    assert len(replies) == 1  # sent once


async def test_a_template_of_another_institution_is_refused(world: World) -> None:
    other_id, other_staff = await staff_group(world, "ssd", title="Інша установа")
    _n, shown = await listed(other_staff)
    theirs = int(buttons_data(shown[-1], "✏️ 1").split(":")[2])
    group_id, staff = await staff_group(world, "tcso", title="Чужі відповіді")
    person = await world.resident("lutsk", name="Петро")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation=SITUATION))
    card = await card_in(world, group_id, after, number)
    request = await world.services.requests.by_card(group_id, card["message_id"])
    for data in (f"st:use:{theirs}:{request.id}", f"st:edit:{theirs}:0", f"st:drop:{theirs}:0",
                 f"st:send:{theirs}:{request.id}"):
        assert "вже немає" in await forge(world, staff, card, data, group_id), data
    assert await world.services.templates.get("lutsk", "ssd", theirs)  # still there
    history = await world.services.requests.history(request.id, public_only=False)
    assert not [e for e in history if e.kind == "reply"]
    assert "лише учасники" in await press_as_outsider(world, group_id, card, f"st:drop:{theirs}:0")


async def test_hand_over_to_a_colleague(world: World) -> None:
    group_id, first = await staff_group(world, "tcso", title="Передати колезі")
    second = await member(world, group_id, "Богдан")
    no_role = await member(world, group_id, "Василь")
    await first.say("/role соціальна працівниця Ірина")
    await second.say("/role юрист Богдан")
    person = await world.resident("lutsk", name="Ольга")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation=SITUATION))
    card = await card_in(world, group_id, after, number)
    thread = card.get("message_thread_id")
    assert "👥 Передати колезі" in buttons(card)
    await press(world, first, card, "🙋 Взяти", group_id)
    for _ in range(100):
        if "🙋 Взяти" not in buttons(await now(world, group_id, card["message_id"])):
            break
        await asyncio.sleep(0.05)
    resident_mark = await world.client.last_id(person.chat_id)

    mark = await world.client.last_id(group_id)
    await press(world, first, card, "👥 Передати колезі", group_id)
    [choices] = await bot_after(world, group_id, mark, thread_id=thread)
    assert buttons(choices) == ["юрист Богдан", "❌ Скасувати"]  # the one who has it and anyone without a role: not
    mark = await world.client.last_id(group_id)
    answer = await press(world, first, choices, "юрист Богдан", group_id)
    assert "юрист Богдан" in answer
    [mention] = await bot_after(world, group_id, mark, thread_id=thread)
    assert "вам передано звернення № " + number in message_text(mention)
    assert any(e.get("type") == "text_mention" and e["user"]["id"] == second.id or
               e.get("url", "").endswith(str(second.id)) for e in mention.get("entities", [])), mention
    request = await world.services.requests.by_card(group_id, card["message_id"])
    assert (request.assignee_id, request.assignee_label) == (second.id, "юрист Богдан")
    for _ in range(100):
        shown = message_text(await now(world, group_id, card["message_id"]))
        if "юрист Богдан" in shown:
            break
        await asyncio.sleep(0.05)
    assert "юрист Богдан" in shown
    events = [e for e in await world.services.requests.history(request.id, public_only=False)
              if e.kind == "handed_over"]
    assert [(e.actor_label, e.text, e.public) for e in events] == [("соціальна працівниця Ірина", "юрист Богдан",
                                                                      False)]
    # a repeated press, a forged colleague without a role, a non-member: nothing changes
    data = buttons_data(choices, "юрист Богдан")
    assert "вже в роботі: юрист Богдан" in await forge(world, first, card, data, group_id)
    forged = data.rsplit(":", 1)[0] + f":{no_role.id}"
    assert "не можна вибрати" in await forge(world, first, card, forged, group_id)
    assert "лише учасники" in await press_as_outsider(world, group_id, card, data)
    events = [e for e in await world.services.requests.history(request.id, public_only=False)
              if e.kind == "handed_over"]
    assert len(events) == 1
    await group_settled(world, "lutsk", "tcso")
    resident_saw = [message_text(m) for m in await world.client.messages(person.chat_id, since_id=resident_mark)
                    if m.get("sender") == "bot"]
    assert not resident_saw  # already in work: an internal hand-over tells the resident nothing new


async def test_an_english_client_gets_english_answers_and_the_card_stays_ukrainian(world: World) -> None:
    group_id, ukrainian = await staff_group(world, "tcso", title="Мови працівників")
    english = await member(world, group_id, "Emily", language="en")
    [done] = await english.say("/role психологиня Емілія")
    assert "Done. Your answers are signed" in message_text(done)
    _n, shown = await listed(english)
    assert "Ready answers of the group" in message_text(shown[0]) and "➕ Add a ready answer" in buttons(shown[-1])
    assert "Ми не змогли додзвонитися" in " ".join(message_text(m) for m in shown)  # the texts themselves stay
    _n, shown = await listed(ukrainian)
    assert "Готові відповіді групи" in message_text(shown[0])

    person = await world.resident("lutsk", name="Степан")
    after = await world.client.last_id(group_id)
    number = number_of(await file_request(person, situation=SITUATION))
    card = await card_in(world, group_id, after, number)
    assert "🙋 Взяти" in buttons(card) and "Звернення" in message_text(card)
    answer = await press(world, english, card, "🙋 Взяти", group_id)
    assert answer.startswith("You took request No.")
    for _ in range(100):
        updated = await now(world, group_id, card["message_id"])
        if "психологиня Емілія" in message_text(updated):
            break
        await asyncio.sleep(0.05)
    assert "психологиня Емілія" in message_text(updated) and "Звернення" in message_text(updated)
    assert "💬 Відповісти" in buttons(updated) and "👥 Передати колезі" in buttons(updated)
