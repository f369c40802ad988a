"""Fair delivery: one target's backlog never holds up the others (bot/delivery/outbox.py).

Who is served first is decided by `Outbox.plan`; a group with no turn free answers `Busy` and is left alone,
without a worker, until it has one. The clock of the busy groups is a controlled one here.
"""
from __future__ import annotations

import pytest

from bot.delivery.outbox import Busy, Item, Outbox, Outgoing, enqueue
from bot.storage.db import Database

A, B = "institution:lutsk/tcso", "institution:lutsk/dsvp"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(tmp_path):
    database = await Database(tmp_path / "o.sqlite3").connect()
    yield database
    await database.close()


def card(row_id: int, target: str = A, **payload) -> Item:
    return Item(row_id, "card", target, row_id, {"request_id": row_id, **payload}, 0)


def outbox(parallel: int = 32, per_group: int = 8, clock: Clock | None = None) -> Outbox:
    return Outbox(None, None, parallel=parallel, per_group=per_group, clock=clock or Clock())  # type: ignore[arg-type]


def started(plan: list[list[Item]]) -> list[tuple[str, int]]:
    return [(rows[0].target, rows[0].id) for rows in plan]


def test_one_card_for_another_group_is_not_behind_500_for_one_group():
    box = outbox()
    flood = [card(i) for i in range(1, 501)]
    other = card(501, B)
    # with a single slot free the oldest goes first; with two, the other group's card is the second
    assert started(box.plan([*flood, other], free=1)) == [(A, 1)]
    assert started(box.plan([*flood, other], free=2)) == [(A, 1), (B, 501)]
    # while one of the flood's conversations is being served, the other group's card takes the next free slot
    assert started(box.plan([*flood, other], running=[flood[0].conversation], free=1)) == [(B, 501)]
    # one group never takes more than its share of the workers, however much waits for it
    chosen = box.plan([*flood, other], free=32)
    assert sum(1 for rows in chosen if rows[0].target == A) == 8 and (B, 501) in started(chosen)


def test_urgent_cards_and_staff_answers_go_before_ordinary_rows_and_reminders_last():
    box = outbox()
    ordinary = [card(i) for i in range(1, 11)]
    reminder = Item(11, "group_notice", B, 11, {"request_id": 11, "notice": "reminder"}, 0)
    urgent = card(12, urgent=True)
    answer = Item(13, "reply", "resident:7", 3, {"request_id": 3, "event_id": 1}, 0)
    plan = box.plan([reminder, *ordinary, urgent, answer], free=20)
    assert started(plan)[:2] == [(A, 12), ("resident:7", 13)]
    assert started(plan)[-1] == (B, 11)
    assert started(box.plan([reminder, *ordinary], free=1)) == [(A, 1)]


def test_a_conversation_keeps_its_order_and_is_as_urgent_as_its_most_urgent_row():
    box = outbox()
    first = Item(1, "card", A, 50, {"request_id": 50}, 0)
    then = Item(2, "relay_to_group", A, 50, {"request_id": 50, "urgent": True}, 0)
    others = [card(i) for i in range(3, 9)]
    plan = box.plan([then, *others, first], free=1)
    assert [[row.id for row in rows] for rows in plan] == [[1, 2]]


def test_a_resident_has_one_conversation_at_a_time():
    box = outbox()
    rows = [Item(1, "status", "resident:7", 1, {"request_id": 1}, 0),
            Item(2, "reply", "resident:7", 1, {"request_id": 1, "event_id": 1}, 0)]
    assert [[r.id for r in rows] for rows in box.plan(rows, free=5)] == [[1, 2]]
    assert box.plan(rows, running=["resident:7"], free=5) == []


class Sender:
    """Group A has `turns` turns; after them its rows are put off, as the limiter does when a group is busy."""

    def __init__(self, turns: int) -> None:
        self.turns = turns
        self.delivered: list[Item] = []
        self.tried: list[int] = []

    async def deliver(self, item: Item) -> None:
        self.tried.append(item.id)
        if item.target == A:
            if self.turns == 0:
                raise Busy(60.0, -100)
            self.turns -= 1
        self.delivered.append(item)

    async def on_held(self, item, reason, chat_id):
        raise AssertionError("nothing is held here")

    async def on_blocked(self, item):
        raise AssertionError("nobody blocked the bot here")


async def queue(db: Database, target: str, count: int, kind: str = "card", start: int = 1) -> None:
    async with db.transaction() as conn:
        await enqueue(conn, [Outgoing(kind, target, {"request_id": start + k}) for k in range(count)])


async def test_a_busy_group_waits_without_a_worker_and_loses_nothing(db):
    clock = Clock()
    sender = Sender(turns=18)
    box = Outbox(db, sender, per_group=8, clock=clock)
    await queue(db, A, 500)
    await queue(db, B, 1, start=1000)
    sent = 0
    for _ in range(3):
        sent += await box.process_once()
    assert sent == 19 and (await box.counts()) == {"sent": 19, "pending": 482}
    assert any(item.target == B for item in sender.delivered)
    assert A in box.busy  # put off: nothing of it is even read until the group has a turn
    tried = len(sender.tried)
    await queue(db, B, 1, start=2000)  # a row for another group meanwhile goes at once
    assert await box.process_once() == 1 and len(sender.tried) == tried + 1
    # put off is not a failure: no attempt counted, nothing rescheduled, order kept
    rows = await db.fetchall("SELECT attempts, last_error, in_flight_since FROM outbox WHERE status = 'pending'")
    assert {(r["attempts"], r["last_error"], r["in_flight_since"]) for r in rows} == {(0, None, None)}
    clock.now += 61  # the group has turns again
    sender.turns = 500
    while await box.process_once():
        pass
    assert (await box.counts()) == {"sent": 502}
    ids = [item.payload["request_id"] for item in sender.delivered if item.target == A]
    assert sorted(ids) == list(range(1, 501)) and len(ids) == 500  # every card once


async def test_due_rows_leave_room_for_other_targets(db):
    box = Outbox(db, Sender(turns=0), clock=Clock())
    await queue(db, A, 300)
    await queue(db, B, 1, start=1000)
    due = await box.due(limit=100, per_target=64)
    assert sum(1 for item in due if item.target == A) == 64 and any(item.target == B for item in due)
    box.busy[A] = box.clock() + 10
    assert {item.target for item in await box.due()} == {B}
