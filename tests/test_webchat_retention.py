"""The web chat's data over time: «Мої дані» holds a web resident's chat, the daily housekeeping forgets unused
browser sessions and idle web residents who left nothing else (and keeps one who did), and the long poll's map of
waiters holds only residents someone is waiting for."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from bot import privacy
from bot.runtime import housekeeping
from bot.storage.db import utcnow
from bot.webchat import retention
from bot.webchat.guard import digest
from tests.support.webchat import WebResident, WebWorld, web_world


@pytest.fixture
async def world(settings):
    from bot.app import build_app

    app = await build_app(settings)
    yield web_world(app)
    await app.close()


async def searched(world: WebWorld) -> WebResident:
    resident = await world.resident("lutsk")
    await resident.tap("Українська")
    await resident.say("🔎 Пошук")
    await resident.say("гарячі обіди")
    await world.store.add_session(digest(f"cookie-{resident.user_id}"), resident.user_id, "csrf")
    return resident


async def test_my_data_holds_the_web_chat(world: WebWorld) -> None:
    resident = await searched(world)
    data = await privacy.collect(world.app.services.db, resident.user_id)
    chat = data["web_chat"]
    assert chat["browser_sessions"] == 1 and chat["community_of_the_page"] == "lutsk"
    said = [(m["from"], m["text"]) for m in chat["messages"]]
    assert ("resident", "гарячі обіди") in said
    assert any(who == "bot" and "Безоплатне гаряче харчування" in text and "<b>" not in text for who, text in said)
    assert not privacy.is_empty(data)

    # through the dialog: the text file the web chat is given holds the chat too
    await resident.say("☰ Ще")
    await resident.say("⚙️ Налаштування")
    _, shown = await resident.tap("📄 Мої дані")
    [text_file, _json] = [m for m in shown if m.file_id]
    _, _, content = await world.store.file(text_file.file_id)
    readable = content.decode("utf-8")
    assert "ВЕБЧАТ" in readable and "гарячі обіди" in readable and "Ваш номер у вебчаті" in readable

    telegram = await privacy.collect(world.app.services.db, 4242)
    assert telegram["web_chat"] is None


async def test_housekeeping_forgets_unused_sessions_and_idle_residents(world: WebWorld) -> None:
    services = world.app.services
    idle = await searched(world)
    asked = await searched(world)
    await services.residents.give_consent(asked.user_id, 1)  # something kept besides the chat
    never_proven = await world.channel.new_resident("lutsk", "uk")
    await world.store.add_session(digest("bot-cookie"), never_proven, "csrf")

    now = datetime.now(timezone.utc)
    assert await retention.tidy(services, now) == (0, 0)  # all of them seen just now

    later = now + timedelta(days=services.settings.web_chat_idle_days + 1)
    await housekeeping.daily(services, later)
    assert await world.store.session(digest(f"cookie-{idle.user_id}")) is None
    assert await world.store.session(digest("bot-cookie")) is None
    assert await idle.messages() == [] and await world.store.user(idle.user_id) is not None  # the id stays taken
    assert await services.residents.get(idle.user_id) is not None  # language and community, for the reports
    assert [m for m in await asked.messages() if "гарячі обіди" in m.text]  # kept: consent is more than the chat
    assert await world.store.session(digest(f"cookie-{asked.user_id}")) is not None
    newcomer = await world.channel.new_resident(None, None)
    assert newcomer > max(idle.user_id, asked.user_id, never_proven)

    much_later = now + timedelta(days=services.settings.web_chat_session_days + 1)
    sessions, _ = await retention.tidy(services, much_later)
    assert sessions >= 1 and await world.store.session(digest(f"cookie-{asked.user_id}")) is None
    assert [m for m in await asked.messages() if "гарячі обіди" in m.text]  # their chat is still theirs


async def test_a_used_session_is_marked_seen_at_most_hourly(world: WebWorld) -> None:
    resident = await world.resident("lutsk")
    token = digest("cookie")
    await world.store.add_session(token, resident.user_id, "csrf")
    row = await world.app.services.db.fetchone("SELECT seen_at FROM web_sessions WHERE token_hash = ?", (token,))
    soon = (datetime.fromisoformat(row["seen_at"]) + timedelta(minutes=30)).isoformat(timespec="seconds")
    later = (datetime.fromisoformat(row["seen_at"]) + timedelta(hours=2)).isoformat(timespec="seconds")
    await world.store.session(token, soon)
    assert (await world.app.services.db.fetchone("SELECT seen_at FROM web_sessions"))["seen_at"] == row["seen_at"]
    await world.store.session(token, later)
    assert (await world.app.services.db.fetchone("SELECT seen_at FROM web_sessions"))["seen_at"] == later
    assert utcnow() <= later


async def test_the_map_of_waiters_holds_only_those_waited_for(world: WebWorld) -> None:
    store = world.store
    resident = await world.resident("lutsk")
    version = (await store.user(resident.user_id)).version
    await store.wait(resident.user_id, version, 0.01)  # nothing came
    assert store.waiters() == 0

    two = [asyncio.create_task(store.wait(resident.user_id, version, 5)) for _ in range(2)]
    await asyncio.sleep(0.01)
    assert store.waiters() == 1
    await store.add_message(resident.user_id, True, "news")
    await asyncio.wait_for(asyncio.gather(*two), 2)
    assert store.waiters() == 0

    one = asyncio.create_task(store.wait(resident.user_id, version + 1, 5))
    await asyncio.sleep(0.01)
    one.cancel()  # the page went away
    with pytest.raises(asyncio.CancelledError):
        await one
    assert store.waiters() == 0
