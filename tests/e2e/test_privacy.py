"""Privacy end to end: «Мої дані» (the export), «Видалити мої дані», and retention on the housekeeping's timer."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.requests.models import Draft
from bot.runtime import housekeeping as housekeeping_module
from bot.runtime.housekeeping import housekeeping
from sandbox.client import message_text
from tests.support.staff import file_request, group_messages, group_settled, staff_group
from tests.support.world import Person, World

pytestmark = pytest.mark.asyncio(loop_scope="package")
KYIV = ZoneInfo("Europe/Kyiv")
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=KYIV).astimezone(timezone.utc)


@pytest.fixture
def line_clock(world: World):
    """The consultation line at a working hour; restored after the test."""
    consult = world.services.consult
    original = consult.clock
    consult.clock = lambda: TUESDAY_10
    yield
    consult.clock = original


async def export(world: World, person: Person, *, open_settings: bool = True) -> tuple[str, str, dict[str, Any]]:
    """⚙️ Налаштування → 📄 Мої дані: (the caption, the text file, the JSON file). Without `open_settings`, the
    button of the settings screen already in the chat is pressed (every tap counts for the rate limit)."""
    if open_settings:
        await person.say("⚙️ Налаштування")
    text_doc, json_doc = await person.tap("📄 Мої дані", new=2)
    assert text_doc["document"]["file_name"].endswith(".txt") and json_doc["document"]["file_name"].endswith(".json")
    text = (await world.client.file_content(text_doc["document"]["file_id"])).decode("utf-8")
    data = json.loads((await world.client.file_content(json_doc["document"]["file_id"])).decode("utf-8"))
    assert "JSON" in message_text(json_doc)
    return message_text(text_doc), text, data


def kyiv(stamp: str) -> str:
    return f"{datetime.fromisoformat(stamp).astimezone(KYIV):%d.%m.%Y, %H:%M}"


async def test_my_data_when_nothing_is_stored(world: World) -> None:
    person = await world.resident("lutsk", name="Віра")
    caption, text, data = await export(world, person)
    assert "усе, що бот зберігає про вас" in caption and "🗑 Видалити мої дані" in caption
    assert "нічого не зберігається" in caption
    assert text.startswith("Мої дані в боті «Громада: допомога»")
    for line in ("Громада: Луцька", "Звернень немає.", "Консультацій немає.", "Записів немає.",
                 "Згода на обробку ваших даних: не надано", "за київським часом"):
        assert line in text, line
    assert data["telegram_user_id"] == person.id and data["profile"]["community"] == "lutsk"
    assert data["requests"] == [] and data["consultations"] == [] and data["consent"] is None


async def test_my_data_holds_everything_and_deletion_removes_only_mine(world: World, line_clock) -> None:
    group_id, staff = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Ганна")
    other = await world.resident("lutsk", name="Тарас")

    # a request with a typed phone number, a photo, a specialist's answer and an internal note
    after = await world.client.last_id(group_id)
    await person.say("📝 Попросити допомогу")
    await person.tap("✅ Погоджуюся", new=1)
    await person.tap("Літня людина потребує догляду", new=1)
    await person.tap("🙋 Для себе", new=1)
    await person.say("Бабуся Ганна Степанівна не може сама купувати ліки")
    await person.send_photo()
    await person.tap("Далі ➡️", new=1)
    await person.say("☎️ Написати номер")
    await person.say("067 123 45 67", count=2)
    assert "+380671234567" in message_text(person.received[-1])
    await person.tap("✅ Надіслати", new=1)
    card, _photo = await group_messages(world, group_id, after, count=2)
    staff.thread_id = card["message_thread_id"]
    await staff.say("/role соціальний працівник")
    await staff.tap("📝 Примітка", new=1)
    await staff.say("Примітка для колег: перевірити пільги")
    mark = person._last_id
    await staff.say("Ліки привезе соціальний робітник у середу")
    person._absorb(await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8))

    # another resident's request, which nothing below may touch
    await file_request(other, situation="Літня людина потребує догляду",
                       description="Тарасів сусід хворіє, потрібен догляд", contact="chat")
    await group_settled(world, "lutsk", "tcso")  # its card is in the group before the consultation's is awaited

    # a consultation with a transcript and a rating
    line = world.services.consult.line("lutsk", "family")
    line_group_id = group_id
    if line.institution_id != "tcso":
        line_group_id, line_staff = await staff_group(world, line.institution_id, title="Сім'я і діти")
    else:
        line_staff = Person(world.client, staff.user)
        line_staff.chat_id = group_id
    # (asked through the service: a resident who taps fast is paused by the rate limit, rightly)
    after = await world.client.last_id(line_group_id)
    await world.services.consult.start(person.id, "lutsk", "family", "Як оформити опіку над онуком?")
    world.services.wake_outbox()
    [consult_card] = await group_messages(world, line_group_id, after)
    line_staff.thread_id = consult_card["message_thread_id"]
    mark = person._last_id
    await line_staff.tap("🙋 Взяти", expect=False)
    person._absorb(await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8))
    mark = person._last_id
    await world.client.send_text(line_staff.user, "Потрібна заява до служби у справах дітей", chat_id=line_group_id,
                                 thread_id=line_staff.thread_id)
    person._absorb(await world.client.wait_bot_messages(person.chat_id, mark, 1, timeout=8))
    mark = person._last_id
    await line_staff.tap("✅ Завершити консультацію", expect=False)
    # the end (with the main menu's keyboard), then the rating's buttons
    person._absorb(await world.client.wait_bot_messages(person.chat_id, mark, 2, timeout=8))
    await person.tap("4", new=1)
    await world.services.subscriptions.set(person.id, "older", True)

    caption, text, data = await export(world, person)
    assert "нічого не зберігається" not in caption
    [request] = data["requests"]
    assert request["description"] == "Бабуся Ганна Степанівна не може сама купувати ліки"
    assert request["contact"] == {"method": "phone", "phone": "+380671234567", "name": None}
    assert request["status"] == "in_progress" and request["taken_by"] == "соціальний працівник Ірина"
    assert [f["kind"] for e in request["history"] for f in e["files"]] == ["photo"]
    assert any(e["text"] == "Ліки привезе соціальний робітник у середу" and e["by"] == "staff"
               for e in request["history"])
    [consultation] = data["consultations"]
    assert consultation["rating"] == 4 and consultation["status"] == "ended"
    assert consultation["ended_by"] == "specialist"
    assert [s["text"] for s in consultation["transcript"]] == ["Як оформити опіку над онуком?",
                                                                "Потрібна заява до служби у справах дітей"]
    assert data["consent"] is not None
    assert {"topic": "older", "subscribed": True} == {k: data["subscriptions"][0][k] for k in ("topic", "subscribed")}
    for words in ("Бабуся Ганна Степанівна", "+380671234567", "Ліки привезе соціальний робітник у середу",
                  "Як оформити опіку над онуком?", "Потрібна заява до служби у справах дітей", "Статус: У роботі",
                  "Ваша оцінка: 4 з 5", "Сім’я і діти", "фото", f"Звернення № {request['number']}",
                  f"Надіслано: {kyiv(request['created_at'])}"):
        assert words in text, words
    # nobody else's data, no internal note, no staff member's account
    whole = text + json.dumps(data, ensure_ascii=False)
    assert consultation["specialist"]  # the role and first name the resident was shown
    for foreign in ("Тарасів сусід", "перевірити пільги", str(staff.id), str(line_staff.id), str(other.id)):
        assert foreign not in whole, foreign

    # 🗑 Delete my data (on the same settings screen): the export has none of it any more; the other resident
    # keeps everything
    await person.tap("🗑 Видалити мої дані", new=1)
    [done] = await person.tap("🗑 Так, видалити")
    assert "Ваші дані видалено (очищено звернень і консультацій: 2)" in message_text(done)
    caption, text, data = await export(world, person, open_settings=False)
    assert "нічого не зберігається" in caption
    assert data["requests"] == [] and data["consultations"] == [] and data["consent"] is None
    assert data["subscriptions"] == []
    for words in ("Бабуся Ганна", "671234567", "67 123 45 67", "Ліки привезе", "опіку над онуком", "заява до служби"):
        assert words not in text + json.dumps(data, ensure_ascii=False), words
    # the anonymous counts stay
    row = await world.services.db.fetchone(
        "SELECT COUNT(*) AS n FROM requests WHERE public_id = ? AND resident_id IS NULL AND purged_at IS NOT NULL "
        "AND description IS NULL AND contact_phone IS NULL AND status = 'in_progress'", (request["number"],))
    assert row["n"] == 1

    _caption, other_text, other_data = await export(world, other)
    [kept] = other_data["requests"]
    assert kept["description"] == "Тарасів сусід хворіє, потрібен догляд" and other_data["consent"] is not None
    assert "Тарасів сусід хворіє, потрібен догляд" in other_text
    assert "Бабуся" not in other_text

    # both requests closed, so that later tests binding a group of this institution get no cards of them
    for number in (request["number"], kept["number"]):
        row = await world.services.db.fetchone("SELECT id FROM requests WHERE public_id = ?", (number,))
        await world.services.requests.finish(group_id, row["id"], staff.id, "соціальний працівник", resolved=False)
    world.services.wake_outbox()


class Clock:
    """The housekeeping's clock: a moment the test moves, and how many passes read it."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        return self.now

    async def passes(self, count: int) -> None:
        target = self.reads + count
        for _ in range(500):
            if self.reads >= target:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the housekeeping loop did not run")


async def nothing(services: Any) -> int:
    return 0


async def test_retention_purges_on_the_daily_timer(world: World, line_clock, monkeypatch) -> None:
    # only the daily part of the loop: its reminders and the consultation line's clock, run many times a second
    # here, would reach other tests' requests and groups
    monkeypatch.setattr(housekeeping_module, "remind", nothing)
    monkeypatch.setattr(housekeeping_module, "consultation_clock", nothing)
    services = world.services
    days = services.settings.retention_days
    person = await world.resident("lutsk", name="Орися")

    async def closed_request(description: str) -> int:
        request = await services.requests.create(Draft(
            community="lutsk", resident_id=person.id, situation_id="older_care", for_whom="self",
            description=description, contact_method="phone", contact_phone="+380931112233"))
        await services.db.execute("UPDATE requests SET status = 'closed', closed_at = updated_at WHERE id = ?",
                                  (request.id,))
        return request.id

    old_id = await closed_request("Давнє звернення Орисі")
    recent_id = await closed_request("Недавнє звернення Орисі")
    consultation = await services.consult.start(person.id, "lutsk", "legal", "Давнє питання Орисі")
    await services.db.execute("UPDATE consultations SET status = 'ended', ended_at = asked_at, rating = 5 "
                              "WHERE id = ?", (consultation.id,))

    today = datetime.now(timezone.utc).replace(hour=0, minute=30, second=0, microsecond=0)
    clock = Clock(today)
    stop = asyncio.Event()
    task = asyncio.create_task(housekeeping(services, stop, every=0.01, clock=clock))
    try:
        await clock.passes(2)  # the first pass of the day has purged what was due: nothing of these

        def stamp(moment: datetime) -> str:
            return moment.isoformat(timespec="seconds")

        await services.db.execute("UPDATE requests SET closed_at = ? WHERE id = ?",
                                  (stamp(today - timedelta(days=days + 1)), old_id))
        await services.db.execute("UPDATE requests SET closed_at = ? WHERE id = ?",
                                  (stamp(today - timedelta(days=days - 30)), recent_id))
        await services.db.execute("UPDATE consultations SET ended_at = ? WHERE id = ?",
                                  (stamp(today - timedelta(days=days + 30)), consultation.id))
        clock.now = today + timedelta(hours=20)
        await clock.passes(3)  # the same day: not again
        assert (await services.requests.get(old_id)).description == "Давнє звернення Орисі"

        clock.now = today + timedelta(days=1, minutes=5)  # the next day: the purge runs
        await clock.passes(3)
    finally:
        stop.set()
        await task
    old = await services.requests.get(old_id)
    assert old.description is None and old.contact_phone is None and old.resident_id is None and old.purged_at
    assert old.status.value == "closed" and old.institution_id  # the anonymous count stays
    recent = await services.requests.get(recent_id)
    assert recent.description == "Недавнє звернення Орисі" and recent.contact_phone == "+380931112233"
    ended = await services.consult.get(consultation.id)
    assert ended.resident_id is None and ended.purged_at and ended.rating == 5 and ended.status == "ended"
    assert [s.text for s in await services.consult.transcript(consultation.id)] == [None]

    _caption, text, data = await export(world, person)
    assert [r["description"] for r in data["requests"]] == ["Недавнє звернення Орисі"]
    assert data["consultations"] == [] and "Давнє" not in text
