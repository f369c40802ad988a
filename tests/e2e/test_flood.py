"""A resident flooding the bot is paused with one polite note; everyone else is served as usual.

This module has a bot of its own with the default limits (30 updates a minute, a burst of 20) and a short
pause, so that the test can wait it out; staff get a small limit here to show the group stays quiet.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sandbox.client import inline_buttons, message_text
from tests.support.staff import staff_group
from tests.support.world import LOOP, Person, World, last_call_seq, serving_world, settle_calls, wait_confirmed

pytestmark = pytest.mark.asyncio(loop_scope="package")
PAUSE = 4.0
STAFF_BURST = 10
NOTE = "Ви надсилаєте повідомлення дуже швидко"
FLOOD = 100


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async def limits(client, admin) -> dict[str, str]:
        return {"RATE_LIMIT_PAUSE": str(PAUSE), "RATE_LIMIT_STAFF_BURST": str(STAFF_BURST)}

    async with serving_world(tmp_path_factory.mktemp("flood"), limits) as world:
        yield world


async def bot_texts(world: World, chat_id: int, after: int) -> list[str]:
    return [message_text(m) for m in await world.client.messages(chat_id, since_id=after) if m.get("sender") == "bot"]


async def quiet(world: World) -> None:
    """Every update taken and everything the bot does about them done."""
    await wait_confirmed(world.sandbox, timeout=20)
    await settle_calls(world.client, await last_call_seq(world.client), quiet=0.3)


async def test_a_flood_gets_one_note_and_others_are_served(world: World, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="bot.ratelimit")
    flooder = await world.resident("lutsk", name="Швидкий")
    other = await world.resident("lutsk", name="Ганна")
    mark = flooder._last_id

    async def flood() -> None:
        for k in range(FLOOD):
            await world.client.send_text(flooder.user, f"гарячі обіди {k}")

    async def meanwhile() -> list[str]:
        seen = []
        for text in ("🧭 Знайти допомогу", "гарячі обіди", "🆘 Екстрена допомога", "допомога переселенцям"):
            [answer] = await other.say(text)
            seen.append(message_text(answer))
        return seen

    started = asyncio.get_running_loop().time()
    _, seen = await asyncio.gather(flood(), meanwhile())
    assert asyncio.get_running_loop().time() - started < PAUSE  # the whole flood came within the pause
    await quiet(world)

    texts = await bot_texts(world, flooder.chat_id, mark)
    notes = [t for t in texts if NOTE in t]
    answers = [t for t in texts if NOTE not in t]
    assert len(notes) == 1, texts
    assert "зачекайте 1 хвилину" in notes[0]
    # the burst left after /start (17 of 20) and what refilled meanwhile; the other 80-odd were not searched
    assert 10 <= len(answers) <= 25, len(answers)
    paused = [r for r in caplog.records if r.name == "bot.ratelimit" and "paused" in r.getMessage()]
    assert [r.getMessage() for r in paused] == [f"rate limit: user {flooder.id} paused for {PAUSE:.0f} s"]

    # the other resident got every answer, and the right ones
    assert "Як вам зручніше шукати?" in seen[0] and "112" in seen[2]
    assert all(NOTE not in text for text in seen)

    # after the pause the flooder is served again, as anyone
    await asyncio.sleep(PAUSE + 0.5)
    [answer] = await flooder.say("гарячі обіди")
    assert NOTE not in message_text(answer)
    assert [t for t in await bot_texts(world, flooder.chat_id, mark) if NOTE in t] == notes


async def test_a_flood_of_taps_gets_one_alert(world: World) -> None:
    person = await world.resident("lutsk", name="Тарас")
    [screen] = await person.say("🧭 Знайти допомогу")
    data = next(b["callback_data"] for b in inline_buttons(screen) if b["text"] == "📋 За життєвою ситуацією")
    since = await last_call_seq(world.client)
    mark = person._last_id
    # the same button again and again: the screen is already the one it opens, and Telegram says so
    world.allow_errors("message is not modified", person.chat_id)
    for _ in range(60):
        await world.client.press_data(person.id, screen, data, force=True)
    await quiet(world)
    answers = await world.client.calls(since=since, method="answerCallbackQuery")
    alerts = [c["params"] for c in answers if "Забагато натискань" in str(c["params"].get("text"))]
    assert len(alerts) == 1 and str(alerts[0].get("show_alert")).lower() == "true"
    assert len(answers) < 40  # the taps over the limit were not answered one by one
    assert not [t for t in await bot_texts(world, person.chat_id, mark) if NOTE in t]  # no note in the chat


async def test_staff_over_their_limit_get_no_note_in_the_group(world: World, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="bot.ratelimit")
    group_id, staff = await staff_group(world, "tcso")
    after = await world.client.last_id(group_id)
    for k in range(3 * STAFF_BURST):
        await world.client.send_text(staff.user, f"/open {k}", chat_id=group_id)
    await quiet(world)
    texts = await bot_texts(world, group_id, after)
    assert texts and len(texts) < 3 * STAFF_BURST  # the first ones were answered, the rest dropped
    assert not [t for t in texts if "швидко" in t or "Забагато" in t]
    assert [r.getMessage() for r in caplog.records if r.name == "bot.ratelimit"] == [
        f"rate limit: user {staff.id} paused for {PAUSE:.0f} s"]
    # a resident is not touched by the staff member's pause
    person: Person = await world.resident("lutsk", name="Віра")
    [answer] = await person.say("гарячі обіди")
    assert NOTE not in message_text(answer)
