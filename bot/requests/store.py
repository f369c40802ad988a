"""Requests for help: the records themselves (intake, history, files, reading) and the helpers the resident's and
the staff's actions share. Owns the tables `requests`, `request_events`, `request_files`, `request_counters`.
No Telegram types here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo

from bot.catalogue.loader import Catalogue
from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Outgoing, enqueue
from bot.errors import RequestError
from bot.groups.service import GroupService
from bot.requests.models import Attachment, Draft, Event, Request, Status
from bot.requests.routing import route
from bot.storage.db import Connection, Database, Row, utcnow
from bot.storage.updates import first_time

DEFAULT_RESPONSE_DAYS = 3  # a clearly marked default: answer within 3 working days

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


def add_working_days(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The moment `days` working days (Monday to Friday) after `start`, in UTC."""
    moment = start.astimezone(tz)
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment.astimezone(timezone.utc)


def row_to_request(row: Row) -> Request:
    data = dict(row)
    data["anonymous"] = bool(data["anonymous"])
    data["urgent"] = bool(data["urgent"])
    data["status"] = Status(data["status"])
    data.pop("reminded_at", None)
    data.pop("due_warned_at", None)
    return Request(**data)


def to_resident(resident_id: Optional[int], kind: Kind, request_id: int, **extra: Any) -> list[Outgoing]:
    if resident_id is None:
        return []
    return [Outgoing(kind, Target.resident(resident_id), {"request_id": request_id, **extra})]


def to_group(request: Request, kind: Kind, **extra: Any) -> Outgoing:
    if request.urgent:
        extra.setdefault("urgent", True)  # the outbox sends it before ordinary rows
    return Outgoing(kind, Target.institution(request.community, request.institution_id),
                    {"request_id": request.id, **extra})

class RequestStore:
    """The records of requests; `RequestService` adds the resident's and the staff's actions."""

    def __init__(self, db: Database, catalogue: Catalogue, tz: ZoneInfo, *, caps: Caps = Caps(),
                 clock: Optional[Clock] = None, groups: Optional[GroupService] = None):
        self.db = db
        self.catalogue = catalogue
        self.tz = tz
        self.caps = caps
        # what the records are dated by and the daily caps count by (tests set it; the outbox keeps real time)
        self.clock: Clock = clock or wall_clock
        # the staff groups (by default one of its own, on this service's clock, even when tests move it)
        self.groups = groups or GroupService(db, catalogue, clock=lambda: self.clock())
        self.groups.add_waiting("r", self.cards_waiting)

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
            if not await first_time(conn, update_id):
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
        await self._queue(conn, [to_group(request, Kind.CARD)], request_id)
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
        reason: Optional[str] = None,
    ) -> int:
        cursor = await conn.execute(
            "INSERT INTO request_events (request_id, at, actor, actor_id, actor_label, kind, text, public, "
            "institution_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (request_id, self._stamp(), actor, actor_id, actor_label, kind, text, int(public), institution_id,
             reason),
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

    # For other modules of the requests package that act inside a transaction of theirs (confirmation.py).
    event_in = _event
    queue_in = _queue

    # ----- reading ------------------------------------------------------------------------------------------

    async def _get(self, request_id: int, conn: Optional[Connection] = None) -> Request:
        if conn is not None:
            cursor = await conn.execute("SELECT * FROM requests WHERE id = ?", (request_id,))
            row = await cursor.fetchone()
        else:
            row = await self.db.fetchone("SELECT * FROM requests WHERE id = ?", (request_id,))
        if row is None:
            raise RequestError("not_found")
        return row_to_request(row)


    get_in = _get  # read inside a transaction of the caller's (confirmation.py)

    async def get(self, request_id: int) -> Optional[Request]:
        row = await self.db.fetchone("SELECT * FROM requests WHERE id = ?", (request_id,))
        return row_to_request(row) if row else None

    async def for_resident(self, resident_id: int, limit: int = 20, offset: int = 0) -> list[Request]:
        rows = await self.db.fetchall(
            "SELECT * FROM requests WHERE resident_id = ? ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
            (resident_id, limit, offset),
        )
        return [row_to_request(r) for r in rows]

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
                  bool(r["public"]), r["institution_id"], tuple(by_event.get(r["id"], ())), r["reason"])
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
        return [row_to_request(r) for r in rows]

    async def by_thread(self, chat_id: int, thread_id: int) -> Optional[Request]:
        row = await self.db.fetchone(
            "SELECT * FROM requests WHERE group_chat_id = ? AND thread_id = ? ORDER BY id DESC LIMIT 1",
            (chat_id, thread_id),
        )
        return row_to_request(row) if row else None

    async def by_card(self, chat_id: int, message_id: int) -> Optional[Request]:
        row = await self.db.fetchone(
            "SELECT * FROM requests WHERE group_chat_id = ? AND card_message_id = ?", (chat_id, message_id)
        )
        return row_to_request(row) if row else None

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

    async def cards_waiting(self, conn: Connection, community: str, institution_id: str, chat_id: int,
                            lost_chats: set[int], held: set[int]) -> list[tuple[str, int]]:
        """The requests a newly bound group of the institution must get (see `GroupService.add_waiting`): those
        whose rows wait (`held`) and the open ones whose group was lost, as (when created, id)."""
        cursor = await conn.execute(
            "SELECT id, created_at, status, group_chat_id FROM requests WHERE community = ? AND institution_id = ? "
            "AND (group_chat_id IS NULL OR group_chat_id != ?)", (community, institution_id, chat_id))
        cards = []
        for r in await cursor.fetchall():
            lost = r["group_chat_id"] in lost_chats and r["status"] in ("new", "in_progress")
            if lost or r["id"] in held:
                cards.append((r["created_at"], r["id"]))
        return cards


async def late_ids(db: Database, now: datetime, hours: int) -> list[int]:
    """Requests not taken within `hours` or past their answer date, not reminded of within `hours`."""
    late = (now - timedelta(hours=hours)).isoformat(timespec="seconds")
    rows = await db.fetchall(
        "SELECT id FROM requests WHERE status IN ('new', 'in_progress') "
        "AND ((status = 'new' AND created_at < ?) OR due_at < ?) "
        "AND (reminded_at IS NULL OR reminded_at < ?)",
        (late, now.isoformat(timespec="seconds"), late),
    )
    return [row["id"] for row in rows]


async def due_soon_ids(db: Database, now: datetime) -> list[int]:
    """Open requests whose answer date comes within a day, not yet warned of (the due clock's first step)."""
    rows = await db.fetchall(
        "SELECT id FROM requests WHERE status IN ('new', 'in_progress') AND due_warned_at IS NULL "
        "AND due_at > ? AND due_at <= ?",
        (now.isoformat(timespec="seconds"), (now + timedelta(days=1)).isoformat(timespec="seconds")),
    )
    return [row["id"] for row in rows]
