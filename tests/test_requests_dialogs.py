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


async def test_an_album_sent_at_once_keeps_every_photo(harness):
    """Telegram hands the photos of an album over as separate updates, usually in one batch, and the bot
    handles a batch side by side: each photo must still be added to what the others added."""
    import asyncio
    from datetime import datetime, timezone

    from aiogram.types import Chat, Message, PhotoSize

    person, _ = await started(harness, 605, "lutsk")
    answers = await person.say("📝 Попросити допомогу")
    answers = await person.tap(answers[0], "Погоджуюся")
    answers = await person.tap(answers[-1], "Не знаю")
    await person.tap(answers[-1], "Для себе")

    def photo(n: int) -> Update:
        size = PhotoSize(file_id=f"album-photo-{n}", file_unique_id=f"u{n}", width=800, height=600, file_size=90_000)
        message = Message(message_id=7000 + n, date=datetime.now(timezone.utc), media_group_id="album-1",
                          chat=Chat(id=person.user.id, type="private"), from_user=person.user, photo=[size],
                          caption="Довідка з лікарні" if n == 1 else None)
        return Update(update_id=97000 + n, message=message)

    dispatcher, bot, db = harness.app.dispatcher, harness.bot, harness.app.services.db

    async def someone_else_writing() -> None:  # the outbox, another resident: a photo's handler has to wait
        async with db.transaction():
            await asyncio.sleep(0.05)

    await asyncio.gather(someone_else_writing(), *(dispatcher.feed_update(bot, photo(n)) for n in (1, 2, 3)))
    summary = (await person.tap(harness.shown(person.user.id)[-1], "Далі"))[-1]
    answers = await person.say("💬 Лише тут, у чаті")
    summary = answers[-1]
    assert "Перевірте" in summary.text and "Довідка з лікарні" in summary.text
    assert "Додано файлів: 3" in summary.text


async def test_a_question_in_two_quick_messages_reaches_the_consultation_whole(harness):
    """An older person often sends a question in pieces, the second before the bot has answered the first; the
    bot handles updates side by side, so the second one used to be read as a second question, refused with
    «you already have an open consultation», and lost."""
    import asyncio

    from tests.support.clock import IN_HOURS

    services = harness.app.services
    services.consult.clock = lambda: IN_HOURS  # a working day, in the line's hours
    institution = services.consult.line("lutsk", "psychological").institution_id
    code = await services.groups.create_bind_code("lutsk", institution, None)
    await services.groups.bind(-100777, code, title="Психологи", is_forum=True, user_id=None)

    person, _ = await started(harness, 606, "lutsk")
    [topics] = await person.say("💬 Онлайн-консультація")
    answers = await person.tap(topics, "Психологічна підтримка")
    if "Перш ніж" in answers[-1].text:
        answers = await person.tap(answers[-1], "Погоджуюся")
    first, second = "Добрий день, мені дуже тривожно", "після переїзду не сплю вже тиждень"

    async def someone_else_writing() -> None:  # the outbox, another resident: the first message has to wait
        async with services.db.transaction():
            await asyncio.sleep(0.05)

    await asyncio.gather(someone_else_writing(), person.say(first), person.say(second))
    [consultation] = await services.consult.past_for_resident(606)
    assert [s.text for s in await services.consult.transcript(consultation.id)] == [first, second]
    assert not any("відкрита консультація" in s.text for s in harness.shown(606))
    assert harness.app.dispatcher.fsm.events_isolation.waiting() == 0  # no lock left behind
