"""Every Bot API call the bot makes is accepted by the sandbox (checked against Telegram's rules)."""
from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest

from bot.runtime.ratelimit import Limit, installed
from sandbox import Sandbox, SandboxClient
from sandbox.client import message_text
from tests.support.world import BOT_TOKEN, World, failed_calls, last_call_seq, settle_calls, summarise

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def tour(world: World) -> None:
    """Two residents through every flow (each step waits for the bot's answer)."""
    olena = await world.resident("lutsk")
    for text, count in (
        ("/start", 2),
        ("🧭 Знайти допомогу", 1),
        ("🔎 Пошук", 1),
        ("гарячі обіди", 1),
        ("квантова хромодинаміка", 1),
        ("чоловік б'є мене", 2),
        ("🆘 Екстрена допомога", 1),
        ("<b>x</b><script>alert(1)</script>", 1),
        ("я" * 4096, 1),
        ("/cancel", 1),
        ("/help", 1),
        ("/menu", 1),
    ):
        await olena.say(text, count=count)
    await olena.say("🧭 Знайти допомогу")
    for label, new in (
        ("📋 За життєвою ситуацією", 0),
        ("Далі ➡️", 0),
        ("⬅️ Попередня", 0),
        ("Літня людина потребує догляду", 0),
        ("◀️ Назад", 0),
        ("◀️ Назад", 0),
        ("👥 Кому потрібна допомога", 0),
        ("◀️ Назад", 0),
        ("🏛 За установою", 0),
        ("🏠 Меню", 1),
    ):
        await olena.tap(label, new=new)
        await olena.say("⚙️ Налаштування")
    await olena.tap("🌐 Змінити мову", new=1)
    await olena.tap("🇬🇧 English", new=1)
    await olena.say("⚙️ Settings")
    await olena.tap("🏘 Change community", new=1)
    await olena.tap("Druzhkivka community", new=1)
    for data in ("n:svc:nope:0", "garbage", "p:lang:ru"):
        await olena.forge(olena.last or 1, data)
    john = await world.person("John", language="en")
    await john.say("/start")
    await john.tap("🇬🇧 English", new=1)
    await john.tap("Volodymyr community", new=2)  # the menu and the offer of news
    await john.say("my son has a disability")


async def test_every_flow_without_a_bot_api_error(world: World) -> None:
    # The tour takes some 45 steps in a few seconds, faster than a person can: the per-person limit is
    # lifted for it (the flood tests check the limit itself).
    limiter = installed(world.running.app.dispatcher)
    assert limiter is not None
    usual, limiter.resident = limiter.resident, Limit(0, 0)
    since = await last_call_seq(world.client)
    try:
        await tour(world)
    finally:
        limiter.resident = usual
    await settle_calls(world.client, since)
    calls = await world.client.calls(since=since)
    failed = [call for call in calls if not call["ok"]]
    assert not failed, "Bot API calls answered with an error:\n" + "\n".join(map(summarise, failed))
    methods = {call["method"] for call in calls}
    assert {"sendMessage", "editMessageText", "answerCallbackQuery"} <= methods


async def test_the_check_sees_a_refused_call() -> None:
    """The check itself: a call the sandbox refuses is found and described."""
    sandbox = await Sandbox(bot_token=BOT_TOKEN).start("127.0.0.1", 0)
    bot = Bot(BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.api_url)))
    try:
        async with SandboxClient(sandbox.url) as client:
            user = await client.create_user("Олена")
            await client.send_text(user, "/start")
            await bot.send_message(user["id"], "<b>гаразд</b>", parse_mode="HTML")
            with pytest.raises(TelegramBadRequest):
                await bot.send_message(user["id"], "<b>незакритий тег", parse_mode="HTML")
            failed = await failed_calls(client, 0)
            assert [call["method"] for call in failed] == ["sendMessage"]
            line = summarise(failed[0])
            assert "sendMessage(" in line and "незакритий тег" in line and "can't parse entities" in line
            assert message_text((await client.messages(user["id"]))[-1]) == "гаразд"
    finally:
        await bot.session.close()
        await sandbox.stop()
