"""Requests for help: intake, staff handling, the resident's view, deletion. No Telegram types here."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo

from bot.catalogue.loader import Catalogue
from bot.delivery.outbox import Outgoing, enqueue
from bot.requests.models import Attachment, Draft, Event, Group, GuessedFollowUp, Request, Status
from bot.requests.routing import route
from bot.storage.db import Connection, Database, Row, utcnow

DEFAULT_RESPONSE_DAYS = 3  # a clearly marked default: answer within 3 working days
BIND_CODE_HOURS = 48
BIND_CODE_BYTES = 16  # 128 bits: never guessed, whatever the lockout
# Failed /bind attempts: after BIND_TRIES within BIND_LOCK_MINUTES in one chat, or by one person, every /bind
# there (or by them) is refused until the window has passed, even with a valid code.
BIND_TRIES = 5
BIND_LOCK_MINUTES = 60
# When a request waits for the resident's answer (`awaiting_reply`): a specialist's answer older than this no
# longer makes the resident's free texts go to the request, and after the resident's own answer more of it
# (several messages, a photo after the words) still goes there for this long.
AWAITING_DAYS = 14
ANSWERING_MINUTES = 10
# The history entries that are the conversation of a request: who spoke last.
CONVERSATION = ("reply", "resident_message", "redirected")


Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Caps:
    """What one resident may do in 24 hours (0 switches a cap off): requests for help, reports about someone
    else, messages added to their requests, booked consultation times. Words of danger pass every cap."""

    requests: int = 5
    reports: int = 5
    follow_ups: int = 40
    bookings: int = 3


def code_hash(code: str) -> str:
    """How a bind code is kept: only its SHA-256, so the database never shows it again."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


class RequestError(Exception):
    """An action that is not allowed; `reason` is a short key the dialogs translate. `who`: for a staff press
    that came too late, who was first (as the card shows them), when known."""

    def __init__(self, reason: str, who: Optional[str] = None):
        super().__init__(reason)
        self.reason = reason
        self.who = who


def add_working_days(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The moment `days` working days (Monday to Friday) after `start`, in UTC."""
    moment = start.astimezone(tz)
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment.astimezone(timezone.utc)


def _row_to_request(row: Row) -> Request:
    data = dict(row)
    data["anonymous"] = bool(data["anonymous"])
    data["urgent"] = bool(data["urgent"])
    data["status"] = Status(data["status"])
    data.pop("reminded_at", None)
    return Request(**data)


def to_resident(resident_id: Optional[int], kind: str, request_id: int, **extra: Any) -> list[Outgoing]:
    if resident_id is None:
        return []
    return [Outgoing(kind, f"resident:{resident_id}", {"request_id": request_id, **extra})]


def to_group(request: Request, kind: str, **extra: Any) -> Outgoing:
    if request.urgent:
        extra.setdefault("urgent", True)  # the outbox sends it before ordinary rows
    return Outgoing(kind, f"institution:{request.community}/{request.institution_id}",
                    {"request_id": request.id, **extra})


class RequestService:
    def __init__(self, db: Database, catalogue: Catalogue, tz: ZoneInfo, *, caps: Caps = Caps(),
                 clock: Optional[Clock] = None):
        self.db = db
        self.catalogue = catalogue
        self.tz = tz
        self.caps = caps
        # what the records are dated by and the daily caps count by (tests set it; the outbox keeps real time)
        self.clock: Clock = clock or wall_clock

    def _stamp(self) -> str:
        return self.clock().astimezone(timezone.utc).isoformat(timespec="seconds")

    def _day_ago(self) -> str:
        return (self.clock() - timedelta(days=1)).astimezone(timezone.utc).isoformat(timespec="seconds")

    # ----- daily caps ---------------------------------------------------------------------------------------

    async def cap_reached(self, resident_id: int, what: str, conn: Optional[Connection] = None) -> bool:
        """Whether the resident has used up today's `what` ('requests', 'reports', 'follow_ups'; see Caps):
        counted from the requests and their history over the last 24 hours of the service's clock."""
        limit = getattr(self.caps, what)
        if not limit:
            return False
        if what == "follow_ups":
            sql = ("SELECT COUNT(*) FROM request_events WHERE actor_id = ? AND actor = 'resident' "
                   "AND kind IN ('resident_message', 'resident_message_withdrawn') AND at >= ?")
        else:
            kind = "report" if what == "reports" else "help"
            sql = f"SELECT COUNT(*) FROM requests WHERE resident_id = ? AND kind = '{kind}' AND created_at >= ?"
        params = (resident_id, self._day_ago())
        if conn is not None:
            row = await (await conn.execute(sql, params)).fetchone()
        else:
            row = await self.db.fetchone(sql, params)
        return int(row[0]) >= limit

    # ----- intake -------------------------------------------------------------------------------------------

    def response_days(self, community: str, institution_id: str) -> int:
        view = self.catalogue.communities[community]
        institution = view.institutions.get(institution_id)
        return (institution.response_days if institution and institution.response_days else DEFAULT_RESPONSE_DAYS)

    async def create(self, draft: Draft, *, update_id: Optional[int] = None, danger: Iterable[str] = (),
                     capped: bool = True) -> Request:
        """Store the request, its first history entry, its files and its delivery, all at once.

        The same update handed twice creates one request: the second call returns the first one. Over the
        resident's daily cap (Caps.requests or Caps.reports): RequestError 'cap', nothing stored, unless the
        description signals danger (`danger`), which no cap holds back. `capped=False` for requests the staff
        make (a consultation turned into a request)."""
        async with self.db.transaction() as conn:
            return await self.create_in(conn, draft, update_id=update_id, danger=danger, capped=capped)

    async def create_in(self, conn: Connection, draft: Draft, *, update_id: Optional[int] = None,
                        danger: Iterable[str] = (), capped: bool = True) -> Request:
        """`create` inside the caller's transaction."""
        view = self.catalogue.communities[draft.community]
        institution_id = route(
            view,
            service_id=draft.service_id,
            situation_id=draft.situation_id,
            about_child=draft.about_child or draft.for_whom == "child",
            report=draft.kind == "report",
        )
        danger = sorted(set(danger))
        now = self.clock().astimezone(timezone.utc)
        due = add_working_days(now, self.response_days(draft.community, institution_id), self.tz)
        stamp = now.isoformat(timespec="seconds")
        if update_id is not None:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)", (update_id, utcnow())
            )
            if cursor.rowcount == 0:
                existing = await conn.execute(
                    "SELECT id FROM requests WHERE resident_id = ? ORDER BY id DESC LIMIT 1", (draft.resident_id,)
                )
                row = await existing.fetchone()
                if row is not None:
                    return await self._get(row[0], conn)
        what = "reports" if draft.kind == "report" else "requests"
        if capped and not danger and await self.cap_reached(draft.resident_id, what, conn):
            raise RequestError("cap")
        public_id = await self._next_public_id(conn, now.astimezone(self.tz).year)
        cursor = await conn.execute(
            """INSERT INTO requests (public_id, community, resident_id, kind, anonymous, service_id, situation_id,
               for_whom, institution_id, description, contact_method, contact_phone, contact_name, urgent, danger,
               status, created_at, updated_at, due_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                public_id, draft.community, draft.resident_id, draft.kind, int(draft.anonymous), draft.service_id,
                draft.situation_id, draft.for_whom, institution_id, draft.description, draft.contact_method,
                None if draft.anonymous else draft.contact_phone, None if draft.anonymous else draft.contact_name,
                int(bool(danger)), ",".join(danger) or None, Status.new.value, stamp, stamp,
                due.isoformat(timespec="seconds"),
            ),
        )
        request_id = cursor.lastrowid
        event_id = await self._event(conn, request_id, "resident", draft.resident_id, None, "created",
                                     None, True, institution_id)
        await self._files(conn, request_id, event_id, draft.files)
        request = await self._get(request_id, conn)
        await self._queue(conn, [to_group(request, "card")], request_id)
        return request

    async def _next_public_id(self, conn: Connection, year: int) -> str:
        await conn.execute(
            "INSERT INTO request_counters (year, last) VALUES (?, 1) "
            "ON CONFLICT(year) DO UPDATE SET last = last + 1",
            (year,),
        )
        cursor = await conn.execute("SELECT last FROM request_counters WHERE year = ?", (year,))
        number = (await cursor.fetchone())[0]
        return f"{year}-{number:06d}"

    async def _event(
        self, conn: Connection, request_id: int, actor: str, actor_id: Optional[int],
        actor_label: Optional[str], kind: str, text: Optional[str], public: bool, institution_id: Optional[str],
    ) -> int:
        cursor = await conn.execute(
            "INSERT INTO request_events (request_id, at, actor, actor_id, actor_label, kind, text, public, "
            "institution_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (request_id, self._stamp(), actor, actor_id, actor_label, kind, text, int(public), institution_id),
        )
        return int(cursor.lastrowid)

    async def _files(self, conn: Connection, request_id: int, event_id: int,
                     files: Iterable[Attachment]) -> None:
        for item in files:
            await conn.execute(
                "INSERT INTO request_files (request_id, event_id, kind, file_id, file_name, size) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (request_id, event_id, item.kind, item.file_id, item.file_name, item.size),
            )

    async def _queue(self, conn: Connection, items: Iterable[Outgoing], request_id: Optional[int]) -> None:
        await enqueue(conn, items, request_id)

    # ----- reading ------------------------------------------------------------------------------------------

    async def _get(self, request_id: int, conn: Optional[Connection] = None) -> Request:
        if conn is not None:
            cursor = await conn.execute("SELECT * FROM requests WHERE id = ?", (request_id,))
            row = await cursor.fetchone()
        else:
            row = await self.db.fetchone("SELECT * FROM requests WHERE id = ?", (request_id,))
        if row is None:
            raise RequestError("not_found")
        return _row_to_request(row)

    async def get(self, request_id: int) -> Optional[Request]:
        row = await self.db.fetchone("SELECT * FROM requests WHERE id = ?", (request_id,))
        return _row_to_request(row) if row else None

    async def for_resident(self, resident_id: int, limit: int = 20, offset: int = 0) -> list[Request]:
        rows = await self.db.fetchall(
            "SELECT * FROM requests WHERE resident_id = ? ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
            (resident_id, limit, offset),
        )
        return [_row_to_request(r) for r in rows]

    async def count_for_resident(self, resident_id: int) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM requests WHERE resident_id = ?", (resident_id,))
        return int(row[0])

    async def owned(self, resident_id: int, request_id: int) -> Request:
        """The resident's own request; anyone else's is 'not found', never shown."""
        request = await self.get(request_id)
        if request is None or request.resident_id != resident_id:
            raise RequestError("not_found")
        return request

    async def history(self, request_id: int, *, public_only: bool) -> list[Event]:
        sql = "SELECT * FROM request_events WHERE request_id = ?" + (" AND public = 1" if public_only else "")
        rows = await self.db.fetchall(sql + " ORDER BY id", (request_id,))
        files = await self.db.fetchall(
            "SELECT event_id, kind, file_id, file_name, size FROM request_files WHERE request_id = ?", (request_id,)
        )
        by_event: dict[int, list[Attachment]] = {}
        for f in files:
            attachment = Attachment(f["kind"], f["file_id"], f["file_name"], f["size"])
            by_event.setdefault(f["event_id"], []).append(attachment)
        return [
            Event(r["id"], r["request_id"], r["at"], r["actor"], r["actor_id"], r["actor_label"], r["kind"], r["text"],
                  bool(r["public"]), r["institution_id"], tuple(by_event.get(r["id"], ())))
            for r in rows
        ]

    async def files(self, request_id: int) -> list[Attachment]:
        rows = await self.db.fetchall(
            "SELECT kind, file_id, file_name, size FROM request_files WHERE request_id = ? ORDER BY id", (request_id,)
        )
        return [Attachment(r["kind"], r["file_id"], r["file_name"], r["size"]) for r in rows]

    async def open_for_institution(self, community: str, institution_id: str, limit: int = 50) -> list[Request]:
        rows = await self.db.fetchall(
            "SELECT * FROM requests WHERE community = ? AND institution_id = ? AND status IN ('new', 'in_progress') "
            "ORDER BY urgent DESC, created_at LIMIT ?",
            (community, institution_id, limit),
        )
        return [_row_to_request(r) for r in rows]

    async def by_thread(self, chat_id: int, thread_id: int) -> Optional[Request]:
        row = await self.db.fetchone(
            "SELECT * FROM requests WHERE group_chat_id = ? AND thread_id = ? ORDER BY id DESC LIMIT 1",
            (chat_id, thread_id),
        )
        return _row_to_request(row) if row else None

    async def by_card(self, chat_id: int, message_id: int) -> Optional[Request]:
        row = await self.db.fetchone(
            "SELECT * FROM requests WHERE group_chat_id = ? AND card_message_id = ?", (chat_id, message_id)
        )
        return _row_to_request(row) if row else None

    # ----- resident actions ---------------------------------------------------------------------------------

    async def resident_message(self, resident_id: int, request_id: int, text: str,
                               files: Iterable[Attachment] = (), *, update_id: Optional[int] = None,
                               urgent: bool = False) -> Event:
        """A message the resident adds to their open request. Over the daily cap (Caps.follow_ups): RequestError
        'cap', nothing stored, unless `urgent` (the message signals danger)."""
        await self._add_resident_message(resident_id, request_id, text, files, update_id, urgent=urgent)
        return (await self.history(request_id, public_only=True))[-1]

    async def guessed_message(self, resident_id: int, request_id: int, text: str,
                              files: Iterable[Attachment] = (), *, update_id: Optional[int], how: str,
                              urgent: bool = False) -> GuessedFollowUp:
        """A message the bot adds to a request on its own, not through «✍️ Add a message or a file»: `how` is
        'quote' (a quote-reply to a message about the request) or 'awaiting' (a free text while the request
        waited for the resident). Stored and relayed like any follow-up (once per update), and the resident may
        take it back once with the returned token (`withdraw_guessed`)."""
        token = secrets.token_hex(4)
        event_id = await self._add_resident_message(resident_id, request_id, text, files, update_id, (how, token),
                                                    urgent=urgent)
        return GuessedFollowUp(event_id, request_id, token)

    async def _add_resident_message(self, resident_id: int, request_id: int, text: str, files: Iterable[Attachment],
                                    update_id: Optional[int], guessed: Optional[tuple[str, str]] = None, *,
                                    urgent: bool = False) -> int:
        request = await self.owned(resident_id, request_id)
        if not request.status.open:
            raise RequestError("closed")
        files = list(files)
        async with self.db.transaction() as conn:
            if update_id is not None and not await self._first_time(conn, update_id):
                raise RequestError("duplicate")
            if not urgent and await self.cap_reached(resident_id, "follow_ups", conn):
                raise RequestError("cap")
            event_id = await self._event(conn, request_id, "resident", resident_id, None, "resident_message",
                                         text, True, request.institution_id)
            await self._files(conn, request_id, event_id, files)
            await self._touch(conn, request_id)
            if guessed is not None:
                await conn.execute(
                    "INSERT INTO guessed_follow_ups (event_id, resident_id, how, token, at) VALUES (?, ?, ?, ?, ?)",
                    (event_id, resident_id, guessed[0], guessed[1], utcnow()))
            await self._queue(conn, [to_group(request, "relay_to_group", event_id=event_id)], request_id)
        return event_id

    async def withdraw_guessed(self, resident_id: int, event_id: int, token: str) -> tuple[Request, str]:
        """The resident says a message the bot added to a request on its own was not meant for it: it leaves
        the request's history (its text and files are removed; the entry stays, hidden, as
        'resident_message_withdrawn'), and the staff side is told, or never gets it when it has not gone out yet
        (see the outbox kinds 'relay_to_group' and 'relay_withdrawn'). Returns the request and the message's
        text. Only the resident it belongs to, only with its token, only once: otherwise RequestError
        'not_found' (anything wrong or forged) or 'done' (taken back already); nothing changes."""
        if not 0 < event_id < 2 ** 63:  # forged button data: not even a number SQLite can hold
            raise RequestError("not_found")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT g.resident_id, g.token, g.undone_at, e.request_id, e.text, e.at FROM guessed_follow_ups g "
                "JOIN request_events e ON e.id = g.event_id WHERE g.event_id = ?", (event_id,))
            row = await cursor.fetchone()
            if (row is None or row["resident_id"] != resident_id
                    or not secrets.compare_digest(str(row["token"]), str(token))):
                raise RequestError("not_found")
            if row["undone_at"] is not None:
                raise RequestError("done")
            cursor = await conn.execute(
                "UPDATE guessed_follow_ups SET undone_at = ? WHERE event_id = ? AND undone_at IS NULL",
                (utcnow(), event_id))
            if cursor.rowcount != 1:
                raise RequestError("done")
            await conn.execute(
                "UPDATE request_events SET kind = 'resident_message_withdrawn', text = NULL, public = 0 WHERE id = ?",
                (event_id,))
            await conn.execute("DELETE FROM request_files WHERE event_id = ?", (event_id,))
            request = await self._get(row["request_id"], conn)
            await self._queue(conn, [to_group(request, "relay_withdrawn", event_id=event_id, at=row["at"])],
                              request.id)
        return request, row["text"] or ""

    async def awaiting_reply(self, resident_id: int, now: Optional[datetime] = None) -> list[Request]:
        """The resident's requests that wait for the resident's answer, the latest answered first: open (received
        or in progress), and the last word of their conversation (answers, the resident's messages, passing to
        another institution; not notes, status changes or messages taken back) is

        * a specialist's answer of the last AWAITING_DAYS days, or
        * the resident's own message of the last ANSWERING_MINUTES that came right after such an answer
          (possibly with more of theirs in between): they are in the middle of answering.

        A request passed to another institution waits for nothing until that institution answers."""
        now = now or self.clock()
        answered_since = (now - timedelta(days=AWAITING_DAYS)).isoformat(timespec="seconds")
        answering_since = (now - timedelta(minutes=ANSWERING_MINUTES)).isoformat(timespec="seconds")
        marks = ", ".join("?" for _ in CONVERSATION)
        waiting: list[tuple[int, Request]] = []
        for row in await self.db.fetchall(
                "SELECT * FROM requests WHERE resident_id = ? AND status IN ('new', 'in_progress')", (resident_id,)):
            events = await self.db.fetchall(
                f"SELECT id, kind, at FROM request_events WHERE request_id = ? AND kind IN ({marks}) "
                f"ORDER BY id DESC LIMIT 20", (row["id"], *CONVERSATION))
            if not events:
                continue
            last = events[0]
            if last["kind"] == "reply":
                if last["at"] >= answered_since:
                    waiting.append((last["id"], _row_to_request(row)))
                continue
            if last["kind"] != "resident_message" or last["at"] < answering_since:
                continue
            before = next((e for e in events if e["kind"] != "resident_message"), None)
            if before is not None and before["kind"] == "reply":
                waiting.append((before["id"], _row_to_request(row)))
        waiting.sort(key=lambda pair: pair[0], reverse=True)
        return [request for _id, request in waiting]

    async def remember_messages(self, chat_id: int, message_ids: Iterable[int], request_id: int,
                                event_id: Optional[int] = None) -> None:
        """Bot messages about a request: in the resident's chat a quote-reply to one of them goes to the
        request; in the staff group they are what a message taken back removes (`request_messages`)."""
        rows = [(chat_id, int(message_id), request_id, event_id, utcnow()) for message_id in message_ids]
        if not rows:
            return
        async with self.db.transaction() as conn:
            for row in rows:
                await conn.execute(
                    "INSERT OR REPLACE INTO request_messages (chat_id, message_id, request_id, event_id, at) "
                    "VALUES (?, ?, ?, ?, ?)", row)

    async def request_of_message(self, chat_id: int, message_id: int) -> Optional[int]:
        """The request a bot message in this chat is about (see `remember_messages`), if any."""
        row = await self.db.fetchone(
            "SELECT request_id FROM request_messages WHERE chat_id = ? AND message_id = ?", (chat_id, message_id))
        return int(row["request_id"]) if row else None

    async def messages_of_event(self, event_id: int, chat_id: int) -> list[int]:
        """The bot's messages in `chat_id` that carried a history entry (a relayed message of the resident)."""
        rows = await self.db.fetchall(
            "SELECT message_id FROM request_messages WHERE event_id = ? AND chat_id = ? ORDER BY message_id",
            (event_id, chat_id))
        return [int(r["message_id"]) for r in rows]

    async def shown_in_group(self, request_id: int, chat_id: int) -> list[int]:
        """Every bot message in a staff group known to be about the request (relayed messages, files)."""
        rows = await self.db.fetchall(
            "SELECT message_id FROM request_messages WHERE request_id = ? AND chat_id = ? ORDER BY message_id",
            (request_id, chat_id))
        return [int(r["message_id"]) for r in rows]

    async def forget_shown(self, request_id: int, chat_id: int) -> None:
        await self.db.execute("DELETE FROM request_messages WHERE request_id = ? AND chat_id = ?",
                              (request_id, chat_id))

    async def withdraw(self, resident_id: int, request_id: int) -> Request:
        request = await self.owned(resident_id, request_id)
        if not request.status.open:
            raise RequestError("closed")
        async with self.db.transaction() as conn:
            if not await self._set_status(conn, request_id, Status.withdrawn, closed=True):
                raise RequestError("closed")  # finished by the staff meanwhile: nothing changes, nothing is posted
            request = await self._get(request_id, conn)
            await self._event(conn, request_id, "resident", resident_id, None, "withdrawn", None, True,
                              request.institution_id)
            await self._queue(conn, [to_group(request, "card_update"), to_group(request, "group_notice",
                                                                               notice="withdrawn")], request_id)
        return await self._get(request_id)

    async def rate(self, resident_id: int, request_id: int, rating: int, comment: Optional[str] = None) -> Request:
        """The resident's rating of a finished request, once: a second rating (a second press, a forged button)
        is RequestError 'rated' and changes nothing, and the group hears of the rating once."""
        request = await self.owned(resident_id, request_id)
        if request.status not in (Status.resolved, Status.closed):
            raise RequestError("not_finished")
        if not 1 <= rating <= 5:
            raise RequestError("bad_rating")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE requests SET rating = ?, rating_comment = ?, updated_at = ? WHERE id = ? AND resident_id = ? "
                "AND rating IS NULL AND status IN ('resolved', 'closed')",
                (rating, comment, self._stamp(), request_id, resident_id),
            )
            if cursor.rowcount != 1:
                raise RequestError("rated")
            await self._event(conn, request_id, "resident", resident_id, None, "rated",
                              f"{rating}" + (f": {comment}" if comment else ""), True, request.institution_id)
            await self._queue(conn, [to_group(request, "group_notice", notice="rated", rating=rating)], request_id)
        return await self._get(request_id)

    async def rating_comment(self, resident_id: int, request_id: int, comment: str) -> bool:
        """The comment after a rating, once (the resident's words go with the rating; nothing is posted again)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE requests SET rating_comment = ?, updated_at = ? WHERE id = ? AND resident_id = ? "
                "AND rating IS NOT NULL AND rating_comment IS NULL", (comment, self._stamp(), request_id, resident_id))
            if cursor.rowcount != 1:
                return False
            row = await (await conn.execute(
                "SELECT id FROM request_events WHERE request_id = ? AND kind = 'rated' ORDER BY id DESC LIMIT 1",
                (request_id,))).fetchone()
            if row is not None:
                await conn.execute("UPDATE request_events SET text = text || ': ' || ? WHERE id = ?",
                                   (comment, row["id"]))
        return True

    async def _first_time(self, conn: Connection, update_id: int) -> bool:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)", (update_id, utcnow())
        )
        return cursor.rowcount == 1

    async def _touch(self, conn: Connection, request_id: int) -> None:
        await conn.execute("UPDATE requests SET updated_at = ? WHERE id = ?", (utcnow(), request_id))

    async def _set_status(self, conn: Connection, request_id: int, status: Status, *,
                          closed: bool = False) -> bool:
        """Move an open request to `status`, only while it is open: False (nothing changed) when it is not."""
        now = utcnow()
        cursor = await conn.execute(
            "UPDATE requests SET status = ?, updated_at = ?, closed_at = CASE WHEN ? THEN ? ELSE NULL END "
            "WHERE id = ? AND status IN ('new', 'in_progress')",
            (status.value, now, int(closed), now, request_id),
        )
        return cursor.rowcount == 1

    # ----- staff actions ------------------------------------------------------------------------------------

    async def group(self, chat_id: int) -> Optional[Group]:
        row = await self.db.fetchone("SELECT * FROM groups WHERE chat_id = ?", (chat_id,))
        if row is None:
            return None
        return Group(row["chat_id"], row["community"], row["institution_id"], row["title"], bool(row["is_forum"]),
                     bool(row["active"]))

    async def for_group(self, chat_id: int, request_id: int) -> Request:
        """A request the group's institution may act on; anything else is refused."""
        group = await self.group(chat_id)
        if group is None or not group.active:
            raise RequestError("group_not_bound")
        request = await self.get(request_id)
        if request is None or (request.community, request.institution_id) != (group.community, group.institution_id):
            raise RequestError("other_institution")
        return request

    # A staff transition (take, resolve, close, reopen, redirect) is one conditional UPDATE: of two presses at
    # once, or a press on a card that is out of date, exactly one changes the request; its history entry and
    # what it sends are written in the same transaction, by it alone. The other press changes nothing, sends
    # nothing, and is told why (`_too_late`): who was first, as the card shows them.

    async def _too_late(self, conn: Connection, request_id: int, staff_id: int, institution_id: str,
                        wanted: str) -> RequestError:
        """Why a transition changed no row: the request as it is now says what happened first, and who did it."""
        current = await self._get(request_id, conn)
        if current.institution_id != institution_id:
            return RequestError("redirected", await self._last_actor(conn, request_id, ("redirected",)))
        if current.status.open:
            if wanted == "take" and current.assignee_id is not None:
                if current.assignee_id == staff_id:
                    return RequestError("taken_by_you")
                return RequestError("taken_by_other", current.assignee_label)
            who = await self._last_actor(conn, request_id, ("reopened",)) if wanted == "reopen" else None
            return RequestError("reopened" if who else "not_finished", who)
        if current.status == Status.withdrawn:
            return RequestError("withdrawn")
        return RequestError("closed", await self._last_actor(conn, request_id, ("resolved", "closed")))

    async def _last_actor(self, conn: Connection, request_id: int, kinds: tuple[str, ...]) -> Optional[str]:
        marks = ", ".join("?" for _ in kinds)
        cursor = await conn.execute(
            f"SELECT actor_label FROM request_events WHERE request_id = ? AND actor = 'staff' AND kind IN ({marks}) "
            f"ORDER BY id DESC LIMIT 1", (request_id, *kinds))
        row = await cursor.fetchone()
        return row["actor_label"] if row else None

    async def take(self, chat_id: int, request_id: int, staff_id: int, label: str) -> Request:
        """The first to press «Take» gets the request; anyone after is RequestError 'taken_by_other' (with who),
        and the same person's second press 'taken_by_you': nothing changes and nothing is posted again."""
        request = await self.for_group(chat_id, request_id)
        async with self.db.transaction() as conn:
            now = utcnow()
            cursor = await conn.execute(
                "UPDATE requests SET status = 'in_progress', assignee_id = ?, assignee_label = ?, updated_at = ?, "
                "first_response_at = COALESCE(first_response_at, ?) WHERE id = ? AND institution_id = ? "
                "AND status IN ('new', 'in_progress') AND assignee_id IS NULL",
                (staff_id, label, now, now, request_id, request.institution_id),
            )
            if cursor.rowcount != 1:
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "take")
            await self._event(conn, request_id, "staff", staff_id, label, "taken", None, True, request.institution_id)
            await self._queue(conn, [to_group(request, "card_update"),
                                     *to_resident(request.resident_id, "status", request_id, status="in_progress")],
                              request_id)
        return await self._get(request_id)

    async def note(self, chat_id: int, request_id: int, staff_id: int, label: str, text: str) -> Event:
        request = await self.for_group(chat_id, request_id)
        async with self.db.transaction() as conn:
            await self._event(conn, request_id, "staff", staff_id, label, "note", text, False, request.institution_id)
            await self._touch(conn, request_id)
        return (await self.history(request_id, public_only=False))[-1]

    async def reply(self, chat_id: int, request_id: int, staff_id: int, label: str, text: str,
                    files: Iterable[Attachment] = (), *, update_id: Optional[int] = None) -> Event:
        request = await self.for_group(chat_id, request_id)
        if request.status == Status.withdrawn:
            raise RequestError("closed")
        if request.resident_id is None:
            raise RequestError("no_resident")
        files = list(files)
        async with self.db.transaction() as conn:
            if update_id is not None and not await self._first_time(conn, update_id):
                raise RequestError("duplicate")
            now = utcnow()
            event_id = await self._event(conn, request_id, "staff", staff_id, label, "reply", text, True,
                                         request.institution_id)
            await self._files(conn, request_id, event_id, files)
            await conn.execute(
                "UPDATE requests SET updated_at = ?, first_response_at = COALESCE(first_response_at, ?), "
                "status = CASE WHEN status = 'new' THEN 'in_progress' ELSE status END, "
                "assignee_id = COALESCE(assignee_id, ?), assignee_label = COALESCE(assignee_label, ?) WHERE id = ?",
                (now, now, staff_id, label, request_id),
            )
            await self._queue(conn, [*to_resident(request.resident_id, "reply", request_id, event_id=event_id)],
                              request_id)
            if request.status == Status.new:
                await self._queue(conn, [to_group(request, "card_update")], request_id)
        return (await self.history(request_id, public_only=False))[-1]

    async def redirect(self, chat_id: int, request_id: int, staff_id: int, label: str, to_institution: str,
                       reason: str) -> Request:
        request = await self.for_group(chat_id, request_id)
        view = self.catalogue.communities[request.community]
        if to_institution not in view.institutions or to_institution == request.institution_id:
            raise RequestError("bad_institution")
        due = add_working_days(self.clock(), self.response_days(request.community, to_institution), self.tz)
        async with self.db.transaction() as conn:
            before = await self._get(request_id, conn)  # where its card is now (the old group's card is marked)
            cursor = await conn.execute(
                "UPDATE requests SET institution_id = ?, status = 'new', assignee_id = NULL, assignee_label = NULL, "
                "group_chat_id = NULL, thread_id = NULL, card_message_id = NULL, due_at = ?, updated_at = ?, "
                "reminded_at = NULL WHERE id = ? AND institution_id = ? AND status IN ('new', 'in_progress')",
                (to_institution, due.isoformat(timespec="seconds"), utcnow(), request_id, request.institution_id),
            )
            if cursor.rowcount != 1:
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "redirect")
            if before.card_message_id:  # the old group's card says where it went and loses its buttons
                await self._queue(conn, [to_group(before, "card_moved", chat_id=before.group_chat_id,
                                                  message_id=before.card_message_id, to=to_institution)],
                                  request_id)
            await self._event(conn, request_id, "staff", staff_id, label, "redirected", reason, True, to_institution)
            moved = await self._get(request_id, conn)
            await self._queue(conn, [to_group(moved, "card"),
                                     *to_resident(request.resident_id, "redirected", request_id)], request_id)
        return await self._get(request_id)

    async def finish(self, chat_id: int, request_id: int, staff_id: int, label: str, resolved: bool,
                     text: Optional[str] = None) -> Request:
        """Resolved or closed, once: a press after another one finished it is RequestError 'closed' (with who)."""
        request = await self.for_group(chat_id, request_id)
        status = Status.resolved if resolved else Status.closed
        async with self.db.transaction() as conn:
            now = utcnow()
            cursor = await conn.execute(
                "UPDATE requests SET status = ?, updated_at = ?, closed_at = ?, "
                "first_response_at = COALESCE(first_response_at, ?) WHERE id = ? AND institution_id = ? "
                "AND status IN ('new', 'in_progress')",
                (status.value, now, now, now, request_id, request.institution_id),
            )
            if cursor.rowcount != 1:
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "finish")
            await self._event(conn, request_id, "staff", staff_id, label, status.value, text, True,
                              request.institution_id)
            await self._queue(conn, [to_group(request, "card_update"),
                                     *to_resident(request.resident_id, "finished", request_id, status=status.value)],
                              request_id)
        return await self._get(request_id)

    async def reopen(self, chat_id: int, request_id: int, staff_id: int, label: str) -> Request:
        """Back into work, once: a press after another one reopened it is RequestError 'reopened' (with who)."""
        request = await self.for_group(chat_id, request_id)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE requests SET status = 'in_progress', closed_at = NULL, updated_at = ?, "
                "assignee_id = COALESCE(assignee_id, ?), assignee_label = COALESCE(assignee_label, ?) "
                "WHERE id = ? AND institution_id = ? AND status IN ('resolved', 'closed')",
                (utcnow(), staff_id, label, request_id, request.institution_id),
            )
            if cursor.rowcount != 1:
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "reopen")
            await self._event(conn, request_id, "staff", staff_id, label, "reopened", None, True,
                              request.institution_id)
            await self._queue(conn, [to_group(request, "card_update"),
                                     *to_resident(request.resident_id, "status", request_id, status="in_progress")],
                              request_id)
        return await self._get(request_id)

    async def event(self, event_id: int) -> Event:
        row = await self.db.fetchone("SELECT request_id FROM request_events WHERE id = ?", (event_id,))
        if row is None:
            raise RequestError("not_found")
        for event in await self.history(row["request_id"], public_only=False):
            if event.id == event_id:
                return event
        raise RequestError("not_found")

    async def notify_admins_once(self, request_id: int, target: str, reason: str) -> None:
        """Tell the administrators once a day per institution that its requests are waiting (not when the
        institution's group was lost: that notice already said what to do)."""
        if reason == "no_group" and await self.lost_group_of(target) is not None:
            return
        async with self.db.transaction() as conn:
            await self._queue(conn, [Outgoing("admin_notice", "admins", {"request_id": request_id, "notice": reason},
                                              dedupe_key=f"{reason}:{target}:{utcnow()[:10]}")], request_id)

    async def queue_reminder(self, request_id: int) -> None:
        request = await self._get(request_id)
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE requests SET reminded_at = ? WHERE id = ?", (utcnow(), request_id))
            await self._queue(conn, [to_group(request, "group_notice", notice="reminder"),
                                     Outgoing("admin_notice", "admins", {"request_id": request_id,
                                                                        "notice": "overdue"})], request_id)

    async def set_card(self, request_id: int, chat_id: int, thread_id: Optional[int], message_id: int) -> None:
        await self.db.execute(
            "UPDATE requests SET group_chat_id = ?, thread_id = ?, card_message_id = ? WHERE id = ?",
            (chat_id, thread_id, message_id, request_id),
        )

    # ----- binding groups -----------------------------------------------------------------------------------

    async def create_bind_code(self, community: str, institution_id: str, created_by: Optional[int]) -> str:
        view = self.catalogue.communities.get(community)
        if view is None or institution_id not in view.institutions:
            raise RequestError("bad_institution")
        code = secrets.token_hex(BIND_CODE_BYTES).upper()
        now = self.clock().astimezone(timezone.utc)
        await self.db.execute(
            "INSERT INTO bind_codes (code, community, institution_id, created_by, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (code_hash(code), community, institution_id, created_by, now.isoformat(timespec="seconds"),
             (now + timedelta(hours=BIND_CODE_HOURS)).isoformat(timespec="seconds")),
        )
        return code  # shown once: only its hash is kept

    async def bind_locked(self, chat_id: int, user_id: Optional[int]) -> bool:
        """Too many failed /bind attempts in this chat, or by this person, within BIND_LOCK_MINUTES."""
        since = (self.clock() - timedelta(minutes=BIND_LOCK_MINUTES)).astimezone(timezone.utc).isoformat(
            timespec="seconds")
        row = await self.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM bind_attempts WHERE chat_id = ? AND at >= ?), "
            "(SELECT COUNT(*) FROM bind_attempts WHERE user_id = ? AND at >= ?)", (chat_id, since, user_id, since))
        return max(int(row[0]), int(row[1]) if user_id is not None else 0) >= BIND_TRIES

    async def bind(self, chat_id: int, code: str, *, title: Optional[str], is_forum: bool,
                   user_id: Optional[int]) -> Group:
        """Bind the group to the code's institution. Refused (RequestError) for an unknown, used or expired code,
        each failure counted, and for everyone in a chat (or a person anywhere) after BIND_TRIES failures
        ('bind_locked'). Every binding is announced to the administrators, and to the group that had the
        institution before while the bot can still write there."""
        if await self.bind_locked(chat_id, user_id):
            raise RequestError("bind_locked")
        try:
            return await self._bind(chat_id, code, title=title, is_forum=is_forum, user_id=user_id)
        except RequestError:
            await self.db.execute("INSERT INTO bind_attempts (chat_id, user_id, at) VALUES (?, ?, ?)",
                                  (chat_id, user_id, self._stamp()))
            await self.db.execute("DELETE FROM bind_attempts WHERE at < ?", (
                (self.clock() - timedelta(days=1)).astimezone(timezone.utc).isoformat(timespec="seconds"),))
            raise

    async def _bind(self, chat_id: int, code: str, *, title: Optional[str], is_forum: bool,
                    user_id: Optional[int]) -> Group:
        hashed = code_hash(code)
        async with self.db.transaction() as conn:
            cursor = await conn.execute("SELECT * FROM bind_codes WHERE code = ?", (hashed,))
            row = await cursor.fetchone()
            if row is None:
                raise RequestError("bad_code")
            if row["used_at"] is not None:
                raise RequestError("used_code")
            now = self._stamp()
            if row["expires_at"] < now:
                raise RequestError("expired_code")
            cursor = await conn.execute("UPDATE bind_codes SET used_at = ?, used_in = ? WHERE code = ? "
                                        "AND used_at IS NULL", (now, chat_id, hashed))
            if cursor.rowcount != 1:
                raise RequestError("used_code")
            cursor = await conn.execute(
                "SELECT chat_id, title, community, institution_id FROM groups WHERE active = 1 AND ("
                "(community = ? AND institution_id = ? AND chat_id != ?) OR (chat_id = ? AND NOT (community = ? "
                "AND institution_id = ?)))",
                (row["community"], row["institution_id"], chat_id, chat_id, row["community"], row["institution_id"]))
            losing = [dict(r) for r in await cursor.fetchall()]
            await enqueue(conn, [Outgoing("group_bound", "admins", {
                "chat_id": chat_id, "title": title, "community": row["community"],
                "institution_id": row["institution_id"], "by": user_id, "losing": losing},
                dedupe_key=f"bound:{chat_id}:{hashed[:16]}")])
            # one active group per institution: binding a new one retires the old one
            await conn.execute(
                "UPDATE groups SET active = 0 WHERE community = ? AND institution_id = ? AND chat_id != ?",
                (row["community"], row["institution_id"], chat_id),
            )
            await conn.execute(
                "INSERT INTO groups (chat_id, community, institution_id, title, is_forum, bound_at, bound_by, active) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(chat_id) DO UPDATE SET community = excluded.community, "
                "institution_id = excluded.institution_id, title = excluded.title, is_forum = excluded.is_forum, "
                "bound_at = excluded.bound_at, bound_by = excluded.bound_by, active = 1, unreachable_at = NULL",
                (chat_id, row["community"], row["institution_id"], title, int(is_forum), now, user_id),
            )
            if user_id is not None:
                await conn.execute(
                    "INSERT OR IGNORE INTO staff (chat_id, user_id, added_at) VALUES (?, ?, ?)", (chat_id, user_id, now)
                )
            # whatever waited for this institution goes out now: first the cards, in the order they came,
            # then what waited in each of them
            target = f"institution:{row['community']}/{row['institution_id']}"
            cards = await self._cards_to_move(conn, row["community"], row["institution_id"], chat_id, target)
            await conn.execute(
                "UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE target = ? AND status = 'held'",
                (now, target),
            )
            if cards:
                await enqueue(conn, [Outgoing("regroup", target, {"chat_id": chat_id, "cards": cards},
                                              dedupe_key=f"regroup:{chat_id}:{now}")])
        group = await self.group(chat_id)
        assert group is not None
        return group

    async def group_for(self, community: str, institution_id: str) -> Optional[Group]:
        row = await self.db.fetchone(
            "SELECT chat_id FROM groups WHERE community = ? AND institution_id = ? AND active = 1 "
            "ORDER BY bound_at DESC LIMIT 1",
            (community, institution_id),
        )
        return await self.group(row["chat_id"]) if row else None

    async def mark_group_unreachable(self, chat_id: int) -> None:
        await self.group_lost(chat_id)

    async def group_lost(self, chat_id: int, why: str = "unreachable") -> bool:
        """The group was deleted or the bot was removed from it: what is sent to the institution waits from now
        on, and the administrators are told once what to do. False when it was not the institution's group in
        use (already lost, or replaced by another one)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("SELECT * FROM groups WHERE chat_id = ?", (chat_id,))
            row = await cursor.fetchone()
            if row is None or not row["active"]:
                return False
            now = utcnow()
            await conn.execute("UPDATE groups SET active = 0, unreachable_at = ? WHERE chat_id = ?", (now, chat_id))
            await enqueue(conn, [Outgoing(
                "group_lost", "admins",
                {"chat_id": chat_id, "community": row["community"], "institution_id": row["institution_id"],
                 "title": row["title"], "why": why},
                dedupe_key=f"group_lost:{chat_id}:{row['bound_at']}",
            )])
        return True

    async def lost_group_of(self, target: str) -> Optional[int]:
        """The chat id of the institution's last group when it was lost and no other group replaced it."""
        community, _, institution_id = target.removeprefix("institution:").partition("/")
        row = await self.db.fetchone(
            "SELECT chat_id, active, unreachable_at FROM groups WHERE community = ? AND institution_id = ? "
            "ORDER BY bound_at DESC LIMIT 1", (community, institution_id))
        if row is None or row["active"] or row["unreachable_at"] is None:
            return None
        return int(row["chat_id"])

    async def _cards_to_move(self, conn: Connection, community: str, institution_id: str, chat_id: int,
                             target: str) -> list[list[Any]]:
        """What a newly bound group must get: the requests and consultations that wait for the institution, and
        the open ones whose group was lost; oldest first, as [kind, id] ("r" a request, "c" a consultation)."""
        cursor = await conn.execute(
            "SELECT DISTINCT request_id, json_extract(payload, '$.consultation_id') AS consultation_id FROM outbox "
            "WHERE target = ? AND status = 'held'", (target,))
        held = await cursor.fetchall()
        held_requests = {r["request_id"] for r in held if r["request_id"] is not None}
        held_consultations = {r["consultation_id"] for r in held if r["consultation_id"] is not None}
        cards: list[tuple[str, str, int]] = []
        cursor = await conn.execute(
            "SELECT r.id, r.created_at, r.status, r.group_chat_id, g.unreachable_at FROM requests r "
            "LEFT JOIN groups g ON g.chat_id = r.group_chat_id WHERE r.community = ? AND r.institution_id = ? "
            "AND (r.group_chat_id IS NULL OR r.group_chat_id != ?)", (community, institution_id, chat_id))
        for r in await cursor.fetchall():
            lost = r["unreachable_at"] is not None and r["status"] in ("new", "in_progress")
            if lost or r["id"] in held_requests:
                cards.append((r["created_at"], "r", r["id"]))
        cursor = await conn.execute(
            "SELECT c.id, c.asked_at, c.status, g.unreachable_at FROM consultations c "
            "LEFT JOIN groups g ON g.chat_id = c.group_chat_id WHERE c.community = ? AND c.institution_id = ? "
            "AND (c.group_chat_id IS NULL OR c.group_chat_id != ?)", (community, institution_id, chat_id))
        for c in await cursor.fetchall():
            lost = c["unreachable_at"] is not None and c["status"] in ("queued", "active")
            if lost or c["id"] in held_consultations:
                cards.append((c["asked_at"], "c", c["id"]))
        return [[kind, subject] for _at, kind, subject in sorted(cards)]

    async def regroup_waiting(self, target: str) -> bool:
        """Whether the cards for a newly bound group are still being posted (the rest waits for them)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM outbox WHERE target = ? AND kind = 'regroup' AND status = 'pending' LIMIT 1", (target,))
        return row is not None

    async def notify_lost_card(self, request_id: Optional[int], consultation_id: Optional[int], chat_id: int,
                               what: str, mark: Optional[int]) -> None:
        """Tell the administrators once that a topic or a card was deleted in a group and is posted again."""
        subject = f"r{request_id}" if request_id is not None else f"c{consultation_id}"
        async with self.db.transaction() as conn:
            await enqueue(conn, [Outgoing(
                "lost_notice", "admins",
                {"request_id": request_id, "consultation_id": consultation_id, "chat_id": chat_id, "what": what},
                dedupe_key=f"lost:{what}:{subject}:{chat_id}:{mark}")], request_id)

    async def staff_role(self, chat_id: int, user_id: int) -> Optional[str]:
        row = await self.db.fetchone("SELECT role FROM staff WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        return row["role"] if row else None

    async def set_staff_role(self, chat_id: int, user_id: int, role: Optional[str]) -> None:
        await self.db.execute(
            "INSERT INTO staff (chat_id, user_id, role, added_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(chat_id, user_id) DO UPDATE SET role = excluded.role",
            (chat_id, user_id, role, utcnow()),
        )

    # ----- consent and personal data ------------------------------------------------------------------------

    async def has_consent(self, user_id: int, version: int) -> bool:
        row = await self.db.fetchone("SELECT version FROM consents WHERE user_id = ?", (user_id,))
        return row is not None and row["version"] >= version

    async def give_consent(self, user_id: int, version: int) -> None:
        await self.db.execute(
            "INSERT INTO consents (user_id, version, given_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET version = excluded.version, given_at = excluded.given_at",
            (user_id, version, utcnow()),
        )

    async def delete_personal_data(self, resident_id: int) -> int:
        """Remove what identifies the resident and every text they or staff wrote; keep anonymous counts.
        (The bot's 🗑 goes through `bot.privacy.erase`, which does this and more in one transaction.)"""
        async with self.db.transaction() as conn:
            ids = await self.ids_of_resident(conn, resident_id)
            await self._purge(conn, ids, "resident")
            await conn.execute("DELETE FROM consents WHERE user_id = ?", (resident_id,))
            await conn.execute("DELETE FROM subscriptions WHERE user_id = ?", (resident_id,))
            await conn.execute("DELETE FROM campaign_recipients WHERE user_id = ?", (resident_id,))
            await conn.execute("DELETE FROM fsm_state WHERE key LIKE ?", (f"%:{resident_id}:{resident_id}:%",))
            await conn.execute(
                "DELETE FROM outbox WHERE target = ? AND status IN ('pending', 'held')", (f"resident:{resident_id}",)
            )
        return len(ids)

    async def purge_closed(self, older_than_days: int, now: Optional[datetime] = None) -> int:
        """Retention: personal data of requests closed longer ago than the configured period."""
        now = now or datetime.now(timezone.utc)
        limit = (now - timedelta(days=older_than_days)).astimezone(timezone.utc).isoformat(timespec="seconds")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT id FROM requests WHERE closed_at IS NOT NULL AND closed_at < ? AND purged_at IS NULL", (limit,)
            )
            ids = [row[0] for row in await cursor.fetchall()]
            await self._purge(conn, ids, "retention")
        return len(ids)

    # (for bot.privacy, inside its transaction)

    @staticmethod
    async def ids_of_resident(conn: Connection, resident_id: int) -> list[int]:
        cursor = await conn.execute("SELECT id FROM requests WHERE resident_id = ?", (resident_id,))
        return [row[0] for row in await cursor.fetchall()]

    @staticmethod
    async def ids_closed_before(conn: Connection, limit: str) -> list[int]:
        cursor = await conn.execute(
            "SELECT id FROM requests WHERE closed_at IS NOT NULL AND closed_at < ? AND purged_at IS NULL", (limit,))
        return [row[0] for row in await cursor.fetchall()]

    async def purge_in(self, conn: Connection, ids: list[int], why: str) -> None:
        """Remove the personal data of these requests in the caller's transaction; `why`: 'resident' or
        'retention'."""
        await self._purge(conn, ids, why)

    async def _purge(self, conn: Connection, ids: list[int], why: Optional[str] = None) -> None:
        now = utcnow()
        for request_id in ids:
            await conn.execute(
                "UPDATE requests SET resident_id = NULL, description = NULL, contact_phone = NULL, "
                "contact_name = NULL, rating_comment = NULL, purged_at = ?, updated_at = ?, "
                "purged_why = COALESCE(?, purged_why) WHERE id = ?",
                (now, now, why, request_id),
            )
            await conn.execute(
                "UPDATE request_events SET text = NULL, actor_id = CASE WHEN actor = 'resident' THEN NULL "
                "ELSE actor_id END WHERE request_id = ?",
                (request_id,),
            )
            await conn.execute("DELETE FROM request_files WHERE request_id = ?", (request_id,))
            await conn.execute("DELETE FROM request_messages WHERE request_id = ?", (request_id,))
            await conn.execute(
                "DELETE FROM guessed_follow_ups WHERE event_id IN (SELECT id FROM request_events WHERE request_id = ?)",
                (request_id,))
