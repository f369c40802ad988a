"""«Видалити мої дані» end to end: the staff group stops showing the resident's words, and the database holds
nothing that names them."""
from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from sandbox.client import message_text
from tests.support.staff import group_messages, staff_group
from tests.support.world import World

pytestmark = pytest.mark.asyncio(loop_scope="package")
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Kyiv")).astimezone(timezone.utc)


@pytest.fixture
def line_clock(world: World):
    consult = world.services.consult
    original = consult.clock
    consult.clock = lambda: TUESDAY_10
    yield
    consult.clock = original


async def sent_out(world: World, kind: str) -> None:
    """Until the outbox has no row of `kind` waiting (a bounded wait, not a measured one)."""
    world.services.wake_outbox()
    for _ in range(400):
        row = await world.services.db.fetchone(
            "SELECT COUNT(*) FROM outbox WHERE kind = ? AND status IN ('pending', 'held')", (kind,))
        if row[0] == 0:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"the outbox still holds {kind}")


async def visible(world: World, chat_id: int) -> str:
    return "\n".join(message_text(m) + json.dumps(m.get("photo") or "", ensure_ascii=False)
                     for m in await world.client.messages(chat_id))


async def test_deletion_reaches_the_staff_group_and_leaves_nothing(world: World, line_clock) -> None:
    group_id, staff = await staff_group(world, "tcso", title="Працівники центру")
    person = await world.resident("lutsk", name="Соломія")
    words = ["Соломійчина", "пральна", "машинка", "зламалася"]
    description = "Соломійчина пральна машинка зламалася, живу сама"

    # a request with a typed phone, a description and a photo
    after = await world.client.last_id(group_id)
    await person.say("📝 Попросити допомогу")
    await person.tap("✅ Погоджуюся", new=1)
    await person.tap("Літня людина потребує догляду", new=1)
    await person.tap("🙋 Для себе", new=1)
    await person.say(description)
    await person.send_photo()
    await person.tap("Далі ➡️", new=1)
    await person.say("☎️ Написати номер")
    await person.say("063 765 43 21", count=2)
    await person.tap("✅ Надіслати", new=1)
    card, photo = await group_messages(world, group_id, after, count=2)
    thread = card["message_thread_id"]
    assert description in message_text(card) and photo.get("photo")
    number = (await world.services.requests.for_resident(person.id))[0].public_id

    # a consultation (its card in the line's group), and a booked time
    services = world.services
    line = services.consult.line("lutsk", "legal")
    line_group = group_id
    if line.institution_id != "tcso":
        line_group, _line_staff = await staff_group(world, line.institution_id, title="Юристи")
    after = await world.client.last_id(line_group)
    consultation = await services.consult.start(person.id, "lutsk", "legal", "Соломійчина спадщина після чоловіка")
    services.wake_outbox()
    [consult_card] = await group_messages(world, line_group, after)
    assert "Соломійчина спадщина" in message_text(consult_card)
    [slot, *_rest] = await services.consult.free_slots("lutsk", "family")
    await services.consult.book(person.id, "lutsk", "family", slot)

    # a half-written second request: a description typed, then the resident went to the settings
    await person.say("📝 Попросити допомогу")
    await person.tap("Літня людина потребує догляду", new=1)
    await person.tap("🙋 Для себе", new=1)
    await person.say("Соломійчина чернетка про сусідку")
    draft = await services.db.fetchone("SELECT data FROM fsm_state WHERE key LIKE ?", (f"%:{person.id}:{person.id}:%",))
    assert "чернетка" in draft["data"]

    await person.say("⚙️ Налаштування")
    await person.tap("🗑 Видалити мої дані", new=1)
    [done] = await person.tap("🗑 Так, видалити")
    assert "Ваші дані видалено" in message_text(done)
    await sent_out(world, "card_erased")
    await sent_out(world, "card")

    # the staff group: the request's topic is gone (with the photo), its card posted anew without the data,
    # saying why; the consultation's topic is gone too
    groups = {g["id"]: g for g in (await world.client.state())["groups"]}
    assert thread not in [t["message_thread_id"] for t in groups[group_id].get("topics", [])]
    shown = await visible(world, group_id) + await visible(world, line_group)
    # the phone in any form; «063» only as a word of its own (a random bind code may hold those letters)
    assert not re.search(r"(?<![0-9A-Za-z])063(?![0-9A-Za-z])", shown)
    for word in words + ["765 43 21", "0637654321", "+380637654321", "спадщина"]:
        assert word not in shown, word
    erased = [m for m in await world.client.messages(group_id)
              if f"Звернення № {number}" in message_text(m) and "на прохання мешканця" in message_text(m)]
    assert erased, "the request's card does not say the data were deleted"
    assert [b["text"] for row in erased[-1]["reply_markup"]["inline_keyboard"] for b in row] == ["☑️ Закрити"]

    # the database: no column holds the resident's id, the phone or the words
    markers = [str(person.id), "637654321", "Соломі", "пральна", "спадщина", "чернетка про сусідку"]
    tables = [r["name"] for r in await services.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
    found = []
    for table in tables:
        for column in [c["name"] for c in await services.db.fetchall(f"PRAGMA table_info('{table}')")]:
            for marker in markers:
                row = await services.db.fetchone(
                    f"SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE ?", (f"%{marker}%",))
                if row[0]:
                    found.append((table, column, marker))
    # only the account the bot goes on answering in the chosen language
    assert found == [("residents", "user_id", str(person.id))], found
    assert (await services.consult.get(consultation.id)).purged_why == "resident"

    # the staff can still close the request from its new card
    row = await services.db.fetchone("SELECT id FROM requests WHERE public_id = ?", (number,))
    await services.requests.finish(group_id, row["id"], staff.id, "соціальний працівник", resolved=False)
    services.wake_outbox()
