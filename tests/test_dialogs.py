"""Resident flows through aiogram's Dispatcher with real updates."""
from __future__ import annotations

import logging

from aiogram.fsm.storage.base import StorageKey

from tests.support.harness import started


async def test_start_asks_language_then_community_then_shows_menu(harness):
    person = harness.person(501)
    [greeting] = await person.say("/start")
    assert "Вітаю" in greeting.text
    assert greeting.buttons == ["🇺🇦 Українська", "🇬🇧 English"]
    answers = await person.tap(greeting, "Українська")
    assert answers[0].text == "Мова: 🇺🇦 Українська"
    assert "У якій громаді ви живете?" in answers[-1].text
    assert len(answers[-1].buttons) == 5
    answers = await person.tap(answers[-1], "Луцьк")
    menu, offer = answers[-2:]
    assert "Ось меню" in menu.text and "Луцька" in menu.text
    assert "новини громади" in offer.text and "⬜ Події громади" in offer.buttons  # nobody subscribed unasked
    assert "🧭 Знайти допомогу" in menu.buttons and "🆘 Екстрена допомога" in menu.buttons
    resident = await harness.app.services.residents.get(501)
    assert (resident.locale, resident.community) == ("uk", "lutsk")


async def test_second_start_remembers_the_choice(harness):
    person, _ = await started(harness, 502)
    answers = await person.say("/start")
    assert "Вітаю знову" in answers[0].text
    assert "Головне меню" in answers[-1].text


async def test_english_speaker_gets_english(harness):
    person = harness.person(503, language_code="en")
    [greeting] = await person.say("/start")
    assert greeting.text.startswith("Hello!")
    answers = await person.tap(greeting, "English")
    answers = await person.tap(answers[-1], "Lutsk")
    assert "🧭 Find help" in answers[-2].buttons and "⬜ Community events" in answers[-1].buttons


async def test_browse_by_situation_to_service_card(harness):
    person, _ = await started(harness, 504, "lutsk")
    [find] = await person.say("🧭 Знайти допомогу")
    assert find.buttons[:3] == ["📋 За життєвою ситуацією", "👥 Кому потрібна допомога", "🏛 За установою"]
    [situations] = await person.tap(find, "За життєвою ситуацією")
    assert "Що сталося?" in situations.text
    assert "Літня людина потребує догляду" in situations.buttons
    assert "◀️ Назад" in situations.buttons and "🏠 Меню" in situations.buttons
    [services] = await person.tap(situations, "Літня людина потребує догляду")
    assert "Ось що може допомогти" in services.text
    [card] = await person.tap(services, "Допомога вдома")
    assert "<b>Хто може отримати</b>" in card.text and "<b>Як отримати</b>" in card.text
    assert "Територіальний центр" in card.text
    assert "Контакти уточнюються." in card.text  # the seed gives no contacts and none are invented
    [back] = await person.tap(card, "Назад")
    assert "Ось що може допомогти" in back.text


async def test_lists_paginate_with_page_numbers(harness):
    person, _ = await started(harness, 505, "druzhkivka")
    [find] = await person.say("🧭 Знайти допомогу")
    [groups] = await person.tap(find, "Кому потрібна допомога")
    [children] = await person.tap(groups, "Діти та сім’ї з дітьми")
    assert "Сторінка 1 з" in children.text
    [page2] = await person.tap(children, "Далі")
    assert "Сторінка 2 з" in page2.text
    assert "⬅️ Попередня" in page2.buttons


async def test_institution_card_lists_its_services(harness):
    person, _ = await started(harness, 506, "volodymyr")
    [find] = await person.say("🧭 Знайти допомогу")
    [insts] = await person.tap(find, "За установою")
    [card] = await person.tap(insts, insts.buttons[0])
    assert "Надає" in card.text and "послуг" in card.text


async def test_planned_service_is_marked(harness):
    """A plan whose years have come is not "not provided": the card says what was planned and whom to ask."""
    person, _ = await started(harness, 507, "lutsk")
    view = harness.app.services.catalogue.communities["lutsk"]
    planned = view.services["homeless-stay"]
    assert planned.status.value == "planned" and planned.planned_year == 2023
    [find] = await person.say("🧭 Знайти допомогу")
    [card] = await person.press_data(find, f"n:svc:{planned.id}:0")
    assert "Заплановано програмою громади: 2023" in card.text and "запитайте" in card.text
    assert "поки що не надається" not in card.text
    assert any(b.startswith("📝") for b in card.buttons)  # the resident can ask the institution about it


async def test_free_text_is_a_search(harness):
    person, _ = await started(harness, 508, "druzhkivka")
    [results] = await person.say("сину 2 роки, у нього інвалідність")
    assert "Я знайшов" in results.text
    assert any("Рання допомога" in b for b in results.buttons[:3])


async def test_search_button_then_text(harness):
    person, _ = await started(harness, 509, "lutsk")
    [prompt] = await person.say("🔎 Пошук")
    assert "Напишіть своїми словами" in prompt.text
    [results] = await person.say("де безкоштовно поїсти пенсіонеру")
    assert "Я знайшов" in results.text


async def test_no_results_is_kind_and_offers_situations(harness):
    person, _ = await started(harness, 510, "lutsk")
    [answer] = await person.say("квантова хромодинаміка")
    assert "Вибачте" in answer.text
    assert "📋 Обрати життєву ситуацію" in answer.buttons


async def test_danger_words_put_emergency_first(harness):
    person, _ = await started(harness, 511, "volodymyr")
    answers = await person.say("чоловік б'є мене і дітей")
    assert "112" in answers[0].text and "1547" in answers[0].text
    assert "не вашої провини" in answers[0].text or "немає вашої провини" in answers[0].text
    assert "Я знайшов" in answers[-1].text


async def test_suicide_words_show_lifeline(harness):
    person, _ = await started(harness, 512, "lutsk")
    answers = await person.say("не хочу жити")
    assert "7333" in answers[0].text and "Ви не самі" in answers[0].text


async def test_emergency_button_lists_national_lines(harness):
    person, _ = await started(harness, 513, "kakhovka")
    [answer] = await person.say("🆘 Екстрена допомога")
    for number in ("112", "102", "103", "1547", "116 123", "116 111", "7333", "1545"):
        assert number in answer.text
    assert "У вашій громаді" in answer.text


async def test_markup_in_user_text_is_escaped(harness):
    person, _ = await started(harness, 514, "lutsk")
    answers = await person.say("<b>догляд</b> <script>alert(1)</script> &amp;")
    for sent in answers:
        assert "<script>" not in sent.text


async def test_huge_text_is_handled(harness):
    person, _ = await started(harness, 515, "lutsk")
    answers = await person.say("догляд вдома " * 2000)
    assert answers and all(len(a.text) <= 4096 for a in answers)


async def test_forged_button_data_gets_a_polite_answer(harness):
    person, _ = await started(harness, 516, "lutsk")
    [find] = await person.say("🧭 Знайти допомогу")
    for data in ("n:svc:no-such-service:0", "n:sit:nope:0", "garbage", "p:lang:ru", "p:comm:atlantis", "n:sits::x"):
        await person.press_data(find, data)
    answers = harness.session.callback_answers[-6:]
    assert len(answers) == 6
    assert all(a.text and ("застаріла" in a.text or "Не вдалося" in a.text) for a in answers)
    resident = await harness.app.services.residents.get(516)
    assert (resident.locale, resident.community) == ("uk", "lutsk")


async def test_cancel_leaves_a_dialog(harness):
    person, _ = await started(harness, 517, "lutsk")
    await person.say("🔎 Пошук")
    [answer] = await person.say("/cancel")
    assert "зупинив" in answer.text
    [answer] = await person.say("/cancel")
    assert "нічого не триває" in answer.text


async def test_menu_and_help_commands(harness):
    person, _ = await started(harness, 518, "lutsk")
    [menu] = await person.say("/menu")
    assert "Головне меню" in menu.text
    [help_] = await person.say("/help")
    assert "Як користуватися ботом" in help_.text


async def test_settings_change_language(harness):
    person, _ = await started(harness, 519, "lutsk")
    [settings] = await person.say("⚙️ Налаштування")
    assert "Мова: 🇺🇦 Українська" in settings.text
    [choose] = await person.tap(settings, "Змінити мову")
    answers = await person.tap(choose, "English")
    assert "Main menu" in answers[-1].text or "Here is the menu" in answers[-1].text
    [settings] = await person.say("⚙️ Settings")
    assert "Language: 🇬🇧 English" in settings.text


async def test_dialog_survives_a_restart(settings):
    """Conversation state lives in SQLite: a new process continues where the resident was."""
    from aiogram import Bot

    from bot.app import build_app
    from tests.support.config import TOKEN
    from tests.support.harness import Harness, RecordingSession

    app = await build_app(settings)
    first = Harness(app=app, bot=Bot(TOKEN, session=RecordingSession()), session=None)  # type: ignore[arg-type]
    first.session = first.bot.session
    person, _ = await started(first, 520, "lutsk")
    [prompt] = await person.say("🔎 Пошук")
    await app.close()

    app2 = await build_app(settings)
    second = Harness(app=app2, bot=Bot(TOKEN, session=RecordingSession()), session=None)  # type: ignore[arg-type]
    second.session = second.bot.session
    again = second.person(520)
    [results] = await again.say("гарячі обіди")
    assert "Я знайшов" in results.text
    state = await app2.dispatcher.storage.get_state(
        StorageKey(bot_id=second.bot.id, chat_id=520, user_id=520)
    )
    assert state is None
    await app2.close()


async def test_one_log_line_per_update_without_personal_data(harness, caplog):
    caplog.set_level(logging.INFO, logger="bot.updates")
    person, _ = await started(harness, 521, "lutsk")
    secret = "мій телефон 0671234567 чоловік Петро б'є"
    caplog.clear()
    await person.say(secret)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.updates"]
    assert len(lines) == 1
    assert "type=message:text" in lines[0] and "outcome=ok" in lines[0] and "ms=" in lines[0]
    assert "0671234567" not in caplog.text and "Петро" not in caplog.text


async def test_words_about_suicide_offer_people_to_talk_to(harness):
    person, _ = await started(harness, 522, "lutsk")
    answers = await person.say("не хочу жити")
    assert "7333" in answers[0].text
    assert all("проживання" not in b.lower() for a in answers for b in a.buttons)


async def test_a_double_tap_does_not_duplicate_the_screen(harness):
    person, _ = await started(harness, 523, "lutsk")
    [find] = await person.say("🧭 Знайти допомогу")
    data = find.callback("За життєвою ситуацією")
    await person.press_data(find, data)
    shown = len(harness.shown(523))
    harness.session.not_modified = True
    await person.press_data(find, data)  # the same button again, on the screen it already opened
    assert len(harness.shown(523)) == shown
