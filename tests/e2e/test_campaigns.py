"""Information campaigns through the sandbox, with Telegram's flood control switched on where it matters."""
from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from benchmarks.steps import TOPICS, compose
from bot.campaigns.service import Audience
from bot.delivery.limiter import Limits
from bot.storage.db import utcnow
from tests.support.campaigns import copies
from tests.support.world import ADMIN_ID, Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")

def administrator(world: World) -> Person:
    return Person(world.client, {"id": ADMIN_ID, "first_name": "Адміністраторка"})


async def subscribed_residents(world: World, count: int, topic: str, name: str) -> list[int]:
    """Residents of Lutsk who opened the bot earlier and subscribed to `topic` (written straight into the
    database: thousands of /start dialogs would only slow the test down)."""
    ids = await world.client.create_users(count, name=name)
    now = utcnow()
    async with world.services.db.transaction() as conn:
        for user_id in ids:
            await conn.execute("INSERT INTO residents (user_id, locale, community, created_at, updated_at) "
                               "VALUES (?, 'uk', 'lutsk', ?, ?)", (user_id, now, now))
            await conn.execute("INSERT INTO subscriptions (user_id, topic, subscribed, updated_at) VALUES (?, ?, 1, ?)",
                               (user_id, topic, now))
    return ids


async def wait_done(world: World, campaign_id: int, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        campaign = await world.services.campaigns.get(campaign_id)
        if campaign is not None and campaign.status in ("done", "cancelled"):
            return campaign
        await asyncio.sleep(0.2)
    raise AssertionError(f"campaign {campaign_id} did not finish in {timeout} s: "
                         f"{await world.services.campaigns.figures(campaign_id)}")


async def latest_campaign(world: World) -> Any:
    return (await world.services.campaigns.recent(1))[0]


def kyiv_text(moment: datetime, world: World) -> str:
    return moment.astimezone(world.services.settings.tz).strftime("%d.%m.%Y %H:%M")


async def test_a_scheduled_campaign_to_2000_residents_starts_on_time_and_stays_under_the_flood_limit(
        world: World) -> None:
    ids = await subscribed_residents(world, 2000, "services", "Мешканка")
    admin = administrator(world)
    text = "Новий соціальний автобус курсує щовівторка"
    shown = await compose(admin, "services", text)
    assert "отримають 2000 мешканців" in shown[-1]["text"]
    # the test send is exactly the residents' message, with the unsubscribe button
    preview = next(m for m in shown if text in (m.get("text") or ""))
    assert "🔕 Відписатися від цієї теми" in buttons(preview)

    campaigns = world.services.campaigns
    real_clock = campaigns.clock
    start_at = (real_clock() + timedelta(days=1)).replace(second=0, microsecond=0)
    fake_now = real_clock()
    campaigns.clock = lambda: fake_now
    try:
        await admin.tap("🕒 У визначені дату й час", new=1)
        [scheduled] = await admin.say(kyiv_text(start_at, world))
        assert "почнеться" in scheduled["text"] and kyiv_text(start_at, world) in scheduled["text"]
        campaign = await latest_campaign(world)
        await asyncio.sleep(1.5)  # the engine looks at the clock at least once a second
        assert (await campaigns.get(campaign.id)).status == "scheduled"
        assert not await copies(world.client, ids[:5], text)

        await world.client.set_flood(True)  # Telegram's limits from now on: 30/s overall, 1/s per chat
        since = (await world.client.calls())[-1]["seq"]
        fake_now = start_at + timedelta(seconds=30)
        world.services.wake_campaigns()
        finished = await wait_done(world, campaign.id, timeout=150)
    finally:
        campaigns.clock = real_clock
        await world.client.set_flood(False)
    figures = await campaigns.figures(campaign.id)
    assert finished.status == "done" and figures.delivered == 2000 and figures.failed == 0
    calls = await world.client.calls(since=since)
    assert [c for c in calls if c.get("error_code") == 429] == []
    sends = sorted(c["time"] for c in calls if c["method"] == "sendMessage" and c["ok"]
                   and int(c["params"].get("chat_id", 0)) in set(ids))
    rate = (len(sends) - 1) / (sends[-1] - sends[0])
    print(f"\n2000 recipients at the 30/s setting: {rate:.1f} messages/s ({rate / 30:.2f} of the limit), no 429")
    assert rate > 20  # well paced, not crawling
    got = await copies(world.client, ids, text)
    assert set(got.values()) == {1} and len(got) == 2000
    # the administrator's progress message ends with the figures
    progress = [m for m in await world.client.messages(ADMIN_ID) if f"Розсилка №{campaign.id}" in (m.get("text") or "")]
    assert progress and "✅ Завершено" in progress[-1]["text"] and "доставлено: 2000" in progress[-1]["text"]


async def test_a_forced_429_pauses_everything_for_retry_after(world: World) -> None:
    ids = await subscribed_residents(world, 40, "families", "Батько")
    admin = administrator(world)
    text = "Табір для дітей: запис відкрито"
    await compose(admin, "families", text)
    world.allow_errors("Too Many Requests")
    await world.client.set_flood(True, global_per_sec=10)  # Telegram is stricter than the bot's 30/s today
    since = (await world.client.calls())[-1]["seq"]
    try:
        await admin.tap("🚀 Надіслати зараз", new=1)
        campaign = await latest_campaign(world)
        await wait_done(world, campaign.id, timeout=60)
    finally:
        await world.client.set_flood(False)
    calls = await world.client.calls(since=since)
    refused = [c for c in calls if c.get("error_code") == 429]
    assert refused, "the sandbox was expected to refuse some messages"
    first = refused[0]
    # nothing at all was sent until retry_after (at least a second in the sandbox, as in Telegram) had passed
    after = [c for c in calls if c["seq"] > first["seq"] and c["method"].startswith("send")]
    assert after and after[0]["time"] - first["time"] >= 0.9
    got = await copies(world.client, ids, text)
    assert len(got) == 40 and set(got.values()) == {1}


async def test_blocked_residents_are_marked_and_left_out_later(world: World) -> None:
    ids = await subscribed_residents(world, 12, "older", "Пенсіонерка")
    for user_id in ids[:3]:
        await world.client.block(user_id)
    admin = administrator(world)
    shown = await compose(admin, "older", "Безкоштовна перевірка зору для літніх людей")
    assert "отримають 12 мешканців" in shown[-1]["text"]
    world.allow_errors("bot was blocked by the user")
    await admin.tap("🚀 Надіслати зараз", new=1)
    campaign = await latest_campaign(world)
    await wait_done(world, campaign.id, timeout=30)
    figures = await world.services.campaigns.figures(campaign.id)
    assert (figures.delivered, figures.blocked) == (9, 3)
    for user_id in ids[:3]:
        assert (await world.services.residents.get(user_id)).blocked
    shown = await compose(admin, "older", "Друге повідомлення")
    assert "отримають 9 мешканців" in shown[-1]["text"]
    await admin.tap("✖️ Припинити")


async def test_pause_resume_and_cancel_from_the_progress_message(world: World) -> None:
    ids = await subscribed_residents(world, 60, "disability", "Мешканець")
    admin = administrator(world)
    text = "Прокат засобів реабілітації: нові дати"
    await compose(admin, "disability", text)
    limiter = world.services.limiter
    normal = limiter.limits
    limiter.configure(Limits(per_second=5))  # slow enough to press the buttons midway
    try:
        await admin.tap("🚀 Надіслати зараз", new=2)
        campaign = await latest_campaign(world)
        await asyncio.sleep(2)
        await admin.tap("⏸ Призупинити")
        await asyncio.sleep(0.5)  # what was in flight lands
        paused = await world.services.campaigns.figures(campaign.id)
        await asyncio.sleep(1.5)
        assert (await world.services.campaigns.figures(campaign.id)).delivered == paused.delivered
        assert 0 < paused.delivered < 60 and (await world.services.campaigns.get(campaign.id)).status == "paused"
        assert "⏸ Призупинено" in admin.text
        await admin.tap("▶️ Продовжити")
        await asyncio.sleep(1.5)
        resumed = await world.services.campaigns.figures(campaign.id)
        assert resumed.delivered > paused.delivered
        await admin.tap("⛔ Скасувати")
        await asyncio.sleep(0.5)
        cancelled = await world.services.campaigns.figures(campaign.id)
        await asyncio.sleep(1.0)
        assert (await world.services.campaigns.figures(campaign.id)).delivered == cancelled.delivered < 60
        assert (await world.services.campaigns.get(campaign.id)).status == "cancelled"
    finally:
        limiter.configure(normal)
    got = await copies(world.client, ids, text)
    assert set(got.values()) <= {1} and len(got) == cancelled.delivered
    listing = await admin.say("/campaigns")
    assert f"№{campaign.id} · ⛔ Скасовано" in listing[-1]["text"]


async def test_a_resident_subscribes_in_settings_and_unsubscribes_from_the_message(world: World) -> None:
    person = await world.resident("lutsk", name="Ірина")
    await person.say("⚙️ Налаштування")
    await person.tap("🔔 Новини, які я отримую", new=1)
    await person.tap(f"⬜ {TOPICS['veterans']}")
    assert f"✅ {TOPICS['veterans']}" in person.buttons
    assert (await world.services.subscriptions.of(person.id)) == {"veterans": True}
    admin = administrator(world)
    text = "Ветеранський простір відкрито"
    shown = await compose(admin, "veterans", text)
    assert "отримає 1 мешканець" in shown[-1]["text"]
    await admin.tap("🚀 Надіслати зараз", new=1)
    [news] = await world.client.wait_bot_messages(person.id, person._last_id, 1, timeout=10)
    assert text in news["text"]
    await person.tap("🔕 Відписатися від цієї теми", new=1)
    assert "Ви відписалися" in person.text
    assert (await world.services.subscriptions.of(person.id))["veterans"] is False
    # a later campaign to all residents on this topic leaves her out; others still get it
    shown = await compose(admin, "veterans", "Друге повідомлення для ветеранів", audience="👥 Усі мешканці")
    count = int(re.search(r"отрима\w+ (\d+) мешкан", shown[-1]["text"]).group(1))
    everyone = await world.services.campaigns.audience_size("events", Audience())
    assert count == everyone - 1
    await admin.tap("✖️ Припинити")


async def test_only_administrators_may_send_campaigns(world: World) -> None:
    stranger = await world.resident("lutsk", name="Сторонній")
    [answer] = await stranger.say("/campaign")
    assert "для адміністраторів" in answer["text"]
    [answer] = await stranger.say("/admin_add 123")
    assert "для адміністраторів" in answer["text"]
    forged = await stranger.forge(answer["message_id"], "cmp:cancel:1")
    assert "для адміністраторів" in (forged.get("text") or "")
    admin = administrator(world)
    [answer] = await admin.say(f"/admin_add {stranger.id}")
    assert "тепер адміністратор" in answer["text"]
    [answer] = await stranger.say("/campaign")
    assert "Нова розсилка" in answer["text"]
    await stranger.tap("✖️ Припинити")


async def test_html_is_checked_before_anything_is_sent(world: World) -> None:
    admin = administrator(world)
    await admin.say("/campaign")
    await admin.tap(TOPICS["idp"])
    [problem] = await admin.say("<b>Житло для переселенців</i>")
    assert "неправильному порядку" in problem["text"]
    [problem] = await admin.say("<script>alert(1)</script>")
    assert "не дозволяє такий тег" in problem["text"]
    [ok] = await admin.say("<b>Житло</b> для переселенців &amp; їхніх родин")
    assert "вкладення" in ok["text"]
    await admin.tap("✖️ Припинити")
