"""«Чи отримали ви допомогу?» without Telegram: when the question is asked (and when not), the answers and what they
change, the checks on a press, no answer in time, and the report's figures, all on a controlled clock."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.errors import RequestError
from bot.reports.confirmed import Confirmed, by_institution
from bot.reports.figures import Collector
from bot.reports.periods import Period
from bot.reports.text import plain, render
from bot.requests.confirmation import Confirmations
from bot.requests.models import Status
from tests.support import request_service
from tests.support.request_service import KYIV, bound, draft

db = request_service.db  # the fixtures, here for pytest to find
service = request_service.service

GROUP = -100
STAFF = 7
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday


@pytest.fixture
def clock(service):
    now = {"t": START}
    service.clock = lambda: now["t"]
    return now


@pytest.fixture
def desk(service):
    return Confirmations(service, after_days=3)


async def rows_of(db, kind):
    rows = await db.fetchall("SELECT target, payload FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [(r["target"], json.loads(r["payload"])) for r in rows]


async def resolved(service, clock, *, reply=True, resident=100, resolve=True, **values):
    """A request filed now, answered by the staff (unless not `reply`) and resolved a day later."""
    request = await service.create(draft(resident_id=resident, **values))
    await service.take(GROUP, request.id, STAFF, "соціальна працівниця")
    if reply:
        await service.reply(GROUP, request.id, STAFF, "соціальна працівниця", "Записали вас на четвер")
    clock["t"] += timedelta(days=1)
    await service.finish(GROUP, request.id, STAFF, "соціальна працівниця", resolved=resolve)
    return request


async def test_asked_once_three_days_after_the_resolution(service, desk, clock, db):
    await bound(service, chat_id=GROUP)
    request = await resolved(service, clock)
    clock["t"] += timedelta(days=2, hours=23)
    assert await desk.ask_due() == 0  # not yet
    clock["t"] += timedelta(hours=1)
    assert await desk.ask_due() == 1
    assert await desk.ask_due() == 0  # once per resolution
    [(target, payload)] = await rows_of(db, "confirmation")
    assert target == "resident:100" and payload["what"] == "ask" and payload["request_id"] == request.id


async def test_not_asked_without_an_answer_closed_anonymous_erased_or_switched_off(service, desk, clock, db):
    await bound(service, chat_id=GROUP)
    await resolved(service, clock, reply=False)  # resolved without any answer to the resident
    await resolved(service, clock, resolve=False)  # closed, not resolved
    await resolved(service, clock, kind="report", anonymous=True, situation_id="older_care", service_id=None)
    erased = await resolved(service, clock, resident=101)
    await service.delete_personal_data(101)
    clock["t"] += timedelta(days=4)
    assert await Confirmations(service, after_days=0).ask_due() == 0  # CONFIRM_AFTER_DAYS=0: never asked
    assert await desk.ask_due() == 0
    assert (await service.get(erased.id)).resident_id is None
    clock["t"] += timedelta(days=30)
    await resolved(service, clock, resident=102)
    clock["t"] += timedelta(days=3)
    assert await desk.ask_due() == 1  # the question's window: the old ones are not asked late either


async def test_yes_is_kept_and_nothing_reopens(service, desk, clock, db):
    await bound(service, chat_id=GROUP)
    request = await resolved(service, clock)
    clock["t"] += timedelta(days=3)
    await desk.ask_due()
    [(_, payload)] = await rows_of(db, "confirmation")
    cid = payload["confirmation_id"]
    with pytest.raises(RequestError) as forged:
        await desk.answer(999, cid, "no")  # someone else's question
    assert forged.value.reason == "not_found"
    with pytest.raises(RequestError):
        await desk.answer(100, cid, "maybe")
    with pytest.raises(RequestError):
        await desk.answer(100, cid + 1000, "yes")
    found = await desk.answer(100, cid, "yes")
    assert found.answer == "yes"
    with pytest.raises(RequestError) as again:
        await desk.answer(100, cid, "no")  # a repeated press changes nothing
    assert again.value.reason == "answered"
    assert (await service.get(request.id)).status == Status.resolved
    with pytest.raises(RequestError):
        await desk.words(100, cid, "слова після «так»")
    assert len(await rows_of(db, "confirmation")) == 1 and not await rows_of(db, "admin_notice")


async def test_no_reopens_tells_the_group_and_the_second_time_the_administrators(service, desk, clock, db):
    await bound(service, chat_id=GROUP)
    request = await resolved(service, clock)
    clock["t"] += timedelta(days=3)
    await desk.ask_due()
    cid = (await rows_of(db, "confirmation"))[0][1]["confirmation_id"]
    await desk.answer(100, cid, "partly")
    assert (await service.get(request.id)).status == Status.in_progress
    event_id = await desk.words(100, cid, "  Приходили лише раз, а обіцяли щотижня  ")
    with pytest.raises(RequestError):
        await desk.words(100, cid, "ще раз")
    group = [p for t, p in await rows_of(db, "confirmation") if t.startswith("institution:")]
    assert [p["what"] for p in group] == ["not_helped", "words"] and group[0]["answer"] == "partly"
    assert group[1]["event_id"] == event_id
    history = await service.history(request.id, public_only=True)
    assert history[-1].text == "Приходили лише раз, а обіцяли щотижня" and history[-2].kind == "reopened"
    assert history[-2].actor == "resident" and not await rows_of(db, "admin_notice")

    # resolved a second time, asked again, and «Ні»: the administrators are told
    clock["t"] += timedelta(days=1)
    await service.finish(GROUP, request.id, STAFF, "соціальна працівниця", resolved=True)
    clock["t"] += timedelta(days=3)
    assert await desk.ask_due() == 1
    second = [p for t, p in await rows_of(db, "confirmation") if p["what"] == "ask"][-1]["confirmation_id"]
    assert second != cid
    await desk.answer(100, second, "no")
    [(target, notice)] = await rows_of(db, "admin_notice")
    assert target == "admins" and notice["notice"] == "not_helped_again" and notice["request_id"] == request.id


async def test_a_press_after_staff_reopened_or_after_the_week_changes_nothing(service, desk, clock, db):
    await bound(service, chat_id=GROUP)
    first = await resolved(service, clock)
    second = await resolved(service, clock, resident=103)
    clock["t"] += timedelta(days=3)
    assert await desk.ask_due() == 2
    asked = {p["request_id"]: p["confirmation_id"] for _, p in await rows_of(db, "confirmation")}
    await service.reopen(GROUP, first.id, STAFF, "соціальна працівниця")
    with pytest.raises(RequestError) as late:
        await desk.answer(100, asked[first.id], "no")
    assert late.value.reason == "not_waiting"
    clock["t"] += timedelta(days=7, minutes=1)
    assert await desk.expire() == 2
    with pytest.raises(RequestError) as expired:
        await desk.answer(103, asked[second.id], "yes")
    assert expired.value.reason == "answered"
    answers = await db.fetchall("SELECT request_id, answer FROM request_confirmations ORDER BY request_id")
    assert [(r["request_id"], r["answer"]) for r in answers] == [(first.id, "void"), (second.id, "none")]


def test_the_figures_of_some_answers():
    from bot.reports.confirmed import ConfirmationRow

    rows = [ConfirmationRow("lutsk", "tcso", "yes", 2.0), ConfirmationRow("lutsk", "tcso", "yes", 6.0),
            ConfirmationRow("lutsk", "tcso", "no", 1.0), ConfirmationRow("lutsk", "cssd", "none", 3.0)]
    figures = Confirmed.of(rows)
    assert figures == Confirmed(4, 0.5, 0.25, 4.0)
    assert by_institution(rows)[("lutsk", "cssd")] == Confirmed(1, 0.0, 0.0, None)
    assert Confirmed.of([]) == Confirmed(0, None, None, None)


async def test_the_report_counts_by_the_day_of_resolution_against_the_period_before(service, desk, clock, db,
                                                                                      catalogue):
    await bound(service, chat_id=GROUP)
    # February: one resolution, confirmed; March: one confirmed a day after it was sent, one reopened, one waiting
    clock["t"] = datetime(2026, 2, 10, 9, 0, tzinfo=timezone.utc)
    feb = await resolved(service, clock)
    clock["t"] = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    yes = await resolved(service, clock, resident=104)
    clock["t"] += timedelta(days=1)
    no = await resolved(service, clock, resident=105)
    waiting = await resolved(service, clock, resident=106)  # asked, not answered yet: not counted
    for moment in (datetime(2026, 2, 14, 9, 0, tzinfo=timezone.utc), datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)):
        clock["t"] = moment
        await desk.ask_due()
    asked = {p["request_id"]: p["confirmation_id"] for _, p in await rows_of(db, "confirmation")}
    assert set(asked) == {feb.id, yes.id, no.id, waiting.id}
    await desk.answer(100, asked[feb.id], "yes")
    await desk.answer(104, asked[yes.id], "yes")
    await desk.answer(105, asked[no.id], "no")
    period = Period.between(date(2026, 3, 1), date(2026, 3, 31))
    report = await Collector(db, catalogue, KYIV).report(period, "lutsk", now=clock["t"])
    assert report.current.confirmed == Confirmed(2, 0.5, 0.5, 1.0)
    assert report.previous.confirmed == Confirmed(1, 1.0, 0.0, 1.0)
    assert plain(report.current)["confirmed_share"] == 0.5
    text = "\n".join(render(report, catalogue, lambda s: s, "en"))
    assert "Help confirmed (answered «yes»): <b>50.0 %</b> (−50.0)" in text
    assert "Reopened by the resident («partly» or «no»): <b>50.0 %</b> (+50.0)" in text
    assert "Median days to confirmed help: <b>1.0 d</b> (±0.0)" in text
