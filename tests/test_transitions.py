"""Two staff members press at once: one wins, the other is told who was first, and nothing is written twice.

Each pair of presses is run so that both read the request (or consultation) before either may write: the
database's write lock is held until both wait for it, as when two presses arrive in the same moment. A
transition that checked first and wrote after, without a condition in its UPDATE, lets both win here.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable

import pytest

from bot.consult.service import ConsultService
from bot.requests.models import Draft, Request, Status
from bot.requests.service import RequestError, RequestService
from bot.storage.db import Database
from tests.support.clock import IN_HOURS, KYIV

GROUP, OTHER_GROUP = -100, -200
ANNA, BORYS = 7, 8  # two staff members of one group
RESIDENT = 100


async def together(db: Database, *presses: Awaitable[Any]) -> list[Any]:
    """Run the presses as at one moment: every one of them has read what it needs and waits to write before
    the first may write. Results and refusals (RequestError) in the order given."""
    lock = db._write
    async with lock:
        tasks = [asyncio.ensure_future(press) for press in presses]
        for _ in range(1000):
            await asyncio.sleep(0)
            if len(getattr(lock, "_waiters", None) or ()) >= len(tasks) or all(t.done() for t in tasks):
                break
        waiting = len(getattr(lock, "_waiters", None) or ())
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, RequestError):
            raise result
    assert waiting == len(tasks), "the presses did not meet at the write lock"
    return results


def split(results: list[Any]) -> tuple[list[Any], list[RequestError]]:
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, RequestError)]
    return won, lost


@pytest.fixture
async def db(tmp_path):
    database = await Database(tmp_path / "t.sqlite3").connect()
    yield database
    await database.close()


@pytest.fixture
async def requests(db, catalogue):
    service = RequestService(db, catalogue, KYIV, clock=lambda: IN_HOURS)
    for chat_id, institution in ((GROUP, "tcso"), (OTHER_GROUP, "dsvp")):
        code = await service.groups.create_bind_code("lutsk", institution, created_by=1)
        await service.groups.bind(chat_id, code, title="Група", is_forum=True, user_id=ANNA)
    return service


async def new_request(service: RequestService) -> Request:
    return await service.create(Draft(community="lutsk", resident_id=RESIDENT, service_id="home-care",
                                      for_whom="self", description="Потрібна допомога вдома", contact_method="chat"))


async def events(db: Database, request_id: int, kind: str) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM request_events WHERE request_id = ? AND kind = ?",
                            (request_id, kind))
    return int(row[0])


async def outbox(db: Database, kind: str, subject: str = "request_id", subject_id: int | None = None) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) FROM outbox WHERE kind = ? AND json_extract(payload, '$.{subject}') = ?",
                            (kind, subject_id))
    return int(row[0])


async def test_two_take_at_once_one_wins_the_other_is_told_who(requests, db):
    request = await new_request(requests)
    won, lost = split(await together(db, requests.take(GROUP, request.id, ANNA, "соціальна працівниця Анна"),
                                     requests.take(GROUP, request.id, BORYS, "юрист Борис")))
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].reason == "taken_by_other" and lost[0].who == "соціальна працівниця Анна"
    stored = await requests.get(request.id)
    assert stored.assignee_id == ANNA and stored.assignee_label == "соціальна працівниця Анна"
    assert await events(db, request.id, "taken") == 1
    assert await outbox(db, "card_update", subject_id=request.id) == 1
    assert await outbox(db, "status", subject_id=request.id) == 1
    # a repeated press by the one who has it changes nothing and posts nothing
    with pytest.raises(RequestError) as again:
        await requests.take(GROUP, request.id, ANNA, "соціальна працівниця Анна")
    assert again.value.reason == "taken_by_you"
    assert await events(db, request.id, "taken") == 1 and await outbox(db, "card_update", subject_id=request.id) == 1


@pytest.mark.parametrize("first,second", [(True, False), (True, True), (False, False)])
async def test_resolve_or_close_at_once_finishes_once(requests, db, first, second):
    request = await new_request(requests)
    await requests.take(GROUP, request.id, ANNA, "Анна")
    won, lost = split(await together(db, requests.finish(GROUP, request.id, ANNA, "Анна", resolved=first),
                                     requests.finish(GROUP, request.id, BORYS, "Борис", resolved=second)))
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].reason == "closed" and lost[0].who == "Анна"
    assert won[0].status == (Status.resolved if first else Status.closed)
    finished = await events(db, request.id, "resolved") + await events(db, request.id, "closed")
    assert finished == 1
    assert await outbox(db, "finished", subject_id=request.id) == 1  # the resident is asked to rate once
    assert await outbox(db, "card_update", subject_id=request.id) == 2  # taken, finished


async def test_reopen_at_once_reopens_once(requests, db):
    request = await new_request(requests)
    await requests.take(GROUP, request.id, ANNA, "Анна")
    await requests.finish(GROUP, request.id, ANNA, "Анна", resolved=True)
    won, lost = split(await together(db, requests.reopen(GROUP, request.id, BORYS, "Борис"),
                                     requests.reopen(GROUP, request.id, ANNA, "Анна")))
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].reason == "reopened" and lost[0].who == "Борис"
    assert await events(db, request.id, "reopened") == 1
    assert await outbox(db, "status", subject_id=request.id) == 2  # taken, reopened
    # a reopen on a request that was never finished says it is still open
    other = await new_request(requests)
    with pytest.raises(RequestError) as still:
        await requests.reopen(GROUP, other.id, ANNA, "Анна")
    assert still.value.reason == "not_finished"


async def test_redirect_at_once_moves_once(requests, db):
    request = await new_request(requests)
    won, lost = split(await together(
        db, requests.redirect(GROUP, request.id, ANNA, "Анна", "dsvp", "Це питання пільг"),
        requests.redirect(GROUP, request.id, BORYS, "Борис", "ssd", "Це питання дітей")))
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].reason == "redirected" and lost[0].who == "Анна"
    assert (await requests.get(request.id)).institution_id == "dsvp"
    assert await events(db, request.id, "redirected") == 1
    assert await outbox(db, "redirected", subject_id=request.id) == 1
    cards = await db.fetchall("SELECT target FROM outbox WHERE kind = 'card' AND json_extract(payload, "
                              "'$.request_id') = ?", (request.id,))
    assert [r["target"] for r in cards] == ["institution:lutsk/tcso", "institution:lutsk/dsvp"]


async def test_close_and_redirect_at_once(requests, db):
    """Different buttons on one card: whichever is first, the other changes nothing."""
    request = await new_request(requests)
    won, lost = split(await together(db, requests.finish(GROUP, request.id, ANNA, "Анна", resolved=False),
                                     requests.redirect(GROUP, request.id, BORYS, "Борис", "dsvp", "Пільги")))
    assert len(won) == 1 and len(lost) == 1 and lost[0].reason == "closed"
    stored = await requests.get(request.id)
    assert stored.status == Status.closed and stored.institution_id == "tcso"
    assert await events(db, request.id, "redirected") == 0 and await outbox(db, "redirected",
                                                                            subject_id=request.id) == 0


async def test_the_residents_withdrawal_and_a_close_at_once(requests, db):
    request = await new_request(requests)
    won, lost = split(await together(db, requests.withdraw(RESIDENT, request.id),
                                     requests.finish(GROUP, request.id, ANNA, "Анна", resolved=True)))
    assert len(won) == 1 and len(lost) == 1 and lost[0].reason == "withdrawn"
    assert (await requests.get(request.id)).status == Status.withdrawn
    assert await events(db, request.id, "resolved") == 0 and await outbox(db, "finished", subject_id=request.id) == 0


@pytest.fixture
async def consult(db, catalogue, requests):
    service = ConsultService(db, catalogue, KYIV, requests, clock=lambda: IN_HOURS)
    code = await requests.groups.create_bind_code("lutsk", service.line("lutsk", "psychological").institution_id, 1)
    await requests.groups.bind(-300, code, title="Лінія", is_forum=True, user_id=ANNA)
    return service


LINE = -300


async def test_two_specialists_take_one_consultation(consult, db):
    consultation = await consult.start(RESIDENT, "lutsk", "psychological", "Не можу спати")
    won, lost = split(await together(db, consult.take(LINE, consultation.id, BORYS, "психолог Борис"),
                                     consult.take(LINE, consultation.id, ANNA, "психологиня Анна")))
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].reason == "taken_by_other" and lost[0].who == "психолог Борис"
    assert await outbox(db, "consult_taken", "consultation_id", consultation.id) == 1
    assert await outbox(db, "consult_card_update", "consultation_id", consultation.id) == 1
    with pytest.raises(RequestError) as again:
        await consult.take(LINE, consultation.id, BORYS, "психолог Борис")
    assert again.value.reason == "taken_by_you"
    assert await outbox(db, "consult_taken", "consultation_id", consultation.id) == 1


async def test_specialist_and_resident_end_at_once(consult, db):
    consultation = await consult.start(RESIDENT, "lutsk", "psychological", "Не можу спати")
    await consult.take(LINE, consultation.id, ANNA, "психологиня Анна")
    won, lost = split(await together(db, consult.end_by_specialist(LINE, consultation.id),
                                     consult.end_by_specialist(LINE, consultation.id),
                                     consult.end_by_resident(RESIDENT)))
    assert len(won) == 1 and len(lost) == 2 and {e.reason for e in lost} == {"closed"}
    assert await outbox(db, "consult_group_notice", "consultation_id", consultation.id) == 1
    assert await outbox(db, "consult_ended", "consultation_id", consultation.id) == 1
    assert (await consult.get(consultation.id)).ended_by == "specialist"


async def test_turn_into_a_request_twice_at_once_makes_one_request(consult, db):
    consultation = await consult.start(RESIDENT, "lutsk", "psychological", "Потрібна допомога психолога вдома")
    await consult.take(LINE, consultation.id, ANNA, "психологиня Анна")
    won, lost = split(await together(db, consult.convert(LINE, consultation.id, ANNA, "психологиня"),
                                     consult.convert(LINE, consultation.id, ANNA, "психологиня"),
                                     consult.end_by_resident(RESIDENT)))
    assert len(won) == 1 and len(lost) == 2
    row = await db.fetchone("SELECT COUNT(*) FROM requests WHERE resident_id = ?", (RESIDENT,))
    assert int(row[0]) == 1
    assert (await consult.get(consultation.id)).status == "converted"
    assert await outbox(db, "consult_converted", "consultation_id", consultation.id) == 1


async def test_transfer_twice_at_once_moves_once(consult, db):
    consultation = await consult.start(RESIDENT, "lutsk", "psychological", "Питання")
    won, lost = split(await together(db, consult.transfer(LINE, consultation.id, institution_id="dsvp"),
                                     consult.transfer(LINE, consultation.id, institution_id="ssd")))
    assert len(won) == 1 and len(lost) == 1 and lost[0].reason == "transferred"
    assert await outbox(db, "consult_transferred", "consultation_id", consultation.id) == 1
    assert await outbox(db, "consult_card", "consultation_id", consultation.id) == 2  # the first card, the move
