"""The durable outbox: everything sent to someone other than the user who just wrote.

Rows are written in the same transaction as the change that causes them, then sent in order per
conversation (everything to one resident; one request's or one consultation's messages in a group) by
one worker with retries, backoff and `retry_after`. Nothing here knows Telegram types: a Sender turns a
row into Bot API calls and raises the errors below.

Fairness: no target can hold up the others. The worker serves up to `parallel` conversations at once,
at most `per_group` of them in one group (one per resident, as a resident's rows go in order). Which
conversations start first (`plan`): urgent rows (a request with words of danger) and staff answers to
residents, then ordinary rows, then reminders; within a class the targets take turns, so one group's
500 waiting cards do not come before another group's one. A group whose minute is used up (Telegram
takes 20 messages a minute there) answers the row's first call with `Busy`: nothing was sent, the row
stays as it was, and the group's rows are left alone until it has a turn again, without holding a
worker. Campaigns do not pass through here; they take the sending turns left over (bot/delivery/limiter.py).
"""
from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Iterable, Optional, Protocol

from bot.delivery.kinds import ANSWERS, BOOKING_REMINDERS, Kind, Target, is_group_target
from bot.delivery.limiter import Priority, RowTurns, current_priority, outbox_row
from bot.storage.db import Database, utcnow

log = logging.getLogger("bot.outbox")

MAX_ATTEMPTS = 8
BASE_DELAY = 2.0  # seconds; doubles with every failed attempt
MAX_DELAY = 600.0
BATCH = 200
PARALLEL_TARGETS = 32  # conversations served at once; rows of one conversation always go out in order
PER_GROUP = 8  # of them, at most this many in one staff group (its limit is the group's, not the bot's)
READ_PER_TARGET = 64  # due rows read per target and round: a flood for one target leaves room for the rest

# Which rows go first when more are due than the worker serves at once (lower first).
URGENT, ORDINARY, LATER = 0, 1, 2
LATER_NOTICES = frozenset({"reminder", "overdue"})  # announced again: an hour's difference, not a second's


# Set by the outbox while a row is being delivered: the request middleware calls it right before each Bot API
# call, so that a row whose call was under way when the process died is known as such.
before_call: contextvars.ContextVar[Optional[Callable[[], Awaitable[None]]]] = contextvars.ContextVar(
    "outbox_before_call", default=None)


class DeliveryError(Exception):
    """Base of what a Sender may raise."""


class RetryAfter(DeliveryError):
    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class RecipientBlocked(DeliveryError):
    """The resident blocked the bot: never retry."""


class NoGroup(DeliveryError):
    """The institution has no bound group yet: hold until one is bound."""


class GroupUnreachable(DeliveryError):
    """The group removed the bot or is gone: hold, tell the administrators."""

    def __init__(self, chat_id: int, reason: str):
        super().__init__(reason)
        self.chat_id = chat_id


class Defer(DeliveryError):
    """Not now, and not a failure: something else for the same group must go first (no attempt counted)."""

    def __init__(self, seconds: float, reason: str):
        super().__init__(reason)
        self.seconds = seconds


class Busy(DeliveryError):
    """Raised before the row's first call: the group it goes to has no turn free for `seconds` (its own
    limit). Nothing was sent; no attempt is counted and the row keeps its place."""

    def __init__(self, seconds: float, chat_id: Optional[int] = None):
        super().__init__(f"the group is busy for {seconds:.1f}s")
        self.seconds = seconds
        self.chat_id = chat_id


class Permanent(DeliveryError):
    """Telegram refused the content itself; retrying will not help."""


class Transient(DeliveryError):
    """A network error or a 5xx: try again later."""


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    target: str
    request_id: Optional[int]
    payload: dict[str, Any]
    attempts: int

    @property
    def conversation(self) -> str:
        """What must stay in order: everything to one resident; in a staff group, one request's or one
        consultation's messages (each has a topic of its own), so that one busy group does not queue
        every other conversation behind it."""
        if is_group_target(self.target):
            subject = self.payload.get("request_id") or self.payload.get("consultation_id")
            if subject is not None:
                kind = "c" if "consultation_id" in self.payload else "r"
                return f"{self.target}#{kind}{subject}"
        return self.target

    @property
    def urgency(self) -> int:
        """URGENT, ORDINARY or LATER (see `Outbox.plan`)."""
        if self.payload.get("urgent") or self.kind in ANSWERS:
            return URGENT
        if self.kind in BOOKING_REMINDERS or self.payload.get("notice") in LATER_NOTICES:
            return LATER
        return ORDINARY


@dataclass(frozen=True)
class Outgoing:
    """What the outbox must send when something changes; stored in the same transaction as the change."""

    kind: Kind
    target: Target
    payload: dict[str, Any]
    dedupe_key: Optional[str] = None


async def enqueue(conn: Any, items: Iterable[Outgoing], request_id: Optional[int] = None) -> None:
    """Queue rows inside the caller's transaction. They are due at once on the wall clock (the outbox works
    on real time whatever clock a service keeps its own records by)."""
    now = utcnow()
    for item in items:
        await conn.execute(
            "INSERT OR IGNORE INTO outbox (kind, target, request_id, payload, status, next_attempt_at, created_at, "
            "dedupe_key) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
            (str(item.kind), str(item.target), request_id, json.dumps(item.payload, ensure_ascii=False), now, now,
             item.dedupe_key),
        )


async def held_subjects(conn: Any, target: str) -> tuple[set[int], set[int]]:
    """The requests and the consultations whose rows for `target` are held (no group to send them to)."""
    cursor = await conn.execute(
        "SELECT DISTINCT request_id, json_extract(payload, '$.consultation_id') AS consultation_id FROM outbox "
        "WHERE target = ? AND status = 'held'", (target,))
    held = await cursor.fetchall()
    return ({r["request_id"] for r in held if r["request_id"] is not None},
            {r["consultation_id"] for r in held if r["consultation_id"] is not None})


async def release_held(conn: Any, target: str, now: str) -> None:
    """The held rows for `target` are due again (a group was bound), in the caller's transaction."""
    await conn.execute("UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE target = ? AND status = 'held'",
                       (now, target))


async def regroup_pending(db: Database, target: str) -> bool:
    """Whether the cards for a newly bound group are still being posted (the rest for `target` waits for them)."""
    row = await db.fetchone(
        "SELECT 1 FROM outbox WHERE target = ? AND kind = ? AND status = 'pending' LIMIT 1", (target, Kind.REGROUP))
    return row is not None


async def waiting_payloads(db: Database, kind: str, subject_key: str, subject: int) -> list[dict[str, Any]]:
    """The payloads of the rows of `kind` about one request or consultation (`subject_key` "request_id" or
    "consultation_id") that are still on their way (pending or held)."""
    if subject_key not in ("request_id", "consultation_id"):
        raise ValueError(f"not a subject of outbox rows: {subject_key}")
    rows = await db.fetchall(
        f"SELECT payload FROM outbox WHERE kind = ? AND status IN ('pending', 'held') "
        f"AND json_extract(payload, '$.{subject_key}') = ?", (str(kind), subject))
    return [json.loads(row["payload"]) for row in rows]


class Sender(Protocol):
    async def deliver(self, item: Item) -> None: ...

    async def on_held(self, item: Item, reason: str, chat_id: Optional[int]) -> None: ...

    async def on_blocked(self, item: Item) -> None: ...


async def woken(wake: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    """Sleep until `wake` or `stop` is set, or `timeout` seconds pass (a worker's idle wait)."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()


def _later(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


class Outbox:
    def __init__(self, db: Database, sender: Sender, *, max_attempts: int = MAX_ATTEMPTS,
                 base_delay: float = BASE_DELAY, parallel: int = PARALLEL_TARGETS, per_group: int = PER_GROUP,
                 clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.sender = sender
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.parallel = parallel
        self.per_group = per_group
        self.clock = clock  # for `busy` only: when a group has a turn again
        self.busy: dict[str, float] = {}  # target -> clock time until which its group has no turn free
        self._wake = asyncio.Event()
        self._paused_until = 0.0

    def wake(self) -> None:
        self._wake.set()

    def _busy_now(self) -> list[str]:
        now = self.clock()
        self.busy = {target: until for target, until in self.busy.items() if until > now}
        return list(self.busy)

    async def due(self, limit: int = BATCH, per_target: int = READ_PER_TARGET) -> list[Item]:
        """Rows due now, oldest first: at most `per_target` of each target (a flood for one target leaves the
        others their place in the batch), none of a group that is busy."""
        busy = self._busy_now()
        skip = f"AND target NOT IN ({', '.join('?' * len(busy))})" if busy else ""
        rows = await self.db.fetchall(
            "SELECT id, kind, target, request_id, payload, attempts FROM ("
            " SELECT id, kind, target, request_id, payload, attempts,"
            " ROW_NUMBER() OVER (PARTITION BY target ORDER BY id) AS place FROM outbox"
            f" WHERE status = 'pending' AND next_attempt_at <= ? {skip}"
            ") WHERE place <= ? ORDER BY id LIMIT ?",
            (utcnow(), *busy, per_target, limit),
        )
        return [Item(r["id"], r["kind"], r["target"], r["request_id"], json.loads(r["payload"]), r["attempts"])
                for r in rows]

    def plan(self, items: Iterable[Item], running: Iterable[str] = (), free: Optional[int] = None) -> list[list[Item]]:
        """Which conversations to start now, in order, each with its rows in order. `running`: the conversations
        being served (their rows wait for them); `free`: how many may start. Urgent first (a conversation is as
        urgent as its most urgent row, which cannot overtake the rows before it), then the targets take turns:
        each target's first conversation before any target's second; at most `per_group` at once in one group
        and one per resident; nothing for a busy group."""
        busy = set(self._busy_now())
        running = set(running)
        by_conversation: dict[str, list[Item]] = {}
        for item in sorted(items, key=lambda i: i.id):
            if item.target in busy or item.conversation in running:
                continue
            by_conversation.setdefault(item.conversation, []).append(item)
        load = Counter(conversation.split("#", 1)[0] for conversation in running)
        heads = sorted(by_conversation.values(), key=lambda rows: (min(r.urgency for r in rows), rows[0].id))
        place: Counter[str] = Counter()
        order = []
        for rows in heads:
            target = rows[0].target
            order.append((min(r.urgency for r in rows), load[target] + place[target], rows[0].id, rows))
            place[target] += 1
        order.sort(key=lambda entry: entry[:3])
        chosen: list[list[Item]] = []
        for _urgency, _turn, _id, rows in order:
            if free is not None and len(chosen) >= free:
                break
            target = rows[0].target
            if load[target] >= (self.per_group if is_group_target(target) else 1):
                continue
            load[target] += 1
            chosen.append(rows)
        return chosen

    async def process_once(self) -> int:
        """Send what is due, as one round of `run` would (conversations side by side, each one's rows in order,
        up to `parallel` at once); return how many were sent."""
        gate = asyncio.Semaphore(self.parallel)

        async def one(items: list[Item]) -> int:
            async with gate:
                return await self._conversation(items)

        return sum(await asyncio.gather(*(one(rows) for rows in self.plan(await self.due()))))

    async def _send(self, item: Item) -> bool:
        marked = False

        async def calling() -> None:  # just before each Bot API call of this row (after its turn to send)
            nonlocal marked
            if not marked:
                marked = True
                await self.db.execute("UPDATE outbox SET in_flight_since = ? WHERE id = ?", (utcnow(), item.id))

        try:
            tokens = (before_call.set(calling), outbox_row.set(RowTurns()), current_priority.set(Priority.NOTICE))
            try:
                await self.sender.deliver(item)
            finally:
                current_priority.reset(tokens[2])
                outbox_row.reset(tokens[1])
                before_call.reset(tokens[0])
        except Exception as exc:  # the row stays, waits, is held or dropped, by what went wrong
            await self._failed(item, exc)
            return False
        await self._finish(item, "sent", None)
        return True

    async def _failed(self, item: Item, exc: Exception) -> None:
        """What becomes of a row that did not go out, by the error its delivery raised."""
        if isinstance(exc, Busy):  # nothing was sent: the row keeps its place, the group's rows wait aside
            self._put_off(item.target, exc.seconds)
            log.debug("outbox %s: %s is busy for %.1fs", item.id, item.target, exc.seconds)
        elif isinstance(exc, RetryAfter):
            if is_group_target(item.target):  # a group's own limit: only that group waits (limiter)
                self._put_off(item.target, exc.seconds)
                log.warning("outbox %s: flood limit of a group, it waits %.0fs", item.id, exc.seconds)
            else:
                self._paused_until = time.monotonic() + exc.seconds
                log.warning("outbox %s: flood limit, everything waits %.0fs", item.id, exc.seconds)
            await self._reschedule(item, exc.seconds, str(exc), count=False)
        elif isinstance(exc, Defer):
            await self._reschedule(item, exc.seconds, str(exc), count=False)
        elif isinstance(exc, RecipientBlocked):
            log.info("outbox %s: the resident blocked the bot; dropped", item.id)
            await self._finish(item, "dropped", "blocked")
            await self.sender.on_blocked(item)
        elif isinstance(exc, (NoGroup, GroupUnreachable)):
            reason = "no_group" if isinstance(exc, NoGroup) else "unreachable"
            log.warning("outbox %s: %s for %s; held until a group is bound", item.id, reason, item.target)
            await self._finish(item, "held", reason)
            await self.sender.on_held(item, reason, getattr(exc, "chat_id", None))
        elif isinstance(exc, Permanent):
            log.error("outbox %s (%s): refused: %s", item.id, item.kind, exc)
            await self._finish(item, "failed", str(exc)[:300])
        else:  # Transient and anything unexpected: retry with backoff
            attempts = item.attempts + 1
            if attempts >= self.max_attempts:
                log.error("outbox %s (%s): failed after %d attempts: %s", item.id, item.kind, attempts,
                          type(exc).__name__)
                await self._finish(item, "failed", f"{type(exc).__name__}: {str(exc)[:200]}")
                return
            delay = min(self.base_delay * 2 ** item.attempts, MAX_DELAY)
            log.warning("outbox %s (%s): attempt %d failed (%s), retry in %.0fs", item.id, item.kind, attempts,
                        type(exc).__name__, delay)
            await self._reschedule(item, delay, f"{type(exc).__name__}: {str(exc)[:200]}", count=True)

    def _put_off(self, target: str, seconds: float) -> None:
        until = self.clock() + max(seconds, 0.05)
        self.busy[target] = max(self.busy.get(target, 0.0), until)

    async def _reschedule(self, item: Item, seconds: float, error: str, *, count: bool) -> None:
        await self.db.execute(
            "UPDATE outbox SET attempts = attempts + ?, next_attempt_at = ?, last_error = ?, in_flight_since = NULL "
            "WHERE id = ?",
            (int(count), _later(seconds), error, item.id),
        )

    async def _finish(self, item: Item, status: str, error: Optional[str]) -> None:
        await self.db.execute(
            "UPDATE outbox SET status = ?, last_error = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, "
            "attempts = attempts + 1, in_flight_since = NULL WHERE id = ?",
            (status, error, status, utcnow(), item.id),
        )

    async def recover(self) -> int:
        """Rows whose call was under way when the previous process died: counted, and sent again (a message
        seen twice is better than one never seen; Telegram has no way to ask whether it arrived)."""
        changed = await self.db.execute(
            "UPDATE outbox SET interrupted = interrupted + 1, in_flight_since = NULL WHERE in_flight_since IS NOT NULL")
        if changed:
            log.warning("outbox: %d row(s) were being sent when the bot stopped; sending them again", changed)
        return changed

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Work until `stop` is set. Conversations with rows due start as `plan` orders them (up to `parallel`
        at once) as soon as they have something to send; a new row never waits for other conversations' rows
        to finish, and a busy group's rows wait without a worker until the group has a turn again. On stop
        the rows in flight are finished, nothing new is started."""
        busy: dict[str, asyncio.Task[int]] = {}
        try:
            await self.recover()
        except Exception:
            log.exception("outbox: could not look for rows left in flight")

        def finished(conversation: str, task: asyncio.Task[int]) -> None:
            busy.pop(conversation, None)
            self._wake.set()

        while not stop.is_set():
            self._wake.clear()  # before reading: a row queued meanwhile wakes the next round at once
            free = self.parallel - len(busy)
            try:
                chosen = self.plan(await self.due(), busy, free) if free > 0 else []
            except Exception:  # the worker must outlive a locked database or any single bad row
                log.exception("outbox: reading due rows failed")
                chosen = []
            for rows in chosen:
                conversation = rows[0].conversation
                task = asyncio.create_task(self._conversation(rows), name=f"outbox {conversation}")
                busy[conversation] = task
                task.add_done_callback(lambda t, c=conversation: finished(c, t))
            wait = idle
            if self.busy:  # look again when the first busy group has a turn
                wait = min(wait, max(0.01, min(self.busy.values()) - self.clock()))
            await woken(self._wake, stop, wait)
        if busy:
            await asyncio.gather(*busy.values(), return_exceptions=True)

    async def _conversation(self, items: list[Item]) -> int:
        """One conversation's rows in order; a row that did not go out holds back the later ones. Returns how
        many were sent."""
        sent = 0
        try:
            for item in items:
                wait = self._paused_until - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if item.target in self.busy and self.busy[item.target] > self.clock():
                    break  # another row found the group busy meanwhile
                if not await self._send(item):
                    break
                sent += 1
        except Exception:
            log.exception("outbox: a conversation's sending failed")
        return sent

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: r["n"] for r in rows}


# ----- a resident's erasure (bot.privacy.erasure), inside its transaction ---------------------------------------

def _listed(ids: Iterable[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


async def payloads_in(conn: Any, kind: str, subject_key: str, ids: Iterable[int]) -> list[dict[str, Any]]:
    """The payloads of every row of `kind` (whatever its status) about these requests or consultations
    (`subject_key` "request_id" or "consultation_id")."""
    if subject_key not in ("request_id", "consultation_id"):
        raise ValueError(f"not a subject of outbox rows: {subject_key}")
    cursor = await conn.execute(f"SELECT payload FROM outbox WHERE kind = ? AND json_extract(payload, "
                                f"'$.{subject_key}') IN ({_listed(ids)})", (str(kind),))
    return [json.loads(row["payload"]) for row in await cursor.fetchall()]


async def drop_waiting_in(conn: Any, kinds: Iterable[str], subject_key: str, ids: Iterable[int], error: str) -> None:
    """Rows of these kinds not yet sent (pending or held) about these requests (their request_id) or
    consultations (the payload's consultation_id) are not sent any more."""
    if subject_key not in ("request_id", "consultation_id"):
        raise ValueError(f"not a subject of outbox rows: {subject_key}")
    subject = "request_id" if subject_key == "request_id" else "json_extract(payload, '$.consultation_id')"
    kinds = [str(kind) for kind in kinds]
    await conn.execute(
        f"UPDATE outbox SET status = 'dropped', last_error = ? WHERE status IN ('pending', 'held') "
        f"AND kind IN ({','.join('?' * len(kinds))}) AND {subject} IN ({_listed(ids)})", (error, *kinds))


async def forget_waiting_in(conn: Any, target: str) -> None:
    """The rows addressed to `target` not sent yet (pending or held) go."""
    await conn.execute("DELETE FROM outbox WHERE target = ? AND status IN ('pending', 'held')", (str(target),))


async def forget_target_in(conn: Any, target: str) -> None:
    """Every row addressed to `target` goes, whatever its status."""
    await conn.execute("DELETE FROM outbox WHERE target = ?", (str(target),))


async def count_waiting(db: Database, target: str) -> int:
    """Rows addressed to `target` not sent yet (pending or held)."""
    row = await db.fetchone("SELECT COUNT(*) FROM outbox WHERE target = ? AND status IN ('pending', 'held')",
                            (str(target),))
    return int(row[0]) if row else 0


async def backlog(db: Database, due: str) -> dict[str, Any]:
    """For /healthz: rows pending and held, how many pending ones were due before `due` (UTC ISO), and the
    earliest due time of a pending one."""
    rows = await db.fetchall(
        "SELECT status, COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'held') GROUP BY status")
    counts = {r["status"]: r["n"] for r in rows}
    oldest = await db.fetchone("SELECT MIN(next_attempt_at) AS at FROM outbox WHERE status = 'pending'")
    overdue = await db.fetchone(
        "SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND next_attempt_at < ?", (due,))
    return {"pending": counts.get("pending", 0), "held": counts.get("held", 0), "overdue": overdue["n"],
            "oldest_pending_due_at": oldest["at"]}
