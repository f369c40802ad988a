"""Request flows through the Dispatcher: idempotency by update id, reminders, validation of input."""
from __future__ import annotations

from aiogram.types import CallbackQuery, Update

from bot.requests.models import Draft
from bot.runtime.housekeeping import remind
from bot.storage.db import utcnow
from dialogs.resident.inputs import normalise_phone
from tests.support.harness import started


def test_ukrainian_phone_numbers():
    assert normalise_phone("067 123 45 67") == "+380671234567"
    assert normalise_phone("+38 (067) 123-45-67") == "+380671234567"
    assert normalise_phone("380671234567") == "+380671234567"
    for wrong in ("12345", "+1 202 555 0100", "067 123 45 6", "телефон", "0671234567890"):
        assert normalise_phone(wrong) is None


async def fill_form(harness, person):
    answers = await person.say("📝 Попросити допомогу")
    assert "Перш ніж надіслати звернення" in answers[0].text
    answers = await person.tap(answers[0], "Погоджуюся")
    topic = answers[-1]
    answers = await person.tap(topic, "Літня людина потребує догляду")
    answers = await person.tap(answers[-1], "Для себе")
    answers = await person.say("Мамі потрібна допомога вдома")
    answers = await person.tap(answers[-1], "Далі")
    answers = await person.say("💬 Лише тут, у чаті")
    return answers[-1]


async def test_the_same_confirmation_twice_creates_one_request(harness):
    person, _ = await started(harness, 601, "lutsk")
    summary = await fill_form(harness, person)
    assert "Перевірте" in summary.text
    data = summary.callback("Надіслати")
    query = CallbackQuery(id="q1", from_user=person.user, chat_instance="ci", data=data,
                          message=harness._message(summary, person))
    update = Update(update_id=987654, callback_query=query)
    await harness.app.dispatcher.feed_update(harness.bot, update)
    await harness.app.dispatcher.feed_update(harness.bot, update)  # polling handed it again after a crash
    assert await harness.app.services.requests.count_for_resident(601) == 1


async def test_phone_is_validated_in_the_form(harness):
    person, _ = await started(harness, 602, "lutsk")
    answers = await person.say("📝 Попросити допомогу")
    answers = await person.tap(answers[0], "Погоджуюся")
    answers = await person.tap(answers[-1], "Не знаю")
    answers = await person.tap(answers[-1], "Для моєї дитини")
    answers = await person.say("Потрібна порада")
    answers = await person.tap(answers[-1], "Далі")
    assert "Як фахівець може з вами зв’язатися?" in answers[-1].text
    assert "📱 Поділитися моїм номером" in answers[-1].buttons
    await person.say("☎️ Написати номер")
    [wrong] = await person.say("12345")
    assert "Не вдалося розпізнати" in wrong.text
    answers = await person.say("050 111 22 33")
    assert "+380501112233" in answers[-1].text and "Перевірте" in answers[-1].text


async def test_too_long_description_is_refused_politely(harness):
    person, _ = await started(harness, 603, "lutsk")
    answers = await person.say("📝 Попросити допомогу")
    answers = await person.tap(answers[0], "Погоджуюся")
    answers = await person.tap(answers[-1], "Не знаю")
    await person.tap(answers[-1], "Для себе")
    [answer] = await person.say("дуже довго " * 400)
    assert "довше за 3000 символів" in answer.text


async def test_without_consent_nothing_is_stored(harness):
    person, _ = await started(harness, 604, "lutsk")
    answers = await person.say("📝 Попросити допомогу")
    [answer] = await person.tap(answers[0], "Ні, дякую")
    assert "нічого не збережено" in answer.text
    assert not await harness.app.services.residents.has_consent(604, 1)


async def test_reminders_announce_late_requests_once(harness):
    services = harness.app.services
    await services.groups.create_bind_code("lutsk", "tcso", 1)
    request = await services.requests.create(Draft(community="lutsk", resident_id=700, service_id="home-care",
                                                   description="x"))
    await services.db.execute("UPDATE requests SET created_at = '2020-01-01T00:00:00+00:00' WHERE id = ?",
                              (request.id,))
    assert await remind(services) == 1
    rows = await services.db.fetchall("SELECT kind, target FROM outbox WHERE request_id = ? ORDER BY id",
                                      (request.id,))
    assert [(r["kind"], r["target"]) for r in rows][-2:] == [("group_notice", "institution:lutsk/tcso"),
                                                             ("admin_notice", "admins")]
    assert await remind(services) == 0  # not again until the reminder period passes


async def test_daily_housekeeping_forgets_old_update_ids(harness):
    from bot.runtime.housekeeping import daily

    db = harness.app.services.db
    await db.execute("INSERT INTO processed_updates (update_id, at) VALUES (1, '2020-01-01T00:00:00+00:00')")
    await db.execute("INSERT INTO processed_updates (update_id, at) VALUES (2, ?)", (utcnow(),))
    await daily(harness.app.services)
    rows = await db.fetchall("SELECT update_id FROM processed_updates")
    assert [r["update_id"] for r in rows] == [2]
