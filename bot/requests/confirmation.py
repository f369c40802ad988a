"""Whether the help came: some days (CONFIRM_AFTER_DAYS) after a request is resolved its resident is asked «Чи
отримали ви допомогу?» — yes, partly or no — once per resolution. «Partly» and «no» put the request back into work
at once, tell the group (and the administrators when the request had been reopened before), and the resident may
add a few words, which go to the request's history and to the group. No answer within ANSWER_DAYS is kept as
'none'. Owns the table `request_confirmations`; everything goes by the requests' clock. No Telegram types here.

Not asked: a request closed (not resolved), one resolved without any answer of the staff to the resident, an
anonymous report, a request whose data were deleted, or one resolved longer ago than the question's window (so
that switching the question on does not ask about old requests).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Outgoing
from bot.errors import RequestError
from bot.requests.store import RequestStore, to_group
from bot.storage.db import Connection, Database, Row

YES, PARTLY, NO = "yes", "partly", "no"
ANSWERS = (YES, PARTLY, NO)
NOT_HELPED = (PARTLY, NO)
# no answer within ANSWER_DAYS; the request was reopened or resolved again first, or the question could not reach the
# resident (they had blocked the bot): the reports leave 'void' out
NONE, VOID = "none", "void"
ANSWER_DAYS = 7
MAX_WORDS = 1000  # characters of the resident's few words

# the latest resolution of a request that is still resolved: the one the question is about
_LATEST = ("e.id = (SELECT MAX(l.id) FROM request_events l WHERE l.request_id = e.request_id "
           "AND l.kind = 'resolved')")


@dataclass(frozen=True)
class Confirmation:
    id: int
    request_id: int
    public_id: str
    resident_id: Optional[int]
    answer: Optional[str]
    words_event_id: Optional[int]
    waiting: bool  # the request is resolved and this is its latest resolution


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


class Confirmations:
    """The question and its answers for the requests of `store`, on the store's clock."""

    def __init__(self, store: RequestStore, after_days: int, answer_days: int = ANSWER_DAYS):
        self.store = store
        self.db = store.db
        self.after_days = after_days
        self.answer_days = answer_days

    # ----- the timer (bot/runtime/housekeeping.py) ----------------------------------------------------------

    async def ask_due(self) -> int:
        """Queue the question for every resolution that is `after_days` old (but not older than the answer's
        window on top), once each. Returns how many were asked."""
        if self.after_days <= 0:
            return 0
        now = self.store.clock()
        latest = now - timedelta(days=self.after_days)
        earliest = latest - timedelta(days=self.answer_days)
        rows = await self.db.fetchall(
            "SELECT e.id AS event_id, e.at, r.id AS request_id, r.resident_id FROM request_events e "
            "JOIN requests r ON r.id = e.request_id "
            "WHERE e.kind = 'resolved' AND e.at <= ? AND e.at > ? AND r.status = 'resolved' "
            "AND r.resident_id IS NOT NULL AND r.anonymous = 0 AND r.purged_at IS NULL AND " + _LATEST + " "
            "AND EXISTS (SELECT 1 FROM request_events a WHERE a.request_id = r.id AND a.kind = 'reply' "
            "AND a.actor = 'staff') "
            "AND NOT EXISTS (SELECT 1 FROM request_confirmations c WHERE c.resolved_event_id = e.id)",
            (_stamp(latest), _stamp(earliest)))
        asked = 0
        for row in rows:
            async with self.db.transaction() as conn:
                cursor = await conn.execute(
                    "INSERT OR IGNORE INTO request_confirmations "
                    "(request_id, resolved_event_id, resolved_at, asked_at) VALUES (?, ?, ?, ?)",
                    (row["request_id"], row["event_id"], row["at"], _stamp(now)))
                if cursor.rowcount != 1:
                    continue
                item = Outgoing(Kind.CONFIRMATION, Target.resident(row["resident_id"]),
                                {"request_id": row["request_id"], "confirmation_id": cursor.lastrowid, "what": "ask"},
                                dedupe_key=f"confirm:{row['event_id']}")
                await self.store.queue_in(conn, [item], row["request_id"])
                asked += 1
        return asked

    async def expire(self) -> int:
        """Questions not answered within `answer_days` are kept as 'none' ('void' when the request was reopened or
        resolved again meanwhile, so the question was no longer open). Returns how many."""
        limit = _stamp(self.store.clock() - timedelta(days=self.answer_days))
        now = _stamp(self.store.clock())
        changed = await self.db.execute(
            "UPDATE request_confirmations SET answered_at = ?, answer = CASE WHEN EXISTS (SELECT 1 FROM requests r "
            "WHERE r.id = request_confirmations.request_id AND r.status = 'resolved') AND resolved_event_id = "
            "(SELECT MAX(l.id) FROM request_events l WHERE l.request_id = request_confirmations.request_id "
            "AND l.kind = 'resolved') THEN ? ELSE ? END WHERE answer IS NULL AND asked_at < ?",
            (now, NONE, VOID, limit))
        return int(changed or 0)

    async def unreached(self, confirmation_id: int) -> bool:
        """The question could not be delivered (the resident blocked the bot): kept as never asked, so that the
        reports do not count it as unanswered. Returns whether it was still waiting."""
        changed = await self.db.execute(
            "UPDATE request_confirmations SET answered_at = ?, answer = ? WHERE id = ? AND answer IS NULL",
            (_stamp(self.store.clock()), VOID, confirmation_id))
        return bool(changed)

    # ----- the resident's answer (dialogs/resident/confirmation.py) -----------------------------------------

    async def get(self, confirmation_id: int, conn: Optional[Connection] = None) -> Optional[Confirmation]:
        sql = ("SELECT c.id, c.request_id, r.public_id, r.resident_id, c.answer, c.words_event_id, "
               "(r.status = 'resolved' AND EXISTS (SELECT 1 FROM request_events e WHERE e.id = c.resolved_event_id "
               "AND " + _LATEST + ")) AS waiting "
               "FROM request_confirmations c JOIN requests r ON r.id = c.request_id WHERE c.id = ?")
        if conn is not None:
            row: Optional[Row] = await (await conn.execute(sql, (confirmation_id,))).fetchone()
        else:
            row = await self.db.fetchone(sql, (confirmation_id,))
        if row is None:
            return None
        return Confirmation(row["id"], row["request_id"], row["public_id"], row["resident_id"], row["answer"],
                            row["words_event_id"], bool(row["waiting"]))

    async def own(self, resident_id: int, confirmation_id: int, conn: Optional[Connection] = None) -> Confirmation:
        """The resident's own question; anyone else's (or a made-up one) is 'not_found'."""
        found = await self.get(confirmation_id, conn)
        if found is None or found.resident_id is None or found.resident_id != resident_id:
            raise RequestError("not_found")
        return found

    async def answer(self, resident_id: int, confirmation_id: int, answer: str) -> Confirmation:
        """The resident's answer, once, while the request is resolved and waits for it: RequestError 'answered'
        after an answer (or the question's end), 'not_waiting' when the request is no longer resolved. «Partly»
        and «no» reopen the request in the same transaction and tell the group (and the administrators when it
        had been reopened before)."""
        if answer not in ANSWERS:
            raise RequestError("not_found")
        async with self.db.transaction() as conn:
            found = await self.own(resident_id, confirmation_id, conn)
            if found.answer is not None:
                raise RequestError("answered")
            if not found.waiting:
                raise RequestError("not_waiting")
            now = _stamp(self.store.clock())
            cursor = await conn.execute(
                "UPDATE request_confirmations SET answer = ?, answered_at = ? WHERE id = ? AND answer IS NULL",
                (answer, now, confirmation_id))
            if cursor.rowcount != 1:
                raise RequestError("answered")
            if answer in NOT_HELPED:
                await self._reopen(conn, found, resident_id, answer)
            return await self.own(resident_id, confirmation_id, conn)

    async def _reopen(self, conn: Connection, found: Confirmation, resident_id: int, answer: str) -> None:
        cursor = await conn.execute(
            "UPDATE requests SET status = 'in_progress', closed_at = NULL, updated_at = ? "
            "WHERE id = ? AND status = 'resolved'", (_stamp(self.store.clock()), found.request_id))
        if cursor.rowcount != 1:
            raise RequestError("not_waiting")  # the transaction is rolled back: the answer is not kept either
        before = await (await conn.execute(
            "SELECT COUNT(*) FROM request_events WHERE request_id = ? AND kind = 'reopened'",
            (found.request_id,))).fetchone()
        request = await self.store.get_in(found.request_id, conn)
        await self.store.event_in(conn, found.request_id, "resident", resident_id, None, "reopened", None, True,
                                request.institution_id)
        items = [to_group(request, Kind.CARD_UPDATE),
                 to_group(request, Kind.CONFIRMATION, confirmation_id=found.id, what="not_helped", answer=answer)]
        if int(before[0]) >= 1:  # it had been reopened before: the administrators are told too
            items.append(Outgoing(Kind.ADMIN_NOTICE, Target.admins(),
                                  {"request_id": found.request_id, "notice": "not_helped_again", "answer": answer}))
        await self.store.queue_in(conn, items, found.request_id)

    async def words(self, resident_id: int, confirmation_id: int, text: str) -> int:
        """The resident's few words after «partly» or «no», once: a history entry of the request (erased with it)
        and a message in the card's topic. RequestError 'answered' when words were given already or the answer
        was «yes». Returns the history entry's id."""
        text = text.strip()[:MAX_WORDS]
        if not text:
            raise RequestError("empty")
        async with self.db.transaction() as conn:
            found = await self.own(resident_id, confirmation_id, conn)
            if found.answer not in NOT_HELPED or found.words_event_id is not None:
                raise RequestError("answered")
            request = await self.store.get_in(found.request_id, conn)
            event_id = await self.store.event_in(conn, found.request_id, "resident", resident_id, None,
                                               "resident_message", text, True, request.institution_id)
            cursor = await conn.execute(
                "UPDATE request_confirmations SET words_event_id = ? WHERE id = ? AND words_event_id IS NULL",
                (event_id, confirmation_id))
            if cursor.rowcount != 1:
                raise RequestError("answered")
            await self.store.queue_in(conn, [to_group(request, Kind.CONFIRMATION, confirmation_id=found.id,
                                                    what="words", event_id=event_id)], found.request_id)
        return event_id


async def resolutions(db: Database, since: str, until: str, community: Optional[str]) -> list[Row]:
    """For the reports (bot/reports/confirmed.py): every question about a resolution in [since, until) (UTC
    stamps), with the request's community and institution, when it was sent and resolved, and the answer."""
    where = " AND r.community = ?" if community else ""
    params: tuple[str, ...] = (since, until, community) if community else (since, until)
    return await db.fetchall(
        "SELECT r.community, r.institution_id, r.created_at, c.resolved_at, c.answer "
        "FROM request_confirmations c JOIN requests r ON r.id = c.request_id "
        "WHERE c.resolved_at >= ? AND c.resolved_at < ?" + where, params)
