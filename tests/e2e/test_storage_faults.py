"""The database refuses a write (another process holds its lock, the disk is full): the resident is told to
try again later, nothing half-written stays, and the same step works once the fault has passed, without a
restart. This module has a bot of its own with a short busy timeout."""
from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from sandbox.client import message_text
from tests.support.staff import group_messages, number_of, staff_group
from tests.support.world import LOOP, Person, World, last_call_seq, serving_world, settle_calls

pytestmark = pytest.mark.asyncio(loop_scope="package")
BUSY_TIMEOUT = 0.5
NOTE = "не вдалося це зберегти через технічну проблему"
SHORT_NOTE = "Не збережено через технічну проблему"
LONG = ("Мамі 80 років, вона живе сама і вже не справляється з господарством. Потрібна допомога вдома. " * 40)[:2900]


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async def short_wait(client, admin) -> dict[str, str]:
        return {"DATABASE_BUSY_TIMEOUT": str(BUSY_TIMEOUT)}

    async with serving_world(tmp_path_factory.mktemp("faults"), short_wait) as world:
        yield world


async def up_to_the_summary(person: Person, description: str) -> None:
    [consent] = await person.say("📝 Попросити допомогу")
    if "Перш ніж надіслати звернення" in message_text(consent):
        await person.tap("✅ Погоджуюся", new=1)
    await person.tap("Літня людина потребує догляду", new=1)
    await person.tap("🙋 Для себе", new=1)
    await person.say(description)
    await person.tap("Далі ➡️", new=1)
    await person.say("💬 Лише тут, у чаті", count=2)
    assert "Перевірте, будь ласка, ваше звернення" in message_text(person.received[-1])


async def rows(world: World, person: Person) -> dict[str, int]:
    db = world.services.db
    requests = (await db.fetchone("SELECT COUNT(*) FROM requests WHERE resident_id = ?", (person.id,)))[0]
    outbox = (await db.fetchone("SELECT COUNT(*) FROM outbox"))[0]
    events = (await db.fetchone("SELECT COUNT(*) FROM request_events"))[0]
    return {"requests": requests, "outbox": outbox, "events": events}


def workers_alive(world: World) -> bool:
    workers = world.services.activity.workers
    return bool(workers) and not any(task.done() for task in workers)


async def confirm_after_the_fault(world: World, person: Person, group_id: int, after: int,
                                  before: dict[str, Any]) -> None:
    """The same ✅ still works: one request, one outbox row, one card in the group."""
    accepted = (await person.tap("✅ Надіслати", new=1))[-1]
    assert "прийнято" in message_text(accepted)
    number = number_of(accepted)
    assert await rows(world, person) == {"requests": 1, "outbox": before["outbox"] + 1,
                                         "events": before["events"] + 1}
    [card] = await group_messages(world, group_id, after)
    assert f"Звернення № {number}" in message_text(card)
    await settle_calls(world.client, await last_call_seq(world.client), quiet=0.3)
    later = [m for m in await world.client.messages(group_id, since_id=after)
             if m.get("sender") == "bot" and "Звернення №" in message_text(m)]
    assert len(later) == 1
    assert workers_alive(world)


async def test_a_locked_database(world: World) -> None:
    group_id, staff = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Марія")
    await up_to_the_summary(person, "Мамі 80 років, сама вдома не справляється")
    after = await world.client.last_id(group_id)
    before = await rows(world, person)

    other = sqlite3.connect(world.services.db.path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        [sorry] = await person.tap("✅ Надіслати", new=1)
        assert NOTE in message_text(sorry)
        assert await rows(world, person) == before  # no request, no history, no outbox row
        assert workers_alive(world)
    finally:
        other.rollback()
    await confirm_after_the_fault(world, person, group_id, after, before)

    # staff in the group: a short note in the button's pop-up, nothing changed; then it works
    [card] = [m for m in await world.client.messages(group_id, since_id=after)
              if m.get("sender") == "bot" and "Звернення №" in message_text(m)]
    staff.thread_id = card["message_thread_id"]
    try:
        other.execute("BEGIN EXCLUSIVE")
        await staff.tap("🙋 Взяти", expect=False)
        assert SHORT_NOTE in staff.last_answer["text"] and staff.last_answer.get("show_alert")
        request = (await world.services.requests.for_resident(person.id))[0]
        assert request.status.value == "new"
    finally:
        other.rollback()
        other.close()
    await staff.tap("🙋 Взяти")
    assert "Ви взяли звернення" in staff.last_answer["text"]


async def test_a_full_disk(world: World) -> None:
    group_id, _ = await staff_group(world, "tcso")
    person = await world.resident("lutsk", name="Олександра")
    await up_to_the_summary(person, LONG)  # a long description needs new pages of the file
    after = await world.client.last_id(group_id)
    before = await rows(world, person)
    raw = world.services.db.conn.raw
    pages = raw.execute("PRAGMA page_count").fetchone()[0]
    # the request and its card hold ~6 KB of description each, more than the page or two that may be free
    assert raw.execute("PRAGMA freelist_count").fetchone()[0] <= 1, "free pages would take the growth"
    raw.execute(f"PRAGMA max_page_count = {pages}")
    try:
        [sorry] = await person.tap("✅ Надіслати", new=1)
        assert NOTE in message_text(sorry)
        assert await rows(world, person) == before
        assert workers_alive(world)
    finally:
        raw.execute("PRAGMA max_page_count = 1073741823")
    await confirm_after_the_fault(world, person, group_id, after, before)
