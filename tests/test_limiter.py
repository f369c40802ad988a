"""Telegram's 429 for one group holds that group only; for anything else it holds every sender. A group's own
limit is its own: the outbox claims its turns without waiting and leaves some to the answers staff get there;
answers go before the outbox's messages, and those before campaigns."""
import asyncio

import pytest
from aiogram.methods import CreateForumTopic, EditMessageText, SendMessage

from bot.delivery.limiter import Limiter, Limits, Pacer, Priority, RowTurns, Window, outbox_row
from bot.delivery.outbox import Busy
from bot.runtime.sending import LimiterMiddleware


async def test_a_groups_429_holds_only_that_group():
    limiter = Limiter(Limits(per_second=0, per_group_per_minute=20))
    limiter.retry_after(0.5, chat_id=-100)
    held = asyncio.create_task(limiter.acquire(-100))
    await asyncio.wait_for(limiter.acquire(-200), 0.2)  # another group goes on at once
    await asyncio.wait_for(limiter.acquire(42), 0.2)  # and so do residents
    assert not held.done()
    await asyncio.wait_for(held, 2)
    assert limiter.paused_for() == 0


async def test_a_429_elsewhere_holds_everyone():
    limiter = Limiter(Limits(per_second=30))
    limiter.retry_after(0.3)
    assert limiter.paused_for() > 0
    waiting = asyncio.create_task(limiter.acquire(42))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await asyncio.wait_for(waiting, 2)


# ----- a group's window: the outbox claims turns, never waits for them ----------------------------------------

def test_the_outbox_claims_a_groups_turns_and_leaves_some_to_answers():
    window = Window(20, 60.0)
    assert [window.claim(0.0, keep=2) for _ in range(18)] == [0.0] * 18
    assert window.claim(1.0, keep=2) == 59.0  # full for the outbox until the first of them is a minute old
    assert window.free_in(1.0) == 0.0  # an answer to staff there still has a turn (the reserve)
    window.times.extend([2.0, 3.0])  # two answers took it
    assert window.free_in(4.0) == 56.0
    assert window.claim(60.0, keep=2) == 0.0  # a minute later the first turn is free again
    window.waiting = 1  # an answer waits for its turn: it goes before the outbox
    assert window.free_in(200.0) > 0
    window.waiting = 0
    window.held_until = 300.0  # Telegram asked to wait
    assert window.free_in(200.0) == 100.0


async def test_one_groups_turns_are_its_own():
    limiter = Limiter(Limits(per_second=0, per_group_per_minute=3, group_reserve=1))
    assert [limiter.claim(-100) for _ in range(2)] == [0.0, 0.0]
    assert limiter.claim(-100) > 0
    assert limiter.claim(-200) == 0.0  # another group is not touched


async def test_the_pacer_serves_answers_then_notices_then_campaigns():
    pacer = Pacer(0.001)
    await pacer.turn(Priority.REPLY)  # the next turn is a little later: everyone below waits for it
    order: list[str] = []

    async def wait(name: str, priority: Priority) -> None:
        await pacer.turn(priority)
        order.append(name)

    await asyncio.gather(wait("campaign 1", Priority.BULK), wait("card", Priority.NOTICE),
                         wait("campaign 2", Priority.BULK), wait("answer", Priority.REPLY),
                         wait("staff answer", Priority.NOTICE))
    assert order == ["answer", "card", "staff answer", "campaign 1", "campaign 2"]


class Calls:
    def __init__(self) -> None:
        self.made: list[str] = []

    async def __call__(self, bot, method):
        self.made.append(type(method).__name__)
        return True


async def outbox_row_calls(middleware: LimiterMiddleware, calls: Calls, *methods) -> None:
    token = outbox_row.set(RowTurns())
    try:
        for method in methods:
            await middleware(calls, None, method)
    finally:
        outbox_row.reset(token)


async def test_a_busy_group_puts_an_outbox_row_off_before_anything_is_sent():
    limiter = Limiter(Limits(per_second=0, per_group_per_minute=4, group_reserve=1))
    middleware, calls = LimiterMiddleware(limiter), Calls()
    # a card in a forum: the topic claims the card's turn, the card uses it
    await outbox_row_calls(middleware, calls, CreateForumTopic(chat_id=-100, name="x"),
                           SendMessage(chat_id=-100, text="card"))
    await outbox_row_calls(middleware, calls, SendMessage(chat_id=-100, text="relay"))
    assert calls.made == ["CreateForumTopic", "SendMessage", "SendMessage"]
    # two turns used, one more for the outbox, then the group is busy for it: nothing is called at all
    await outbox_row_calls(middleware, calls, SendMessage(chat_id=-100, text="relay"))
    for method in (CreateForumTopic(chat_id=-100, name="y"), SendMessage(chat_id=-100, text="z"),
                   EditMessageText(chat_id=-100, message_id=1, text="edit")):
        with pytest.raises(Busy) as busy:
            await outbox_row_calls(middleware, calls, method)
        assert busy.value.seconds > 0
    assert len(calls.made) == 4
    # an answer to staff in that group still goes at once (the turn left to answers), and other chats too
    await asyncio.wait_for(middleware(calls, None, SendMessage(chat_id=-100, text="answer")), 5)
    await outbox_row_calls(middleware, calls, SendMessage(chat_id=-200, text="other group"),
                           SendMessage(chat_id=7, text="a resident"))
    assert len(calls.made) == 7


async def test_a_campaign_paces_each_private_chat_and_forgets_the_chats_written_to_long_ago():
    limiter = Limiter(Limits(per_second=0, per_chat_per_second=5))  # one message a 0.21 s to one person
    await limiter.acquire(42, Priority.BULK)
    second = asyncio.create_task(limiter.acquire(42, Priority.BULK))
    await asyncio.wait_for(limiter.acquire(43, Priority.BULK), 0.1)  # another person at once
    await asyncio.wait_for(limiter.acquire(42, Priority.REPLY), 0.1)  # an answer is not paced per chat
    await asyncio.sleep(0.05)
    assert not second.done()  # the same person waits for their turn
    await asyncio.wait_for(second, 2)
    assert list(limiter._private)[-1] == 42  # the latest last
    await asyncio.sleep(0.25)
    await limiter.acquire(44, Priority.BULK)
    assert list(limiter._private) == [44]  # the others are free again, so forgotten
