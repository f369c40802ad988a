"""The Bot API fails for a while (500, dropped or timed-out connections, 429): once it recovers the bot keeps
serving, and nothing a resident or a staff member sent is lost or delivered twice."""
from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from sandbox import SandboxClient
from sandbox.client import message_text
from tests.support.staff import file_request, number_of, staff_group
from tests.support.world import Person, World

pytestmark = pytest.mark.asyncio(loop_scope="package")
SENDS = ["sendMessage", "sendPhoto", "sendDocument", "editMessageText", "answerCallbackQuery", "createForumTopic",
         "sendMediaGroup", "copyMessage", "sendVoice"]


async def patient(world: World, person: Person) -> tuple[Person, SandboxClient]:
    """The same person, waiting long enough for answers that come after an outage."""
    client = SandboxClient(world.sandbox.url, timeout=40.0)
    twin = Person(client, person.user)
    twin.chat_id, twin._last_id = person.chat_id, person._last_id
    return twin, client


async def copies(world: World, chat_id: int, needle: str) -> int:
    return sum(needle in message_text(m) for m in await world.client.messages(chat_id) if m.get("sender") == "bot")


async def appears(world: World, chat_id: int, needle: str, timeout: float = 40.0) -> dict:
    """The first bot message in the chat containing `needle`, once it is there."""
    for _ in range(int(timeout * 10)):
        found = [m for m in await world.client.messages(chat_id)
                 if m.get("sender") == "bot" and needle in message_text(m)]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no message with {needle!r} in chat {chat_id}")


async def until_quiet(world: World) -> None:
    """Faults over, and the outbox has nothing left to retry (a row that failed several times in a row waits
    2, 4, 8, 16, 32… seconds between its attempts, so this may take a minute or two)."""
    await world.client.clear_faults()
    for _ in range(1500):
        counts = await world.services.outbox.counts()
        if not counts.get("pending"):
            return
        world.services.wake_outbox()
        await asyncio.sleep(0.1)
    raise AssertionError(f"the outbox still has rows to send: {counts}")


@pytest.mark.parametrize("kind", ["500", "close", "timeout"])
async def test_an_outage_delays_the_answer_but_loses_and_repeats_nothing(world: World, kind: str) -> None:
    person = await world.resident("lutsk", name="Ганна")
    twin, client = await patient(world, person)
    try:
        # every call fails for two and a half seconds, getUpdates included
        await world.client.fault(kind, seconds=2.5, hang=1.0)
        [answer] = await twin.say("🆘 Екстрена допомога", timeout=40)
        assert "112" in message_text(answer)
        await until_quiet(world)
        await asyncio.sleep(0.5)
        assert await copies(world, person.chat_id, message_text(answer)[:40]) == 1
    finally:
        await world.client.clear_faults()
        await client.close()
    faults = await world.client.faults()
    assert faults["injected"].get(kind, 0) > 0


async def test_a_request_filed_and_answered_while_calls_keep_failing(world: World) -> None:
    group_id, staff = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Степан")
    twin, client = await patient(world, person)
    staff_twin, staff_client = await patient(world, staff)
    try:
        # a third of the bot's sending calls fail one way or another for the whole scenario
        await world.client.fault("500", seconds=120, share=0.15, methods=SENDS)
        await world.client.fault("close", seconds=120, share=0.1, methods=SENDS)
        await world.client.fault("timeout", seconds=120, share=0.1, methods=SENDS, hang=0.5)
        accepted = await file_request(twin, situation="Літня людина потребує догляду",
                                      description="Тато після інсульту, потрібен догляд вдома")
        number = number_of(accepted)
        # the card's row backs off 2, 4, 8… s after each failed attempt: several failures in a row are likely here
        card = await appears(world, group_id, f"Звернення № {number}", timeout=150)
        staff_twin.thread_id = card["message_thread_id"]
        await staff_twin.say("Доброго дня! Соціальна працівниця зателефонує завтра.", timeout=40)
        await appears(world, person.chat_id, "зателефонує завтра")
    finally:
        await until_quiet(world)
        await client.close()
        await staff_client.close()
    await asyncio.sleep(0.5)
    requests = await world.services.requests.for_resident(person.id)
    assert [r.public_id for r in requests] == [number]  # exists once
    group = [message_text(m) for m in await world.client.messages(group_id) if m.get("sender") == "bot"]
    assert sum(f"Звернення № {number}" in t and "Тато після інсульту" in t for t in group) == 1
    answers = Counter(message_text(m) for m in await world.client.messages(person.chat_id)
                      if "зателефонує завтра" in message_text(m))
    assert list(answers.values()) == [1]
    assert (await world.client.faults())["total"] > 0


async def test_too_many_requests_for_a_while(world: World) -> None:
    """Telegram says 429 to every message for six seconds: everyone waits, then gets one answer each."""
    people = [await world.resident("lutsk", name=f"Мешканка {i}") for i in range(3)]
    clients = []
    try:
        await world.client.fault("429", seconds=6, retry_after=3, methods=["sendMessage"])
        twins = []
        for person in people:
            twin, client = await patient(world, person)
            twins.append(twin)
            clients.append(client)
        answers = await asyncio.gather(*(t.say("🆘 Екстрена допомога", timeout=40) for t in twins))
        assert all("112" in message_text(a[0]) for a in answers)
        await until_quiet(world)
        for person in people:
            assert await copies(world, person.chat_id, message_text(answers[0][0])[:40]) == 1
    finally:
        await world.client.clear_faults()
        for client in clients:
            await client.close()
