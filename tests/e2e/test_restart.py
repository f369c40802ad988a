"""The bot's state lives in SQLite: after a restart a resident continues where they were."""
from __future__ import annotations

from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from sandbox import Sandbox, SandboxClient
from sandbox.client import message_text
from tests.support.world import (
    BOT_ID,
    BOT_TOKEN,
    RunningBot,
    World,
    buttons,
    e2e_settings,
    failed_calls,
    summarise,
    wait_confirmed,
)

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_search_dialog_survives_a_restart(tmp_path: Path) -> None:
    sandbox = await Sandbox(bot_token=BOT_TOKEN).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=8.0)
    settings = e2e_settings(tmp_path, sandbox.api_url)
    key = None
    running = await RunningBot.start(settings, sandbox)
    try:
        await client.wait_bot_ready(timeout=10)
        world = World(sandbox, client, running)
        person = await world.resident("lutsk")
        key = StorageKey(bot_id=BOT_ID, chat_id=person.id, user_id=person.id)
        [prompt] = await person.say("🔎 Пошук")
        assert "Напишіть своїми словами" in message_text(prompt)
        await wait_confirmed(sandbox)  # the bot has told the server it is done with every update
        await running.stop()
        stopped = await sandbox.core.wait_until(lambda: not sandbox.core.is_listening(BOT_ID), 2)
        assert stopped, "the sandbox still counts the stopped bot as polling"

        running = await RunningBot.start(settings, sandbox)  # a new process on the same database file
        assert await running.app.dispatcher.storage.get_state(key) == "SearchForm:waiting"
        await client.wait_bot_ready(timeout=10)
        [results] = await person.say("гарячі обіди")
        assert "Я знайшов" in message_text(results)
        assert any("гаряче харчування" in b for b in buttons(results))
        assert await running.app.dispatcher.storage.get_state(key) is None
        resident = await running.app.services.residents.get(person.id)
        assert (resident.locale, resident.community) == ("uk", "lutsk")
        failed = await failed_calls(client, 0)
        assert not failed, "\n".join(map(summarise, failed))
    finally:
        await running.stop()
        await client.close()
        await sandbox.stop()


async def test_a_consultation_keeps_going_after_a_restart(tmp_path: Path) -> None:
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from tests.support.staff import staff_group

    in_hours = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Kyiv")).astimezone(timezone.utc)
    sandbox = await Sandbox(bot_token=BOT_TOKEN).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=8.0)
    settings = e2e_settings(tmp_path, sandbox.api_url)
    running = await RunningBot.start(settings, sandbox)
    try:
        await client.wait_bot_ready(timeout=10)
        running.app.services.consult.clock = lambda: in_hours
        world = World(sandbox, client, running)
        line = running.app.services.consult.line("lutsk", "psychological")
        group_id, staff = await staff_group(world, line.institution_id)
        person = await world.resident("lutsk", name="Тарас")
        await person.say("💬 Онлайн-консультація")
        await person.tap("Психологічна підтримка", new=1)
        await person.tap("✅ Погоджуюся", new=1)
        after = await client.last_id(group_id)
        await person.say("Мені тривожно")
        [card] = await client.wait_bot_messages(group_id, after, 1, timeout=8)
        staff.thread_id = card["message_thread_id"]
        await staff.tap("🙋 Взяти", expect=False)
        [joined] = await client.wait_bot_messages(person.chat_id, person._last_id, 1, timeout=8)
        person._absorb([joined])

        await wait_confirmed(sandbox)
        await running.stop()
        running = await RunningBot.start(settings, sandbox)  # a new process on the same database file
        running.app.services.consult.clock = lambda: in_hours
        await client.wait_bot_ready(timeout=10)

        after = await client.last_id(group_id)
        await person.say("Я ще тут, після перезапуску", expect=False)
        [relayed] = await client.wait_bot_messages(group_id, after, 1, timeout=8, thread_id=staff.thread_id)
        assert "після перезапуску" in message_text(relayed)
        await client.send_text(staff.user, "Я теж тут. Продовжуймо.", chat_id=group_id, thread_id=staff.thread_id)
        [answer] = await client.wait_bot_messages(person.chat_id, person._last_id, 1, timeout=8)
        assert "Продовжуймо" in message_text(answer)
    finally:
        await running.stop()
        await client.close()
        await sandbox.stop()
