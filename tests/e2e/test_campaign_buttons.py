"""A campaign with each kind of button, through the sandbox: the administrator's test send shows exactly the
residents' message with its buttons (the same rendering the engine uses), the campaign goes out, and a button to a
service card or a consultation topic opens it in the bot and is counted."""
from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from benchmarks.steps import TOPICS
from bot.storage.db import utcnow
from sandbox.client import inline_buttons
from tests.support.world import ADMIN_ID, Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")

UNSUBSCRIBE = "🔕 Відписатися від цієї теми"


async def subscribers(world: World, count: int, topic: str) -> list[Person]:
    """Residents of Lutsk subscribed to `topic` (written into the database, as in test_campaigns.py)."""
    ids = await world.client.create_users(count, name="Читачка")
    now = utcnow()
    async with world.services.db.transaction() as conn:
        for user_id in ids:
            await conn.execute("INSERT INTO residents (user_id, locale, community, created_at, updated_at) "
                               "VALUES (?, 'uk', 'lutsk', ?, ?)", (user_id, now, now))
            await conn.execute("INSERT INTO subscriptions (user_id, topic, subscribed, updated_at) VALUES (?, ?, 1, ?)",
                               (user_id, topic, now))
    return [Person(world.client, {"id": user_id, "first_name": "Читачка"}) for user_id in ids]


def link_of(message: dict[str, Any]) -> str | None:
    return next((b["url"] for b in inline_buttons(message) if b.get("url")), None)


def start_payload(url: str) -> str:
    return parse_qs(urlsplit(url).query)["start"][0]


async def wait_done(world: World, campaign_id: int, timeout: float = 30) -> None:
    """Until the campaign is sent: `timeout` seconds, and more for a large audience (the residents of a community
    include those earlier tests of the shared world made, e.g. 2,000 for a scheduled campaign, and campaigns go at
    the pacer's 30 messages a second at most)."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        campaign = await world.services.campaigns.get(campaign_id)
        if campaign is not None and campaign.status == "done":
            return
        if campaign is not None and campaign.total:
            deadline = max(deadline, started + timeout + campaign.total / 20)
        await asyncio.sleep(0.1)
    raise AssertionError(f"campaign {campaign_id} did not finish")


async def choose_button(admin: Person, world: World, kind: str) -> str:
    """Choose the button of `kind`; returns the label of the service or topic chosen (or the address)."""
    lutsk = world.services.catalogue.communities["lutsk"]
    if kind == "service":
        await admin.tap("📄 Картка послуги", new=1)
        if len(world.services.served) > 1:
            await admin.tap(lutsk.model.name.get("uk"), new=1)
        listing = admin.received[-1]
        assert "Яка послуга?" in listing["text"]
        label = buttons(listing)[0]
        assert len(label) <= 60 and (not label.endswith("…") or " " in label)
        await admin.tap(label, new=1)
        await admin.tap(f"🏘 Мешканці: {lutsk.model.name.get('uk')}", new=1)
        return label
    if kind == "consultation":
        await admin.tap("💬 Тема консультації", new=1)
        label = buttons(admin.received[-1])[0]
        await admin.tap(label, new=1)
    elif kind == "url":
        await admin.tap("🔗 Вебадреса", new=1)
        label = "https://example.org/novyny"
        await admin.say(label)
    else:
        await admin.tap("➡️ Без кнопки", new=1)
        label = ""
    await admin.tap("🔔 Підписники теми «Події громади»", new=1)
    return label


@pytest.mark.parametrize("kind", ["service", "consultation", "url", "none"])
async def test_a_campaign_with_each_kind_of_button_is_test_sent_sent_and_opened(world: World, kind: str) -> None:
    readers = await subscribers(world, 2, "events")
    admin = Person(world.client, {"id": ADMIN_ID, "first_name": "Адміністраторка"})
    text = f"Свято громади: програма ({kind})"
    await admin.say("/campaign")
    await admin.tap(TOPICS["events"])
    await admin.say(text)
    await admin.tap("➡️ Без вкладення", new=1)
    chosen = await choose_button(admin, world, kind)
    shown = await admin.tap("Будь-якою мовою", new=3)

    # the test send: the residents' message itself, with its buttons, then the question
    assert "Тестове надсилання" in shown[0]["text"]
    preview = shown[1]
    assert preview["text"] == text and buttons(preview)[-1] == UNSUBSCRIBE
    assert "Надіслати зараз" in " ".join(buttons(shown[2]))
    expected_label = {"service": "📄 Відкрити послугу", "consultation": "💬 Запитати фахівця",
                      "url": "🔗 Детальніше"}.get(kind)
    assert buttons(preview) == ([expected_label] if expected_label else []) + [UNSUBSCRIBE]
    test_link = link_of(preview)
    if kind == "url":
        assert test_link == chosen
    elif kind in ("service", "consultation"):
        assert test_link.startswith("https://t.me/") and "K" not in start_payload(test_link)  # not counted
    else:
        assert test_link is None

    await admin.tap("🚀 Надіслати зараз", new=1)
    campaign = (await world.services.campaigns.recent(1))[0]
    await wait_done(world, campaign.id)
    for reader in readers:
        got = [m for m in await world.client.messages(reader.id) if m.get("text") == text]
        assert len(got) == 1 and buttons(got[0]) == buttons(preview)
    received = [m for m in await world.client.messages(readers[0].id) if m.get("text") == text][0]
    if kind not in ("service", "consultation"):
        assert link_of(received) == test_link
        return
    # the resident's button is the same link, counted for this campaign; opening it opens the card or the topic
    payload = start_payload(link_of(received))
    tested = start_payload(test_link)
    if kind == "service":  # a service belongs to one community: the same card
        assert payload == tested + f"K{campaign.id}"
    else:  # a topic is opened on the line of each resident's community (the test send: the administrator's)
        target = tested[next(i for i, c in enumerate(tested) if c in "TU"):]
        assert payload == f"Hlutsk{target}K{campaign.id}"
    opened = await readers[0].say(f"/start {payload}")
    shown_text = "\n".join(m.get("text") or "" for m in opened)
    if kind == "service":
        assert chosen.rstrip("…") in shown_text
    else:
        assert chosen.split(" ", 1)[-1].rstrip("…")[:20] in shown_text or "консультац" in shown_text.lower()
    assert (await world.services.campaigns.figures(campaign.id)).opens == 1
