"""Telegram's 429 for one group holds that group only; for anything else it holds every sender."""
import asyncio

from bot.delivery.limiter import Limiter, Limits


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
