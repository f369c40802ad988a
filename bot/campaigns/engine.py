"""The sending engine of campaigns: starts scheduled ones on time, sends to every recipient once, keeps the
administrator's progress message up to date. Every message takes a bulk turn from the process's Limiter,
so replies to residents always go first. No Telegram types: a CampaignSender turns a row into Bot API calls
and raises the outbox's errors.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Optional, Protocol

from bot.campaigns.service import Campaign, CampaignError, CampaignService, Figures
from bot.delivery.limiter import Limiter, Priority, already_paced, current_paid, current_priority
from bot.delivery.outbox import Permanent, RecipientBlocked, RetryAfter, woken

log = logging.getLogger("bot.campaigns")

MAX_ATTEMPTS = 5
BASE_DELAY = 5.0  # seconds; doubles with every failed attempt of one recipient
IN_FLIGHT = 64  # calls at once (a paid broadcast at 1000/s needs many; at 30/s one is enough)
BATCH = 500
PROGRESS_EVERY = 3.0  # seconds between edits of the progress message


class CampaignSender(Protocol):
    async def deliver(self, campaign: Campaign, user_id: int, locale: Optional[str]) -> None: ...

    async def progress(self, campaign: Campaign, figures: Figures, rate: float, eta: Optional[float]) -> None: ...

    async def on_blocked(self, user_id: int) -> None: ...


class Rate:
    """Messages per second over the last few seconds."""

    def __init__(self, span: float = 10.0):
        self.span = span
        self.times: deque[float] = deque()

    def tick(self) -> None:
        now = time.monotonic()
        self.times.append(now)
        while self.times and self.times[0] < now - self.span:
            self.times.popleft()

    def per_second(self) -> float:
        if len(self.times) < 2:
            return 0.0
        spent = time.monotonic() - self.times[0]
        return len(self.times) / max(spent, 1e-6)


class CampaignEngine:
    def __init__(self, service: CampaignService, sender: CampaignSender, limiter: Limiter, *,
                 paid_allowed: bool = False, in_flight: int = IN_FLIGHT):
        self.service = service
        self.sender = sender
        self.limiter = limiter
        self.paid_allowed = paid_allowed
        self.in_flight = in_flight
        self._wake = asyncio.Event()
        self.rates: dict[int, Rate] = {}

    def wake(self) -> None:
        """Something changed (a campaign created, paused, resumed or cancelled): look again now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        recovered = False  # done in the loop, so that a database locked at start is only a later start
        while not stop.is_set():
            self._wake.clear()
            try:
                if not recovered:
                    caught = await self.service.recover()
                    recovered = True
                    if caught:
                        log.warning("%d campaign message(s) were being sent when the bot stopped; not sent again",
                                    caught)
                for campaign in await self.service.due_to_start():
                    await self._start(campaign)
                running = await self.service.running()
                if running:
                    await self._send_some(running[0], stop)
                    continue
            except Exception:  # the engine must outlive a locked database or one bad campaign
                log.exception("campaign pass failed")
            await woken(self._wake, stop, idle)

    async def _start(self, campaign: Campaign) -> None:
        try:
            started = await self.service.start(campaign.id)
        except CampaignError:
            return  # cancelled or started meanwhile
        log.info("campaign %d started: %d recipient(s)", started.id, started.total)
        await self.report(started, force=True)

    async def _send_some(self, campaign: Campaign, stop: asyncio.Event) -> None:
        """Send one batch of the campaign (or finish it); return to look at the others and at the clock."""
        batch = await self.service.next_batch(campaign.id, BATCH)
        if not batch:
            retry_at = await self.service.next_retry_at(campaign.id)
            if retry_at is None:
                done = await self.service.finish(campaign.id)
                log.info("campaign %d done", campaign.id)
                await self.report(done, force=True)
                return
            await woken(self._wake, stop, min(max(0.0, retry_at - time.time()), 5.0))
            return
        gate = asyncio.Semaphore(self.in_flight)
        tasks: set[asyncio.Task[None]] = set()
        rate = self.rates.setdefault(campaign.id, Rate())
        paid = campaign.paid and self.paid_allowed
        priority_token = current_priority.set(Priority.BULK)
        paid_token = current_paid.set(paid)
        last_report = time.monotonic()
        try:
            for user_id, locale in batch:
                if stop.is_set() or self._wake.is_set() and await self._stopped(campaign.id):
                    break
                await gate.acquire()
                await self.limiter.acquire(user_id, Priority.BULK, paid)
                if not await self.service.mark_sending(campaign.id, user_id):
                    gate.release()
                    continue
                task = asyncio.create_task(self._one(campaign, user_id, locale, rate))
                tasks.add(task)
                task.add_done_callback(lambda t: (tasks.discard(t), gate.release()))
                if time.monotonic() - last_report >= PROGRESS_EVERY:
                    last_report = time.monotonic()
                    await self.report(campaign)
        finally:
            current_priority.reset(priority_token)
            current_paid.reset(paid_token)
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        await self.report(campaign)

    async def _stopped(self, campaign_id: int) -> bool:
        """Woken while sending: was this campaign paused or cancelled?"""
        self._wake.clear()
        current = await self.service.get(campaign_id)
        if current is None or current.status != "running":
            if current is not None:
                await self.report(current, force=True)
            return True
        return False

    async def _one(self, campaign: Campaign, user_id: int, locale: Optional[str], rate: Rate) -> None:
        service = self.service
        already_paced.set(True)  # this task's own context: the turn was taken before the row was claimed
        try:
            await self.sender.deliver(campaign, user_id, locale)
        except RetryAfter as exc:
            self.limiter.retry_after(exc.seconds)
            await service.give_back(campaign.id, user_id)
            return
        except RecipientBlocked:
            await service.mark(campaign.id, user_id, "blocked")
            await self.sender.on_blocked(user_id)  # left out of later campaigns until they write again
            rate.tick()
            return
        except Permanent as exc:
            await service.mark(campaign.id, user_id, "failed", str(exc)[:300])
            rate.tick()
            return
        except Exception as exc:  # Transient and the unexpected: retry with backoff, then give up
            row = await service.db.fetchone(
                "SELECT attempts FROM campaign_recipients WHERE campaign_id = ? AND user_id = ?",
                (campaign.id, user_id))
            attempts = row["attempts"] if row else MAX_ATTEMPTS
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
            if attempts >= MAX_ATTEMPTS:
                log.warning("campaign %d: a recipient failed after %d attempts (%s)", campaign.id, attempts,
                            type(exc).__name__)
                await service.mark(campaign.id, user_id, "failed", error)
                rate.tick()
            else:
                await service.retry_later(campaign.id, user_id, BASE_DELAY * 2 ** (attempts - 1), error)
            return
        await service.mark(campaign.id, user_id, "delivered")
        rate.tick()

    async def report(self, campaign: Campaign, force: bool = False) -> None:
        try:
            current = await self.service.get(campaign.id) or campaign
            figures = await self.service.figures(campaign.id)
            rate = self.rates.get(campaign.id, Rate()).per_second()
            eta = figures.remaining / rate if rate > 0 and current.status == "running" else None
            await self.sender.progress(current, figures, rate, eta)
        except Exception as exc:  # the progress message is a courtesy; sending goes on
            log.warning("campaign %d: progress not updated (%s)", campaign.id, type(exc).__name__)
