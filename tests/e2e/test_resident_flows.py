"""Resident flows end to end: what a resident sees in the chat when the real bot runs against the sandbox."""
from __future__ import annotations

import pytest

from sandbox.client import SandboxError, message_text
from tests.support.world import COMMUNITIES, MENU_EN, MENU_UK, Person, World, buttons, texts

pytestmark = pytest.mark.asyncio(loop_scope="package")

NATIONAL_LINES = ("112", "102", "103", "1547", "116 123", "116 111", "7333", "1545")


def has_menu(person: Person, menu: list[str]) -> bool:
    """The main menu is on the reply keyboard (other buttons may come with later features)."""
    return set(menu) <= set(person.keyboard)


def button_like(person: Person, part: str) -> str:
    """The full text of the newest visible button that contains ``part``."""
    for text in person.buttons:
        if part in text:
            return text
    raise AssertionError(f"no button like {part!r}; visible: {person.buttons}")


async def test_start_asks_language_then_community_then_shows_the_menu(world: World) -> None:
    person = await world.person("Олена")
    [greeting] = await person.say("/start")
    assert "Вітаю" in message_text(greeting) and "Оберіть, будь ласка, мову" in message_text(greeting)
    assert buttons(greeting) == ["🇺🇦 Українська", "🇬🇧 English"]

    changed = await person.tap("🇺🇦 Українська", new=1)
    question = changed[-1]
    assert message_text(person.message(greeting["message_id"])) == "Мова: 🇺🇦 Українська"
    assert not buttons(person.message(greeting["message_id"]))  # the language buttons are gone
    assert message_text(question) == "У якій громаді ви живете?"
    assert buttons(question) == list(COMMUNITIES["uk"].values()) or sorted(buttons(question)) == sorted(
        COMMUNITIES["uk"].values()
    )

    changed = await person.tap("Луцька громада", new=2)
    menu, offer = [m for m in changed if m["message_id"] != question["message_id"]][-2:]
    assert "новини громади" in message_text(offer) and "⬜ Події громади" in buttons(offer)
    assert message_text(person.message(question["message_id"])).startswith("Громада: Луцька")
    assert "Ось меню" in message_text(menu) and "Луцька" in message_text(menu)
    assert has_menu(person, MENU_UK)
    resident = await world.services.residents.get(person.id)
    assert (resident.locale, resident.community) == ("uk", "lutsk")


async def test_second_start_greets_again_and_shows_the_menu(world: World) -> None:
    person = await world.resident("volodymyr")
    hello, menu = await person.say("/start", count=2)
    assert "Вітаю знову" in message_text(hello)
    assert "Головне меню" in message_text(menu) and "Володимир" in message_text(menu)
    assert has_menu(person, MENU_UK)


async def test_browse_by_life_situation_to_a_service_card_and_back(world: World) -> None:
    person = await world.resident("lutsk")
    [find] = await person.say("🧭 Знайти допомогу")
    assert "Як вам зручніше шукати?" in message_text(find)
    assert buttons(find) == ["📋 За життєвою ситуацією", "👥 Кому потрібна допомога", "🏛 За установою", "🏠 Меню"]

    [situations] = await person.tap("📋 За життєвою ситуацією")
    assert situations["message_id"] == find["message_id"]  # the screen changes in place
    assert "Що сталося?" in message_text(situations)
    assert "Літня людина потребує догляду" in buttons(situations)
    assert buttons(situations)[-2:] == ["◀️ Назад", "🏠 Меню"]

    [services] = await person.tap("Літня людина потребує догляду")
    assert "Літня людина потребує догляду" in message_text(services)
    assert "Ось що може допомогти" in message_text(services)

    [card] = await person.tap(button_like(person, "Допомога вдома"))
    text = message_text(card)
    assert "Хто може отримати" in text and "Як отримати" in text and "Хто надає" in text
    assert "<b>Хто може отримати</b>" in card["html"]  # shown in bold
    assert "Територіальний центр" in text
    assert "Контакти уточнюються." in text  # the programme names no contacts and none are invented
    assert any(b.startswith("🏛 ") for b in buttons(card))

    [back] = await person.tap("◀️ Назад")
    assert "Ось що може допомогти" in message_text(back)
    [menu] = await person.tap("🏠 Меню", new=1)
    assert "Головне меню" in message_text(menu)
    assert has_menu(person, MENU_UK)


async def test_browse_by_who_needs_help_pages_through_the_list(world: World) -> None:
    person = await world.resident("druzhkivka")
    await person.say("🧭 Знайти допомогу")
    [groups] = await person.tap("👥 Кому потрібна допомога")
    assert "Кому потрібна допомога?" in message_text(groups)
    [children] = await person.tap("Діти та сім’ї з дітьми")
    assert "Сторінка 1 з " in message_text(children)
    assert "Далі ➡️" in buttons(children) and "⬅️ Попередня" not in buttons(children)
    pages = int(message_text(children).rsplit("Сторінка 1 з ", 1)[1].split()[0])
    assert pages >= 2

    [page2] = await person.tap("Далі ➡️")
    assert f"Сторінка 2 з {pages}" in message_text(page2)
    assert "⬅️ Попередня" in buttons(page2)
    first_service = buttons(page2)[0]
    [card] = await person.tap(first_service)
    assert "Хто надає" in message_text(card)
    [back] = await person.tap("◀️ Назад")
    assert f"Сторінка 2 з {pages}" in message_text(back)  # Back returns to the page the resident was on
    [page1] = await person.tap("⬅️ Попередня")
    assert f"Сторінка 1 з {pages}" in message_text(page1)


async def test_browse_by_institution(world: World) -> None:
    person = await world.resident("volodymyr")
    await person.say("🧭 Знайти допомогу")
    [institutions] = await person.tap("🏛 За установою")
    assert "Установи вашої громади" in message_text(institutions)
    [card] = await person.tap(buttons(institutions)[0])
    assert "Надає" in message_text(card) and "послуг" in message_text(card)
    assert buttons(card)[-2:] == ["◀️ Назад", "🏠 Меню"]
    [again] = await person.tap("◀️ Назад")
    assert "Установи вашої громади" in message_text(again)


async def test_free_text_finds_early_intervention(world: World) -> None:
    person = await world.resident("druzhkivka")
    [results] = await person.say("сину 2 роки, у нього інвалідність")
    assert "Я знайшов" in message_text(results)
    assert any("Рання допомога" in b for b in buttons(results)[:3])
    [card] = await person.tap(button_like(person, "Рання допомога"))
    assert "Рання допомога" in message_text(card) and "Хто може отримати" in message_text(card)


async def test_search_button_then_own_words(world: World) -> None:
    person = await world.resident("lutsk")
    [prompt] = await person.say("🔎 Пошук")
    assert "Напишіть своїми словами" in message_text(prompt)
    [results] = await person.say("де безкоштовно поїсти пенсіонеру")
    assert "Я знайшов" in message_text(results)


async def test_search_without_result_is_kind_and_offers_situations(world: World) -> None:
    person = await world.resident("lutsk")
    [answer] = await person.say("квантова хромодинаміка")
    assert "Вибачте" in message_text(answer)
    assert "📋 Обрати життєву ситуацію" in buttons(answer)
    [situations] = await person.tap("📋 Обрати життєву ситуацію")
    assert "Що сталося?" in message_text(situations)


async def test_emergency_button_lists_every_national_line(world: World) -> None:
    person = await world.resident("kakhovka")
    [answer] = await person.say("🆘 Екстрена допомога")
    text = message_text(answer)
    for number in NATIONAL_LINES:
        assert number in text, number
    assert "У вашій громаді" in text
    assert "🏠 Меню" in buttons(answer)


@pytest.mark.parametrize(
    ("words", "must"),
    [("чоловік б'є мене", ("112", "1547", "немає вашої провини")), ("не хочу жити", ("7333", "Ви не самі"))],
)
async def test_danger_words_put_emergency_help_first(world: World, words: str, must: tuple[str, ...]) -> None:
    person = await world.resident("volodymyr")
    first, second = await person.say(words, count=2)
    for part in must:
        assert part in message_text(first), part
    assert "Я знайшов" in message_text(second) or "Вибачте" in message_text(second)


async def test_english_flow(world: World) -> None:
    person = await world.person("Olena", language="en")
    [greeting] = await person.say("/start")
    assert message_text(greeting).startswith("Hello!")
    assert buttons(greeting) == ["🇺🇦 Українська", "🇬🇧 English"]
    changed = await person.tap("🇬🇧 English", new=1)
    assert message_text(person.message(greeting["message_id"])) == "Language: 🇬🇧 English"
    assert message_text(changed[-1]) == "Which community do you live in?"
    assert sorted(buttons(changed[-1])) == sorted(COMMUNITIES["en"].values())
    changed = await person.tap("Lutsk community", new=2)
    assert "Here is the menu" in message_text(changed[-2]) and "news" in message_text(changed[-1])
    assert has_menu(person, MENU_EN)

    [find] = await person.say("🧭 Find help")
    assert buttons(find)[:3] == ["📋 By life situation", "👥 By who needs help", "🏛 By institution"]
    [situations] = await person.tap("📋 By life situation")
    assert "What happened?" in message_text(situations)
    assert buttons(situations)[-2:] == ["◀️ Back", "🏠 Menu"]
    [emergency] = await person.say("🆘 Emergency help")
    assert "112" in message_text(emergency) and "In your community" in message_text(emergency)
    [help_] = await person.say("/help")
    assert "How to use this bot" in message_text(help_)


async def test_commands_cancel_help_and_menu(world: World) -> None:
    person = await world.resident("lutsk")
    await person.say("🔎 Пошук")
    [answer] = await person.say("/cancel")
    assert "зупинив" in message_text(answer)
    [answer] = await person.say("/cancel")
    assert "нічого не триває" in message_text(answer)
    [help_] = await person.say("/help")
    assert "Як користуватися ботом" in message_text(help_)
    [help_button] = await person.say("❓ Як користуватися")
    assert message_text(help_button) == message_text(help_)
    await person.say("🧭 Знайти допомогу")
    await person.tap("📋 За життєвою ситуацією")
    [menu] = await person.say("/menu")
    assert "Головне меню" in message_text(menu) and "Луцька" in message_text(menu)
    assert has_menu(person, MENU_UK)


async def test_settings_change_language_and_community(world: World) -> None:
    person = await world.resident("lutsk")
    [settings] = await person.say("⚙️ Налаштування")
    assert "Мова: 🇺🇦 Українська" in message_text(settings)
    assert "Громада: Луцька" in message_text(settings)
    assert buttons(settings)[:2] == ["🌐 Змінити мову", "🏘 Змінити громаду"]

    [choose] = await person.tap("🌐 Змінити мову", new=1)
    assert "Оберіть, будь ласка, мову" in message_text(choose)
    changed = await person.tap("🇬🇧 English", new=1)
    assert message_text(person.message(choose["message_id"])) == "Language: 🇬🇧 English"
    assert "Here is the menu" in message_text(changed[-1])
    assert has_menu(person, MENU_EN)
    [settings] = await person.say("⚙️ Settings")
    assert "Language: 🇬🇧 English" in message_text(settings)

    [communities] = await person.tap("🏘 Change community", new=1)
    assert sorted(buttons(communities)) == sorted(COMMUNITIES["en"].values())
    changed = await person.tap("Kakhovka community", new=1)
    assert "Kakhovka" in message_text(changed[-1])
    resident = await world.services.residents.get(person.id)
    assert (resident.locale, resident.community) == ("en", "kakhovka")


async def test_forged_button_data_gets_a_polite_answer(world: World) -> None:
    person = await world.resident("lutsk")
    [find] = await person.say("🧭 Знайти допомогу")
    forged = ("n:svc:no-such-service:0", "n:sit:nope:0", "garbage", "p:lang:ru", "p:comm:atlantis", "n:sits::x", "n")
    for data in forged:
        answer = await person.forge(find, data)
        assert answer["answered"], data
        assert "застаріла" in answer.get("text", "") or "Не вдалося" in answer.get("text", ""), (data, answer)
    resident = await world.services.residents.get(person.id)
    assert (resident.locale, resident.community) == ("uk", "lutsk")
    [emergency] = await person.say("🆘 Екстрена допомога")  # nothing broke
    assert "112" in message_text(emergency)
    [situations] = await person.tap("📋 За життєвою ситуацією")  # the old screen still works
    assert "Що сталося?" in message_text(situations)


@pytest.mark.parametrize(
    "text",
    [
        "<b>x</b><script>alert(1)</script>",
        "<b>догляд</b> <script>alert(1)</script> &amp; <a href='x'>",
        "a < b & c > d",
    ],
)
async def test_markup_in_user_text_is_not_a_problem(world: World, text: str) -> None:
    person = await world.resident("lutsk")
    answers = await person.say(text)
    assert answers
    for answer in answers:
        assert "<script>" not in answer["html"]
    await person.say("🔎 Пошук")
    answers = await person.say(text)  # the same words inside the search dialog
    assert answers and all("<script>" not in a["html"] for a in answers)


async def test_very_long_text_is_handled(world: World) -> None:
    person = await world.resident("lutsk")
    long_text = ("догляд вдома для бабусі " * 250)[:5000]
    with pytest.raises(SandboxError, match="message is too long"):  # Telegram takes at most 4096 characters
        await world.client.send_text(person.id, long_text)
    # so a Telegram app sends 5000 characters as two messages, and the bot answers both
    first = await person.say(long_text[:4096])
    second = await person.say(long_text[4096:])
    for answer in first + second:
        assert 1 <= len(message_text(answer)) <= 4096
    assert "Я знайшов" in message_text(first[-1])
    assert all(texts(first + second))
