"""The web chat as a channel under aiogram (bot/webchat/): a web resident goes through the same dialogs as in
Telegram, their request reaches the staff group (marked as from the web chat, with the photo uploaded), and the
staff's answer reaches the resident's stored chat through the same outbox."""
from __future__ import annotations

import pytest

from bot.app import build_app
from bot.delivery.outbox import Outbox
from bot.privacy import erasure
from bot.storage.residents import WEB_ID_BASE, channel_of, is_web
from dialogs.outbox.sender import TelegramSender
from tests.support.webchat import JPEG, WebResident, WebWorld, web_world

GROUP = -100500


@pytest.fixture
async def world(settings):
    app = await build_app(settings)
    yield web_world(app)
    await app.close()


async def file_request(resident: WebResident) -> None:
    await resident.say("📝 Попросити допомогу")
    await resident.tap("Погоджуюся")
    await resident.tap("Літня людина потребує догляду")
    await resident.tap("Для себе")
    await resident.say("Мамі потрібна допомога вдома")
    await resident.world.channel.upload(resident.user_id, JPEG, "image/jpeg", "")
    _, shown = await resident.tap("Далі")
    assert "Як фахівець може з вами зв’язатися?" in shown[-1].text
    assert "📱 Поділитися моїм номером" in await resident.keyboard()
    await resident.world.channel.contact(resident.user_id, "067 123 45 67")
    popup, shown = await resident.tap("Надіслати")
    assert popup == "Надіслано"
    assert "прийнято" in shown[-1].text


async def outbox_round(world: WebWorld) -> int:
    services = world.app.services
    return await Outbox(services.db, TelegramSender(world.telegram, services, world.app.i18n)).process_once()


def test_web_ids_never_meet_telegram_ids() -> None:
    assert not is_web(2 ** 52 - 1) and not is_web(-100123) and not is_web(None)
    assert is_web(WEB_ID_BASE) and channel_of(WEB_ID_BASE + 5) == "web" and channel_of(42) == "telegram"


async def test_start_search_request_and_the_staff_answer(world: WebWorld) -> None:
    services = world.app.services
    resident = await world.resident("lutsk")
    assert resident.user_id > WEB_ID_BASE
    [greeting] = await resident.messages()
    assert "Українська" in str(greeting.markup)
    _, shown = await resident.tap("Українська")
    assert any("меню" in m.text for m in shown)
    assert "🔎 Пошук" in await resident.keyboard()
    stored = await services.residents.get(resident.user_id)
    assert (stored.channel, stored.community, stored.locale) == ("web", "lutsk", "uk")

    await resident.say("🔎 Пошук")
    shown = await resident.say("гарячі обіди")
    assert shown[0].text == "гарячі обіди" and not shown[0].from_bot  # the resident's own words stay in the chat
    assert "Безоплатне гаряче харчування" in shown[-1].text

    await file_request(resident)
    [request] = await services.requests.for_resident(resident.user_id)
    assert (request.contact_method, request.contact_phone) == ("phone", "+380671234567")

    code = await services.groups.create_bind_code("lutsk", request.institution_id, created_by=1)
    await services.groups.bind(GROUP, code, title="Група", is_forum=False, user_id=7)
    await outbox_round(world)
    card = next(s for s in world.group_session.chats[GROUP].values() if "Звернення №" in s.text)
    assert "🌐 вебчат" in card.text
    assert (GROUP, "photo", JPEG) in world.group_session.uploads  # the web file went to Telegram as bytes

    await services.requests.reply(GROUP, request.id, 77, "соціальний працівник", "Завтра зателефонуємо вам")
    await outbox_round(world)
    assert any("Завтра зателефонуємо вам" in m.text and m.from_bot for m in await resident.news())
    assert all(call.chat_id != resident.user_id for call in world.group_session.calls
               if hasattr(call, "chat_id")), "nothing for a web resident went to Telegram"


async def test_a_press_of_a_button_the_chat_does_not_show_is_refused(world: WebWorld) -> None:
    resident = await world.resident("lutsk")
    [greeting] = await resident.messages()
    assert await world.channel.press(resident.user_id, greeting.message_id, "pick:comm:kakhovka") is None
    assert await world.channel.press(resident.user_id, 999, "anything") is None
    assert [m.message_id for m in await resident.news()] in ([], [greeting.message_id])
    stored = await world.app.services.residents.get(resident.user_id)
    assert stored.community is None  # nothing happened: the made-up press never reached the dialogs


async def test_two_web_residents_keep_apart_and_deletion_clears_the_chat(world: WebWorld) -> None:
    services = world.app.services
    first, second = await world.resident("lutsk"), await world.resident(None)
    await first.tap("Українська")
    await file_request(first)
    assert second.user_id != first.user_id
    assert not any("прийнято" in m.text for m in await second.messages())
    _, shown = await second.tap("Українська")
    assert any("громаді" in m.text for m in shown)  # no community named by the embed: asked

    await erasure.erase(services, first.user_id)
    kept = await first.messages()
    assert not any("Мамі потрібна допомога" in m.text for m in kept)
    row = await services.db.fetchone("SELECT COUNT(*) FROM web_files WHERE user_id = ?", (first.user_id,))
    assert row[0] == 0
    shown = await first.say("/start")
    assert any(m.from_bot for m in shown)  # the chat goes on


async def test_two_quick_redirects_each_tell_their_own_reason_and_institution(world: WebWorld) -> None:
    """Passed on twice before the first notice went out: each notice names its own institution and reason."""
    services = world.app.services
    resident = await world.resident("lutsk")
    await resident.tap("Українська")
    await file_request(resident)
    [request] = await services.requests.for_resident(resident.user_id)
    assert request.institution_id == "tcso"
    for chat_id, institution in ((GROUP, "tcso"), (GROUP - 1, "dsvp")):
        code = await services.groups.create_bind_code("lutsk", institution, created_by=1)
        await services.groups.bind(chat_id, code, title=institution, is_forum=False, user_id=7)
    await outbox_round(world)  # the card reaches the centre's group
    await services.requests.redirect(GROUP, request.id, 7, "працівник", "dsvp",
                                     "Це питання пільг, його вирішує департамент")
    await services.requests.redirect(GROUP - 1, request.id, 8, "працівниця", "rehab-veterans",
                                     "Ви учасник бойових дій: допомагає центр реабілітації")
    await outbox_round(world)
    told = [m.text for m in await resident.news() if "передано до" in m.text]
    assert len(told) == 2, told
    assert "Департамент" in told[0] and "вирішує департамент" in told[0] and "центр реабілітації" not in told[0]
    assert "реабілітації" in told[1] and "допомагає центр реабілітації" in told[1] and "пільг" not in told[1]
