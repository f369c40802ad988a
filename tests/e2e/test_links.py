"""Deep links and QR codes end to end: a link opens its card for new and known residents, every open is counted,
forged links are refused politely, and the administrator's /qr sends codes that decode to such links."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.links import consultation_payload, service_payload
from bot.storage.db import utcnow
from sandbox import Sandbox, SandboxClient
from sandbox.client import message_text
from tests.support.world import (
    ADMIN_ID,
    BOT_ID,
    BOT_TOKEN,
    MENU_UK,
    Person,
    RunningBot,
    World,
    buttons,
    e2e_settings,
    failed_calls,
    summarise,
    wait_confirmed,
)

pytestmark = pytest.mark.asyncio(loop_scope="package")
zxingcpp = pytest.importorskip("zxingcpp")


def t(world: World, msgid: str, locale: str = "uk") -> str:
    """A message as the bot shows it in `locale` (whether or not it is translated yet)."""
    return world.running.app.i18n.gettext(msgid, locale=locale)


async def opens(world: World, user_id: int) -> list[dict]:
    rows = await world.services.db.fetchall(
        "SELECT code, kind, community, target, campaign_id, new_resident FROM link_opens WHERE user_id = ? "
        "ORDER BY id", (user_id,))
    return [dict(row) for row in rows]


def is_card(message: dict, name: str) -> bool:
    text = message_text(message)
    return name in text and "Хто може отримати" in text and "Хто надає" in text


async def test_a_new_resident_chooses_the_language_and_lands_on_the_card(world: World) -> None:
    person = await world.person("Ганна")
    payload = service_payload("lutsk", "home-care")
    [greeting] = await person.say(f"/start {payload}")
    assert "Оберіть, будь ласка, мову" in message_text(greeting)
    assert buttons(greeting) == ["🇺🇦 Українська", "🇬🇧 English"]

    *_, menu, card = await person.tap("🇺🇦 Українська", new=2)  # the community comes from the link: not asked
    assert "Ось меню" in message_text(menu) and "Луцька" in message_text(menu)
    assert set(MENU_UK) <= set(person.keyboard)
    name = world.services.catalogue.communities["lutsk"].services["home-care"].name.uk
    assert is_card(card, name)
    assert buttons(card)[-2:] == ["◀️ Назад", "🏠 Меню"]
    resident = await world.services.residents.get(person.id)
    assert (resident.locale, resident.community) == ("uk", "lutsk")
    assert await opens(world, person.id) == [
        {"code": payload, "kind": "service", "community": "lutsk", "target": "home-care", "campaign_id": None,
         "new_resident": 1}]
    [back] = await person.tap("◀️ Назад")  # the card's buttons work as in browsing
    assert "Як вам зручніше шукати?" in message_text(back)


async def test_a_known_resident_goes_straight_to_the_card_and_moves_to_its_community(world: World) -> None:
    person = await world.resident("volodymyr")
    lutsk = world.services.catalogue.communities["lutsk"]
    moved, card = await person.say(f"/start {service_payload('lutsk', 'hot-meals')}", count=2)
    assert "Луцька" in message_text(moved) and message_text(moved).count("\n") == 0  # one line
    assert is_card(card, lutsk.services["hot-meals"].name.uk)
    assert (await world.services.residents.get(person.id)).community == "lutsk"

    [again] = await person.say(f"/start {service_payload('lutsk', 'home-care')}")  # same community: only the card
    assert is_card(again, lutsk.services["home-care"].name.uk)
    assert [row["new_resident"] for row in await opens(world, person.id)] == [0, 0]
    assert [row["target"] for row in await opens(world, person.id)] == ["hot-meals", "home-care"]


async def test_a_consultation_link_opens_the_topic_screen(world: World) -> None:
    person = await world.resident("lutsk")
    [topic] = await person.say(f"/start {consultation_payload('lutsk', 'legal')}")
    text = message_text(topic)
    assert "Юридичні питання" in text and "Відповідає" in text
    assert "✅ Погоджуюся" in buttons(topic)  # the consultation flow asks for consent first, as from the menu
    assert (await opens(world, person.id))[0]["kind"] == "consultation"


async def test_a_community_link_for_a_new_resident_ends_on_the_menu(world: World) -> None:
    person = await world.person("Остап")
    await person.say("/start Hkakhovka")
    *_, menu = await person.tap("🇺🇦 Українська", new=1)
    assert "Ось меню" in message_text(menu) and "Каховська" in message_text(menu)
    assert (await world.services.residents.get(person.id)).community == "kakhovka"
    assert (await opens(world, person.id))[0]["kind"] == "community"


async def test_opens_from_a_campaign_are_counted_under_it(world: World) -> None:
    from bot.links import opens_of_campaign

    db = world.services.db
    await db.execute(
        "INSERT INTO campaigns (id, created_by, created_at, status, topic, text, audience) "
        "VALUES (4242, ?, ?, 'done', 'news', 'x', '{}')", (ADMIN_ID, utcnow()))
    first, second = await world.resident("lutsk", name="Ірина"), await world.person("Марко")
    await first.say(f"/start {service_payload('lutsk', 'home-care', 4242)}")
    await second.say(f"/start {service_payload('lutsk', 'home-care', 4242)}")
    await first.say(f"/start {service_payload('lutsk', 'home-care', 4242)}")
    assert await opens_of_campaign(db, 4242) == 2
    assert [row["new_resident"] for row in await opens(world, second.id)] == [1]
    third = await world.resident("lutsk", name="Зоя")
    await third.say(f"/start {service_payload('lutsk', 'home-care', 4343)}")  # no such campaign: the card opens
    assert (await opens(world, third.id))[0]["campaign_id"] is None


@pytest.mark.parametrize("payload", ["HlutskSno-such-service", "HatlantisShome-care", "hello", "HlutskShome-careK0"])
async def test_a_forged_link_is_refused_politely(world: World, payload: str) -> None:
    sorry = t(world, "Sorry, this link does not work any more. Everything it could show is in the menu.")
    known = await world.resident("lutsk")
    refused, hello, menu = await known.say(f"/start {payload}", count=3)
    assert message_text(refused) == sorry
    assert "Вітаю знову" in message_text(hello) and "Головне меню" in message_text(menu)
    newcomer = await world.person("Лука")
    refused, greeting = await newcomer.say(f"/start {payload}", count=2)
    assert message_text(refused) == sorry and buttons(greeting) == ["🇺🇦 Українська", "🇬🇧 English"]
    *_, question = await newcomer.tap("🇺🇦 Українська", new=1)
    assert message_text(question) == "У якій громаді ви живете?"  # the usual onboarding
    assert await opens(world, known.id) == [] and await opens(world, newcomer.id) == []


async def test_qr_for_administrators_decodes_to_a_link_that_opens_the_card(world: World) -> None:
    outsider = await world.resident("lutsk", name="Сторонній")
    [refused] = await outsider.say("/qr")
    assert message_text(refused) == t(world, "This command is for the community's administrators.")

    admin = await world.resident("lutsk", name="Адміністратор")
    await world.services.admins.add(admin.id, ADMIN_ID)
    [communities] = await admin.say("/qr")
    assert len(buttons(communities)) == len(world.services.served)
    await admin.tap("Луцька громада")
    await admin.tap(t(world, "📋 A service card"))
    service = world.services.catalogue.communities["lutsk"].services["home-care"]
    png_message, svg_message = await admin.tap(service.name.uk[:60], new=2)
    assert png_message["document"]["file_name"] == "lutsk-service-home-care.png"
    assert svg_message["document"]["file_name"] == "lutsk-service-home-care.svg"

    from PIL import Image

    png = await world.client.file_content(png_message["document"]["file_id"])
    [url] = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))]
    username = (await world.running.bot.me()).username
    assert url == f"https://t.me/{username}?start={service_payload('lutsk', 'home-care')}"
    assert url in message_text(png_message)
    svg = (await world.client.file_content(svg_message["document"]["file_id"])).decode("utf-8")
    assert service.name.uk.split()[0] in " ".join(x.text or "" for x in ET.fromstring(svg).iter() if x.text)

    reader = await world.person("Читачка")  # a resident scans the printed code
    [payload] = parse_qs(urlsplit(url).query)["start"]
    await reader.say(f"/start {payload}")
    *_, card = await reader.tap("🇺🇦 Українська", new=2)
    assert is_card(card, service.name.uk)

    await admin.say("/qr")
    await admin.tap("Каховська громада")
    await admin.tap(t(world, "💬 A consultation topic"))
    png_message, _ = await admin.tap("Юридичні питання", new=2)
    assert png_message["document"]["file_name"] == "kakhovka-consultation-legal.png"


async def test_a_pending_link_survives_a_restart_during_the_onboarding(tmp_path: Path) -> None:
    sandbox = await Sandbox(bot_token=BOT_TOKEN).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=8.0)
    settings = e2e_settings(tmp_path, sandbox.api_url)
    running = await RunningBot.start(settings, sandbox)
    try:
        await client.wait_bot_ready(timeout=10)
        person = Person(client, await client.create_user("Віра", language_code="uk"))
        await person.say(f"/start {service_payload('pervomaiskyi', 'home-care')}")
        await wait_confirmed(sandbox)
        await running.stop()
        await sandbox.core.wait_until(lambda: not sandbox.core.is_listening(BOT_ID), 2)

        running = await RunningBot.start(settings, sandbox)  # a new process on the same database file
        key = StorageKey(bot_id=BOT_ID, chat_id=person.id, user_id=person.id)
        assert (await running.app.dispatcher.storage.get_data(key)).get("link")
        await client.wait_bot_ready(timeout=10)
        *_, card = await person.tap("🇺🇦 Українська", new=2)
        service = running.app.services.catalogue.communities["pervomaiskyi"].services.get("home-care")
        assert service is not None and is_card(card, service.name.uk)
        assert not (await running.app.dispatcher.storage.get_data(key)).get("link")  # opened once
        failed = await failed_calls(client, 0)
        assert not failed, "\n".join(map(summarise, failed))
    finally:
        await running.stop()
        await client.close()
        await sandbox.stop()
