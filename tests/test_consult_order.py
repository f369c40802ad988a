"""A consultation's last messages and its end, handled out of Telegram's order.

The bot handles updates side by side (after a restart, a whole batch at once), so the resident's «end» can be
handled before the specialist's message written just before it, or the other way round. What was written
while the consultation was open still reaches the other side; what was written after the end does not.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.consult.service import ConsultService
from bot.requests.service import RequestError, RequestService
from bot.storage.db import Database
from tests.support.clock import IN_HOURS, KYIV

GROUP, SPECIALIST, RESIDENT = -5, 9, 1


async def line(tmp_path, catalogue, now):
    db = await Database(tmp_path / "o.sqlite3").connect()
    requests = RequestService(db, catalogue, KYIV)
    consult = ConsultService(db, catalogue, KYIV, requests, clock=lambda: now["t"])
    code = await requests.groups.create_bind_code("lutsk", consult.line("lutsk", "psychological").institution_id, 1)
    await requests.groups.bind(GROUP, code, title="g", is_forum=True, user_id=SPECIALIST)
    consultation = await consult.start(RESIDENT, "lutsk", "psychological", "питання", update_id=10)
    await consult.take(GROUP, consultation.id, SPECIALIST, "психолог Ірина")
    return db, consult, consultation.id


async def relayed(db, kind: str) -> int:
    return (await db.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE kind = ?", (kind,)))["n"]


async def test_written_before_the_end_arrives_though_handled_after_it(tmp_path, catalogue) -> None:
    now = {"t": IN_HOURS}
    db, consult, cid = await line(tmp_path, catalogue, now)
    # Telegram's order: the specialist writes (update 12), the resident writes (13) and ends (14); the end is
    # handled first
    await consult.end_by_resident(RESIDENT, update_id=14)
    await consult.specialist_says(GROUP, cid, SPECIALIST, "Відповідь фахівчині", update_id=12)
    await consult.resident_says(RESIDENT, "Дякую", update_id=13)
    assert [s.text for s in await consult.transcript(cid)] == ["питання", "Відповідь фахівчині", "Дякую"]
    assert await relayed(db, "consult_to_resident") == 1 and await relayed(db, "consult_to_group") == 1
    assert (await consult.get(cid)).status == "ended"

    # written after the end: refused as before
    with pytest.raises(RequestError) as refused:
        await consult.specialist_says(GROUP, cid, SPECIALIST, "Запізно", update_id=15)
    assert refused.value.reason == "closed"
    with pytest.raises(RequestError):
        await consult.resident_says(RESIDENT, "Ще одне", update_id=16)
    # someone else in the group never had it; and a day after the end no earlier update can still come
    with pytest.raises(RequestError):
        await consult.specialist_says(GROUP, cid, SPECIALIST + 1, "Інша людина", update_id=11)
    now["t"] = IN_HOURS + timedelta(days=1, minutes=1)
    with pytest.raises(RequestError):
        await consult.specialist_says(GROUP, cid, SPECIALIST, "Через добу", update_id=11)
    assert await relayed(db, "consult_to_resident") == 1 and await relayed(db, "consult_to_group") == 1
    await db.close()


async def test_an_end_by_the_specialist_or_into_a_request_keeps_the_resident_s_last_words(tmp_path, catalogue):
    now = {"t": IN_HOURS}
    db, consult, cid = await line(tmp_path, catalogue, now)
    await consult.end_by_specialist(GROUP, cid, update_id=21)
    await consult.resident_says(RESIDENT, "Останнє питання", update_id=20)
    assert [s.text for s in await consult.transcript(cid)][-1] == "Останнє питання"
    assert await consult.for_message(RESIDENT, 22) is None  # a message after the end is not the consultation's

    other = await consult.start(RESIDENT, "lutsk", "psychological", "ще питання", update_id=30)
    await consult.take(GROUP, other.id, SPECIALIST, "психолог Ірина")
    await consult.convert(GROUP, other.id, SPECIALIST, "психолог", update_id=32)
    await consult.specialist_says(GROUP, other.id, SPECIALIST, "Відповідь перед зверненням", update_id=31)
    assert [s.text for s in await consult.transcript(other.id)][-1] == "Відповідь перед зверненням"
    await db.close()
