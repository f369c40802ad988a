"""The consultation line's records: reading consultations and their transcripts, writing what was said, where
a card is, and the outbox rows about a consultation. Owns the tables `consultations` and `consultation_messages`
(with bot.consult.bookings, bot.consult.personal and bot.consult.stats). `ConsultService` (bot.consult.service)
adds the bookings, the line's actions and the personal data. No Telegram types here."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Optional
from zoneinfo import ZoneInfo

from bot.catalogue.loader import Catalogue
from bot.consult import schedule
from bot.consult.models import LATE_MESSAGES, OPEN, Clock, Consultation, Line, Said, line_of, utc
from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Outgoing
from bot.errors import RequestError
from bot.requests.models import Attachment
from bot.requests.service import RequestService
from bot.storage.db import Connection, Database


class ConsultStore:
    def __init__(self, db: Database, catalogue: Catalogue, tz: ZoneInfo, requests: RequestService,
                 clock: Optional[Clock] = None):
        self.db = db
        self.catalogue = catalogue
        self.tz = tz
        self.requests = requests
        self.groups = requests.groups  # the staff groups, the same for requests and consultations
        self.groups.add_waiting("c", self.cards_waiting)
        self.clock: Clock = clock or (lambda: datetime.now(timezone.utc))

    # ----- lines and hours ----------------------------------------------------------------------------------

    @property
    def holidays(self):
        return self.catalogue.shared.schedule.holidays

    def line(self, community: str, topic: str) -> Line:
        return line_of(self.catalogue, community, topic)

    def is_open(self, line: Line) -> bool:
        return schedule.is_open(self.clock(), line.hours, self.holidays, self.tz)

    def next_opening(self, line: Line) -> datetime:
        return schedule.next_opening(self.clock(), line.hours, self.holidays, self.tz)

    # ----- reading ------------------------------------------------------------------------------------------

    async def get(self, consultation_id: int) -> Optional[Consultation]:
        row = await self.db.fetchone("SELECT * FROM consultations WHERE id = ?", (consultation_id,))
        return Consultation(**dict(row)) if row else None

    async def get_in(self, conn: Connection, consultation_id: int) -> Consultation:
        """The consultation, read inside a transaction of the caller's (RequestError when there is none)."""
        return await self._get(conn, consultation_id)

    async def _get(self, conn: Connection, consultation_id: int) -> Consultation:
        cursor = await conn.execute("SELECT * FROM consultations WHERE id = ?", (consultation_id,))
        row = await cursor.fetchone()
        if row is None:
            raise RequestError("not_found")
        return Consultation(**dict(row))

    async def open_for_resident(self, resident_id: int) -> Optional[Consultation]:
        row = await self.db.fetchone(
            "SELECT * FROM consultations WHERE resident_id = ? AND status IN ('queued', 'active') "
            "ORDER BY id DESC LIMIT 1", (resident_id,))
        return Consultation(**dict(row)) if row else None

    async def for_message(self, resident_id: int, update_id: Optional[int]) -> Optional[Consultation]:
        """The consultation a resident's message (of update `update_id`) belongs to: the open one, or else the
        last one when it was ended by a later update (see `written_before_end`)."""
        row = await self.db.fetchone(
            "SELECT * FROM consultations WHERE resident_id = ? ORDER BY status IN ('queued', 'active') DESC, id DESC "
            "LIMIT 1", (resident_id,))
        consultation = Consultation(**dict(row)) if row else None
        if consultation is not None and (consultation.open or self.written_before_end(consultation, update_id)):
            return consultation
        return None

    def written_before_end(self, consultation: Consultation, update_id: Optional[int]) -> bool:
        """Was the message of update `update_id` written while `consultation` was still open, though its end was
        handled first? Updates are handled side by side (a whole batch at once after a restart), so the
        resident's «end» can overtake the specialist's last message, or the other way round; Telegram numbers
        updates in the order they happen, so a lower number than the end's means written before it."""
        if (consultation.status not in ("ended", "converted") or consultation.ended_update is None
                or update_id is None or consultation.ended_at is None):
            return False
        ended = datetime.fromisoformat(consultation.ended_at)
        return update_id < consultation.ended_update and self.clock() - ended <= LATE_MESSAGES

    async def past_for_resident(self, resident_id: int, limit: int = 10) -> list[Consultation]:
        rows = await self.db.fetchall(
            "SELECT * FROM consultations WHERE resident_id = ? ORDER BY id DESC LIMIT ?", (resident_id, limit))
        return [Consultation(**dict(r)) for r in rows]

    async def by_thread(self, chat_id: int, thread_id: int) -> Optional[Consultation]:
        row = await self.db.fetchone(
            "SELECT * FROM consultations WHERE group_chat_id = ? AND thread_id = ? ORDER BY id DESC LIMIT 1",
            (chat_id, thread_id))
        return Consultation(**dict(row)) if row else None

    async def by_card(self, chat_id: int, message_id: int) -> Optional[Consultation]:
        row = await self.db.fetchone(
            "SELECT * FROM consultations WHERE group_chat_id = ? AND card_message_id = ?", (chat_id, message_id))
        return Consultation(**dict(row)) if row else None

    async def cards_waiting(self, conn: Connection, community: str, institution_id: str, chat_id: int,
                            lost_chats: set[int], held: set[int]) -> list[tuple[str, int]]:
        """The consultations a newly bound group of the institution must get (see `GroupService.add_waiting`):
        those whose rows wait (`held`) and the open ones whose group was lost, as (when asked, id)."""
        cursor = await conn.execute(
            "SELECT id, asked_at, status, group_chat_id FROM consultations WHERE community = ? AND institution_id = ? "
            "AND (group_chat_id IS NULL OR group_chat_id != ?)", (community, institution_id, chat_id))
        cards = []
        for c in await cursor.fetchall():
            lost = c["group_chat_id"] in lost_chats and c["status"] in OPEN
            if lost or c["id"] in held:
                cards.append((c["asked_at"], c["id"]))
        return cards

    async def position(self, consultation: Consultation) -> int:
        """1 for the first in the institution's queue."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM consultations WHERE community = ? AND institution_id = ? AND status = 'queued' "
            "AND id <= ?", (consultation.community, consultation.institution_id, consultation.id))
        return int(row[0])

    async def transcript(self, consultation_id: int, *, public_only: bool = True) -> list[Said]:
        sql = "SELECT * FROM consultation_messages WHERE consultation_id = ?" + (" AND public = 1" if public_only
                                                                                 else "")
        rows = await self.db.fetchall(sql + " ORDER BY id", (consultation_id,))
        return [Said(r["id"], r["at"], r["sender"], r["kind"], r["text"], r["file_id"], bool(r["public"]))
                for r in rows]

    async def said(self, message_id: int) -> Said:
        r = await self.db.fetchone("SELECT * FROM consultation_messages WHERE id = ?", (message_id,))
        if r is None:
            raise RequestError("not_found")
        return Said(r["id"], r["at"], r["sender"], r["kind"], r["text"], r["file_id"], bool(r["public"]))

    async def queue_of(self, community: str, institution_id: str) -> list[Consultation]:
        rows = await self.db.fetchall(
            "SELECT * FROM consultations WHERE community = ? AND institution_id = ? AND status IN "
            "('queued', 'active') ORDER BY asked_at", (community, institution_id))
        return [Consultation(**dict(r)) for r in rows]

    # ----- writing ------------------------------------------------------------------------------------------

    async def _say(self, conn: Connection, cid: int, sender: str, sender_id: Optional[int], text: str,
                   files: Iterable[Attachment]) -> list[int]:
        now = utc(self.clock())
        ids = []
        if text:
            cursor = await conn.execute(
                "INSERT INTO consultation_messages (consultation_id, at, sender, sender_id, kind, text) "
                "VALUES (?, ?, ?, ?, 'text', ?)", (cid, now, sender, sender_id, text))
            ids.append(int(cursor.lastrowid))
        for item in files:
            cursor = await conn.execute(
                "INSERT INTO consultation_messages (consultation_id, at, sender, sender_id, kind, file_id) "
                "VALUES (?, ?, ?, ?, ?, ?)", (cid, now, sender, sender_id, item.kind, item.file_id))
            ids.append(int(cursor.lastrowid))
        return ids

    @staticmethod
    def _to_group(consultation: Consultation, kind: Kind, **extra: Any) -> Outgoing:
        return Outgoing(kind, Target.institution(consultation.community, consultation.institution_id),
                        {"consultation_id": consultation.id, **extra})

    @staticmethod
    def _to_resident(consultation: Consultation, kind: Kind, **extra: Any) -> list[Outgoing]:
        if consultation.resident_id is None:
            return []
        return [Outgoing(kind, Target.resident(consultation.resident_id),
                         {"consultation_id": consultation.id, **extra})]

    async def set_card(self, consultation_id: int, chat_id: int, thread_id: Optional[int], message_id: int) -> None:
        await self.db.execute(
            "UPDATE consultations SET group_chat_id = ?, thread_id = ?, card_message_id = ? WHERE id = ?",
            (chat_id, thread_id, message_id, consultation_id))


async def open_institutions(db: Database) -> set[tuple[str, str]]:
    """(community, institution_id) of every consultation still open (queued or active)."""
    rows = await db.fetchall(
        "SELECT DISTINCT community, institution_id FROM consultations WHERE status IN ('queued', 'active')")
    return {(row["community"], row["institution_id"]) for row in rows}
