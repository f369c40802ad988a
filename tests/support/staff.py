"""Staff groups and residents' requests for tests/e2e/: a group bound to an institution, a request filed through
the whole form, a report about someone in danger, and the messages the bot posts in a group."""
from __future__ import annotations

import asyncio
import re
from typing import Any

from bot.storage.db import utcnow
from sandbox.client import message_text
from tests.support.world import Person, World, buttons


async def staff_group(world: World, institution: str, community: str = "lutsk", *, forum: bool = True,
                      title: str = "Працівники") -> tuple[int, Person]:
    """A staff group bound to the institution with /bind and a one-time code; returns its id and a member."""
    client = world.client
    user = await client.create_user("Ірина", language_code="uk")
    group = await new_group(client, title, forum=forum, members=[user])
    staff = Person(client, user)
    staff.chat_id = group["id"]
    code = await world.services.groups.create_bind_code(community, institution, None)
    [answer] = await staff.say(f"/bind {code}")
    assert "Тепер ця група отримує звернення" in message_text(answer)
    # the cards that waited for a group, and the binding's notice to the administrators, are out before the test goes on
    await group_settled(world, community, institution)
    return group["id"], staff


async def new_group(client: Any, title: str, **options: Any) -> dict[str, Any]:
    """A group with the bot in it, once the bot has said what it is (its greeting would otherwise come in place of
    the answer a test waits for next)."""
    group = await client.create_group(title, **options)
    if "bots" not in options:  # the running bot is added (other bots or none otherwise)
        await client.wait_bot_messages(group["id"], 0, 1, timeout=5)
    return group


async def group_settled(world: World, community: str, institution: str, timeout: float = 8.0) -> None:
    """Wait until what is due for the institution's group (e.g. a card filed by an earlier step) and for the
    administrators is out, so that the next message a test waits for there is the one it caused."""
    await outbox_settled(world, [f"institution:{community}/{institution}", "admins"], timeout)


async def outbox_settled(world: World, targets: list[str], timeout: float = 8.0) -> None:
    """Wait until no outbox row due now is left for these targets (rows put off to later do not count)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    marks = ", ".join("?" * len(targets))
    while True:
        row = await world.services.db.fetchone(
            f"SELECT COUNT(*) AS n FROM outbox WHERE target IN ({marks}) AND status = 'pending' "
            "AND next_attempt_at <= ?", (*targets, utcnow()))
        if not row["n"]:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{row['n']} outbox row(s) for {', '.join(targets)} still due")
        await asyncio.sleep(0.03)


OPEN_HEAD = re.compile(r"(?:Відкриті звернення|Open requests): (\d+)")  # the head of /open, with how many
OPEN_ENTRY = re.compile(r"(?:🔴 )?№ \d{4}-\d+")  # an entry of /open begins with the request's number


async def open_listing(world: World, staff: Person, timeout: float = 8.0) -> list[str]:
    """/open sent by `staff` where they write (its topic, if any): the entries of the whole answer, in order, once
    every message of it is in (the listing takes as many messages as the institution's open requests need, and
    other tests' requests of the institution may be open too)."""
    chat_id, thread = staff.chat_id, staff.thread_id
    mark = await world.client.last_id(chat_id)
    await world.client.send_text(staff.id, "/open", chat_id=chat_id, thread_id=thread)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        texts = [message_text(m) for m in await world.client.messages(chat_id, since_id=mark, thread_id=thread)
                 if m.get("sender") == "bot"]
        heads = [found for found in map(OPEN_HEAD.search, texts) if found]
        entries = [e for t in texts for e in t.split("\n\n") if OPEN_ENTRY.match(e)]
        if heads and len(entries) >= int(heads[0].group(1)):
            return entries
        if loop.time() > deadline:
            raise AssertionError(f"/open did not answer in full: {texts}")
        await asyncio.sleep(0.05)


async def file_request(person: Person, *, situation: str, whom: str = "🙋 Для себе",
                       description: str = "Мамі 80 років, сама вдома не справляється", photo: bool = False,
                       contact: str = "share") -> dict[str, Any]:
    """Go through the whole form; return the bot's confirmation message."""
    [consent] = await person.say("📝 Попросити допомогу")
    if "Перш ніж надіслати звернення" in message_text(consent):
        await person.tap("✅ Погоджуюся", new=1)
    await person.tap(situation, new=1)
    await person.tap(whom, new=1)
    [got] = await person.say(description)
    assert "Прийнято" in message_text(got) or "112" in message_text(got)
    if photo:
        [got] = await person.send_photo()
        assert "Прийнято" in message_text(got)
    [question] = await person.tap("Далі ➡️", new=1)
    assert "Як фахівець може з вами зв’язатися?" in message_text(question)
    if contact == "share":
        await person.share_contact(count=2)
    else:
        await person.say("💬 Лише тут, у чаті", count=2)
    assert "Перевірте, будь ласка, ваше звернення" in message_text(person.received[-1])
    accepted = (await person.tap("✅ Надіслати", new=1))[-1]
    assert "прийнято" in message_text(accepted)
    return accepted


async def report_in_danger(person: Person, about: str, description: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An anonymous report whose words signal danger: returns the emergency screen it brought first and the
    bot's confirmation."""
    [consent] = await person.say("🙋 Повідомити про людину в біді")
    if "Перш ніж надіслати звернення" in message_text(consent):
        await person.tap("✅ Погоджуюся", new=1)
    await person.tap(about, new=1)
    screen, _ = await person.say(description, count=2)
    await person.tap("Далі ➡️", new=1)
    await person.tap("🕶 Анонімно", new=2)
    accepted = (await person.tap("✅ Надіслати", new=1))[-1]
    return screen, accepted


def number_of(accepted: dict[str, Any]) -> str:
    text = message_text(accepted)
    return text.split("№", 1)[1].split()[0]


async def group_messages(world: World, chat_id: int, after: int = 0, count: int = 1, thread_id: int | None = None):
    return await world.client.wait_bot_messages(chat_id, after, count, timeout=8, thread_id=thread_id)


async def finish_request(world: World, staff_id: int, group_id: int, request_id: int, *, resolved: bool = True,
                         reason: str = "helped") -> None:
    """Resolve (or close) a request as a staff member's «Так» does after choosing `reason` (the data of the
    confirmation's button, made for the request as it is now)."""
    request = await world.services.requests.get(request_id)
    kind = "r" if resolved else "c"
    query = await world.client.press_data(staff_id, request.card_message_id,
                                          f"s:fin:{request_id}:{kind}.{reason}.{request.version}",
                                          chat_id=group_id, force=True)
    answer = await world.client.callback_answer(query)
    assert answer["text"] == "Готово. Мешканцю повідомлено.", answer


async def card_in(world: World, group_id: int, after: int, number: str, tries: int = 160) -> dict[str, Any]:
    """The first card (a message of the bot with buttons) of request `number` in the group after `after`."""
    for _ in range(tries):
        found = [m for m in await world.client.messages(group_id, since_id=after)
                 if m.get("sender") == "bot" and number in message_text(m) and buttons(m)]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no card of {number}")
