"""Pacing of everything the bot sends, so that Telegram never has to say "too many requests".

Telegram's limits (Bot API FAQ): about 30 messages a second overall, about one a second to one chat,
20 a minute to one group; paid broadcasts may go up to 1000 a second. One `Limiter` serves the whole
process, and its turns go by priority: answers to what someone just did (a resident's step, a staff
member's action in their group) first, then what the outbox delivers (cards, staff answers, relays,
notices), then campaigns, which use what the others leave and never delay them by more than one turn.

The global budget is a pacer, not a bucket with a burst: turns are spaced evenly by
1 / (rate × (1 − margin)), which keeps any one-second window under the limit even when a message
reaches Telegram a few milliseconds late. A group's own limit is a window of its last sends and holds
that group only. The outbox never waits in a busy group's window: it asks `claim` first and is told
how long to put the group's rows off, and it leaves `group_reserve` of every group's minute to the
answers staff get there. Nothing here knows Telegram types.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Optional

log = logging.getLogger("bot.limiter")


class Priority(IntEnum):
    REPLY = 0  # answers to someone's own action: a resident's step, staff in their groups
    NOTICE = 1  # what the outbox delivers: cards, staff answers, relays, notices
    BULK = 2  # campaigns: whatever budget the others leave


# What the current task is sending: the campaign engine sets BULK around its calls.
current_priority: contextvars.ContextVar[Priority] = contextvars.ContextVar("send_priority", default=Priority.REPLY)
# Set by a caller that took the turn itself before the call (the campaign engine paces before it claims a row).
already_paced: contextvars.ContextVar[bool] = contextvars.ContextVar("send_paced", default=False)
# A paid broadcast may use the higher overall rate (it still obeys the per-chat limit).
current_paid: contextvars.ContextVar[bool] = contextvars.ContextVar("send_paid", default=False)


@dataclass
class RowTurns:
    """Set by the outbox around one row: before the row's first call nothing has reached anyone, so a busy
    group may put the row off instead of keeping a worker waiting; `claimed` are the group's turns
    `Limiter.claim` took for the calls that follow."""

    begun: bool = False
    claimed: dict[int, int] = field(default_factory=dict)


outbox_row: contextvars.ContextVar[Optional[RowTurns]] = contextvars.ContextVar("outbox_row", default=None)


@dataclass(frozen=True)
class Limits:
    per_second: float = 30.0  # overall; 0 switches the overall limit off
    per_chat_per_second: float = 1.0  # one private chat; applied to bulk messages (replies may burst a little)
    per_group_per_minute: float = 20.0  # one group or supergroup; 0 switches it off
    paid_per_second: float = 1000.0  # overall, for paid broadcasts
    margin: float = 0.04  # share of the limit kept free for timing jitter
    group_reserve: int = 2  # of a group's minute, turns the outbox leaves to the answers staff get there


class Pacer:
    """Evenly spaced turns; waiting replies are served first, then notices, then bulk messages."""

    def __init__(self, interval: float):
        self.interval = interval
        self._next = 0.0
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = tuple(deque() for _ in Priority)
        self._timer: Optional[asyncio.TimerHandle] = None

    def hold(self, until: float) -> None:
        """No turn before `until` (loop time): Telegram asked to wait."""
        self._next = max(self._next, until)

    async def turn(self, priority: Priority) -> None:
        if self.interval <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._next and not any(self._waiting):
            self._next = now + self.interval
            return
        future: asyncio.Future[None] = loop.create_future()
        self._waiting[priority].append(future)
        self._arm(loop)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._next -= self.interval  # the turn was given but not used: hand it back
            raise

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is None:
            self._timer = loop.call_at(self._next, self._release, loop)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        if now < self._next:  # held meanwhile
            self._arm(loop)
            return
        for queue in self._waiting:
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    # a timer that fires a little late does not push every later turn back
                    base = self._next if now - self._next < self.interval else now
                    self._next = base + self.interval
                    if any(self._waiting):
                        self._arm(loop)
                    return

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting)


class Window:
    """At most `count` messages in any `span` seconds (Telegram's per-chat and per-group limits allow
    short bursts): a log of the last `count` send times. Answers waiting in `turn` go before the
    outbox, which only takes a turn through `claim` when nobody waits and more than `keep` are free."""

    def __init__(self, count: int, span: float):
        self.count = count
        self.span = span
        self.times: deque[float] = deque(maxlen=count)
        self.held_until = 0.0  # Telegram asked to wait before writing to this chat again
        self.waiting = 0  # answers waiting in `turn`

    async def turn(self) -> None:
        loop = asyncio.get_running_loop()
        self.waiting += 1
        try:
            while True:
                now = loop.time()
                if now < self.held_until:
                    await asyncio.sleep(self.held_until - now)
                    continue
                if len(self.times) < self.count or now - self.times[0] >= self.span:
                    self.times.append(now)
                    return
                await asyncio.sleep(self.times[0] + self.span - now)
        finally:
            self.waiting -= 1

    def free_in(self, now: float, need: int = 1, keep: int = 0) -> float:
        """Seconds until `need` turns (0: a call that sends no message) fit with `keep` turns left over;
        0.0 when they fit now."""
        if now < self.held_until:
            return self.held_until - now
        if self.waiting:
            return self.span / self.count  # an answer goes first; ask again about one turn later
        limit = max(1, self.count - keep)
        recent = [t for t in self.times if now - t < self.span]
        over = len(recent) + max(need, 1) - limit
        if over <= 0:
            return 0.0
        return recent[min(over, len(recent)) - 1] + self.span - now

    def claim(self, now: float, need: int = 1, keep: int = 0) -> float:
        """Take `need` turns now if they fit (see `free_in`), never waiting; return `free_in`."""
        wait = self.free_in(now, need, keep)
        if wait <= 0:
            for _ in range(need):
                self.times.append(now)
        return wait

    def idle(self, now: float) -> bool:
        return not self.times or now - self.times[-1] >= self.span


class Limiter:
    def __init__(self, limits: Limits = Limits()):
        self.held_until = 0.0  # loop time until which Telegram asked everyone to wait
        self.turns = 0
        self.configure(limits)

    def configure(self, limits: Limits) -> None:
        """New limits from now on (messages waiting for a turn keep the old one)."""
        self.limits = limits
        self._overall = Pacer(self._interval(limits.per_second))
        self._paid = Pacer(self._interval(limits.paid_per_second))
        self._chats: dict[int, Window] = {}  # groups
        self._private: dict[int, float] = {}  # private chats: loop time of the last message, oldest first

    def _interval(self, per_second: float) -> float:
        return 0.0 if per_second <= 0 else 1.0 / (per_second * (1.0 - self.limits.margin))

    def _chat(self, chat_id: int) -> Optional[Window]:
        """A group's window (None: no group limit, or a private chat, whose turns are `_private_turn`'s)."""
        limits = self.limits
        if chat_id > 0 or limits.per_group_per_minute <= 0:
            return None
        window = self._chats.get(chat_id)
        if window is None:
            if len(self._chats) > 50_000:  # forget groups that were quiet long enough to be free again
                now = asyncio.get_running_loop().time()
                self._chats = {k: w for k, w in self._chats.items() if not w.idle(now)}
            count = max(1, int(limits.per_group_per_minute))
            window = self._chats[chat_id] = Window(count, 60.0 * (1.0 + limits.margin))
        return window

    async def _private_turn(self, chat_id: int) -> None:
        """One message a `span` to a private chat. The state is the last send time of each chat, in the order of
        those times: a campaign to 100,000 people keeps only the chats written to within the last span (a window
        object for each chat, kept until 50,000 of them, was about 40 MB)."""
        per_second = self.limits.per_chat_per_second
        if per_second <= 0:
            return
        span = (1.0 / per_second) * (1.0 + self.limits.margin)
        loop = asyncio.get_running_loop()
        last_sent = self._private
        while True:
            now = loop.time()
            last = last_sent.get(chat_id)
            if last is None or now - last >= span:
                break
            await asyncio.sleep(last + span - now)
        last_sent.pop(chat_id, None)
        last_sent[chat_id] = now  # at the end: the oldest come first
        while last_sent:
            oldest = next(iter(last_sent))
            if now - last_sent[oldest] < span:
                break
            del last_sent[oldest]

    async def acquire(self, chat_id: Optional[int], priority: Optional[Priority] = None,
                      paid: Optional[bool] = None, *, chat_turn: bool = True) -> None:
        """Wait for this message's turn: first the chat's own (groups always; private chats for bulk
        messages) unless `claim` took it already (`chat_turn=False`), then the overall one."""
        priority = current_priority.get() if priority is None else priority
        paid = current_paid.get() if paid is None else paid
        if chat_turn and chat_id is not None and (chat_id < 0 or priority is Priority.BULK):
            window = self._chat(chat_id)
            if window is not None:
                await window.turn()
            elif chat_id > 0:
                await self._private_turn(chat_id)
        await (self._paid if paid and priority is Priority.BULK else self._overall).turn(priority)
        self.turns += 1

    def claim(self, chat_id: int, need: int = 1) -> float:
        """For the outbox, before the first call of a row to a group: take `need` of the group's turns at
        once if they fit, leaving `group_reserve` to the answers staff get there; otherwise take nothing
        and return the seconds to put the group's rows off (the worker does not wait in the window)."""
        window = self._chat(chat_id) if chat_id < 0 else None
        if window is None:
            return 0.0
        return window.claim(asyncio.get_running_loop().time(), need, self.limits.group_reserve)

    def retry_after(self, seconds: float, chat_id: Optional[int] = None) -> None:
        """Telegram answered 429. For a group (whose own limit of 20 a minute a restart forgets), only that group
        waits `seconds`; otherwise nobody sends for `seconds`."""
        until = asyncio.get_running_loop().time() + seconds
        window = self._chat(chat_id) if chat_id is not None and chat_id < 0 else None
        if window is not None:
            window.held_until = max(window.held_until, until)
            log.warning("Telegram asked to wait %.0f s before writing to a group again", seconds)
            return
        self.held_until = max(self.held_until, until)
        for pacer in (self._overall, self._paid):
            pacer.hold(until)
        log.warning("Telegram asked to wait %.0f s: all sending paused", seconds)

    def paused_for(self) -> float:
        return max(0.0, self.held_until - asyncio.get_running_loop().time())
