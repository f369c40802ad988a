"""Residents as they really write: Russian, danger in their own words, and questions the catalogue cannot serve.

Everything goes through the sandbox, as a resident or a staff group would see it.
"""
from __future__ import annotations

import pytest

from sandbox.client import message_text
from tests.support.staff import group_messages, report_in_danger, staff_group
from tests.support.world import World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_a_russian_search_finds_help_at_home(world: World) -> None:
    person = await world.resident("lutsk", name="Галина")
    [answer] = await person.say("бабушке 85 лет, живет одна, нужна помощь по дому")
    text = message_text(answer)
    assert "Я знайшов" in text  # answered in Ukrainian, the resident's interface language
    assert "Допомога вдома" in text or any("Допомога вдома" in b for b in buttons(answer))


async def test_violence_in_russian_brings_the_emergency_screen_first(world: World) -> None:
    person = await world.resident("druzhkivka", name="Наталья")
    first, _ = await person.say("муж опять избил меня, дети все видели, что мне делать", count=2)
    text = message_text(first)
    assert text.index("102") < text.index("1545")
    for line in ("116 123", "1547"):
        assert line in text
    assert "немає вашої провини" in text


async def test_a_suicidal_phrasing_gets_7333_first(world: World) -> None:
    person = await world.resident("pervomaiskyi", name="Марина")
    messages = await person.say("я больше не могу так жить, всем будет лучше без меня", count=2)
    text = message_text(messages[0])
    first_line = text.splitlines()[0]
    assert "7333" in first_line
    assert text.index("📞 <b>7333</b>" if "<b>" in text else "📞 7333") < text.index("102")


async def test_a_report_about_a_helpless_neighbour_is_urgent_with_103_and_112(world: World) -> None:
    group_id, _ = await staff_group(world, "tcso", community="lutsk", title="Терцентр")
    person = await world.resident("lutsk", name="Сусід")
    after = await world.client.last_id(group_id)
    screen, confirmation = await report_in_danger(
        person, "👵 Літня людина", "Сусідка, бабуся 83 роки, третій день не відчиняє двері і не бере телефон")
    first_line = message_text(screen).splitlines()[0]
    assert "103" in first_line and "112" in first_line
    accepted = message_text(confirmation)
    assert "термінове" in accepted and "103" in accepted
    assert "робочих дн" not in accepted  # no "expect an answer within 3 working days" for someone in danger
    [card] = await group_messages(world, group_id, after)
    assert "ТЕРМІНОВО" in message_text(card)


async def test_a_question_the_catalogue_cannot_serve_gets_an_honest_answer(world: World) -> None:
    person = await world.resident("lutsk", name="Петро")
    [answer] = await person.say("треба ремонт даху, протікає")
    text = message_text(answer)
    assert "немає нічого для «треба ремонт даху, протікає»" in text
    assert "1545" in text
    assert "Департамент соціальної та ветеранської політики" in text  # the community's intake institution
    assert "📝 Попросити допомогу без заяви" in buttons(answer)
    assert "Я знайшов" not in text


async def test_care_at_home_where_there_is_none_names_the_intake_institution(world: World) -> None:
    person = await world.resident("volodymyr", name="Оксана")
    [answer] = await person.say("мамі 86, лежача, потрібна доглядальниця хоч на кілька годин на день")
    text = message_text(answer)
    assert "Я знайшов" not in text  # not a children's service for «лежача» and «день»
    assert "Центр соціальних служб" in text  # the community's intake institution (its short name)
    assert "📝 Попросити допомогу без заяви" in buttons(answer)


async def test_russian_typed_in_latin_letters_about_ending_life_gets_7333_first(world: World) -> None:
    person = await world.resident("kakhovka", name="Ira")
    messages = await person.say("vse, net sil zhit bolshe", count=2)
    assert "7333" in message_text(messages[0]).splitlines()[0]


async def test_a_search_typed_in_latin_letters_finds_help_at_home(world: World) -> None:
    person = await world.resident("lutsk", name="Оля")
    [answer] = await person.say("babusi potriben doglyad vdoma")
    text = message_text(answer)
    assert "Я знайшов" in text
    assert "Допомога вдома" in text or any("Допомога вдома" in b for b in buttons(answer))


async def test_a_teenager_writing_her_age_in_words_gets_7333_and_the_childrens_line(world: World) -> None:
    person = await world.resident("volodymyr", name="Аня")
    messages = await person.say("мне пятнадцать, я нашла у мамы снотворное и сегодня ночью выпью всё", count=2)
    text = message_text(messages[0])
    assert "7333" in text.splitlines()[0]
    assert "116 111" in text


async def test_violence_written_in_english_brings_the_emergency_screen_first(world: World) -> None:
    person = await world.resident("lutsk", name="Olena")
    first, _ = await person.say("my stepdad keeps punching my mum and threatened to kill her", count=2)
    text = message_text(first)
    assert text.index("102") < text.index("1545")
    assert "116 123" in text


async def test_an_english_idiom_of_killing_brings_no_emergency_screen(world: World) -> None:
    person = await world.resident("lutsk", name="Mark")
    [answer] = await person.say("the heat is killing me, are there any cooling points open in town")
    text = message_text(answer)
    assert "102" not in text and "7333" not in text
