"""The online consultation line: queue, live chat, end and rating, timeouts, transfers, bookings.

No Telegram types here. Everything that goes to someone other than the person acting is queued in
the outbox in the same transaction as the change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo

from bot.catalogue.loader import Catalogue
from bot.catalogue.models import Hours
from bot.consult import schedule
from bot.delivery.kinds import BOOKING_REMINDERS, Kind, Target
from bot.delivery.outbox import Outgoing, enqueue
from bot.errors import RequestError
from bot.requests.models import Attachment, Draft
from bot.requests.routing import route
from bot.requests.service import RequestService
from bot.storage.db import Connection, Database, IntegrityError, Row
from bot.storage.residents import has_consent
from bot.storage.updates import first_time

OPEN = ("queued", "active")
Clock = Callable[[], datetime]
# How long after its end a consultation still takes a message written before the end (`written_before_end`).
# Telegram keeps an update for a day at most, so nothing written before the end turns up later; and it numbers
# updates afresh only after a week without any, so within this window a lower number does mean earlier.
LATE_MESSAGES = timedelta(days=1)
# Booked times one resident may hold at once (a booking is a specialist's half hour kept for them).
MAX_FUTURE_BOOKINGS = 2


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Consultation:
    id: int
    community: str
    resident_id: Optional[int]
    topic: str
    institution_id: str
    status: str
    specialist_id: Optional[int]
    specialist_label: Optional[str]
    group_chat_id: Optional[int]
    thread_id: Optional[int]
    card_message_id: Optional[int]
    asked_at: str
    taken_at: Optional[str]
    ended_at: Optional[str]
    ended_by: Optional[str]
    rating: Optional[int]
    rating_comment: Optional[str]
    request_id: Optional[int]
    booking_id: Optional[int]
    purged_at: Optional[str]
    ended_update: Optional[int] = None  # the update that ended it (migration 0009)
    purged_why: Optional[str] = None  # 'resident' or 'retention' (migration 0013)

    @property
    def open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True)
class Line:
    topic: str
    institution_id: str
    hours: Hours


@dataclass(frozen=True)
class Booking:
    id: int
    community: str
    resident_id: Optional[int]
    topic: str
    institution_id: str
    starts_at: str
    status: str


@dataclass(frozen=True)
class Said:
    id: int
    at: str
    sender: str
    kind: str
    text: Optional[str]
    file_id: Optional[str]
    public: bool


def line_of(catalogue: Catalogue, community: str, topic: str) -> Line:
    """Who answers a topic in a community, and when: the community's `consultation` section, else the
    institution that handles the topic's life situation and the shared default hours."""
    view = catalogue.communities[community]
    topics = {t.id: t for t in catalogue.consultation_topics}
    if topic not in topics:
        raise RequestError("bad_topic")
    configured = next((line for line in view.model.consultation if line.topic == topic), None)
    institution = configured.institution if configured and configured.institution else None
    if institution is None:
        institution = route(view, situation_id=topics[topic].situation)
    hours = configured.hours if configured and configured.hours else catalogue.shared.schedule.default
    return Line(topic, institution, hours)


class ConsultService:
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

    async def bookings_of_day(self, community: str, institution_id: str, day: datetime) -> list[Booking]:
        local = day.astimezone(self.tz)
        start = datetime.combine(local.date(), datetime.min.time(), tzinfo=self.tz)
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE community = ? AND institution_id = ? AND status = 'booked' "
            "AND starts_at >= ? AND starts_at < ? ORDER BY starts_at",
            (community, institution_id, utc(start), utc(start + timedelta(days=1))))
        return [self._booking(r) for r in rows]

    # ----- the resident -------------------------------------------------------------------------------------

    async def start(self, resident_id: int, community: str, topic: str, question: str,
                    files: Iterable[Attachment] = (), *, update_id: Optional[int] = None,
                    booking_id: Optional[int] = None) -> Consultation:
        line = self.line(community, topic)
        if await self.open_for_resident(resident_id):
            raise RequestError("already_open")
        now = utc(self.clock())
        async with self.db.transaction() as conn:
            if update_id is not None and not await first_time(conn, update_id):
                raise RequestError("duplicate")
            cursor = await conn.execute(
                "INSERT INTO consultations (community, resident_id, topic, institution_id, status, asked_at, "
                "booking_id) VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                (community, resident_id, topic, line.institution_id, now, booking_id))
            cid = int(cursor.lastrowid)
            await self._say(conn, cid, "system" if booking_id else "resident", resident_id, question, files)
            consultation = await self._get(conn, cid)
            items = [self._to_group(consultation, Kind.CONSULT_CARD)]
            if booking_id:
                items += self._to_resident(consultation, Kind.CONSULT_BOOKED_OPEN)
            await enqueue(conn, items)
        return consultation

    async def resident_says(self, resident_id: int, text: str, files: Iterable[Attachment] = (),
                            *, update_id: Optional[int] = None) -> Consultation:
        consultation = await self.for_message(resident_id, update_id)
        if consultation is None:
            raise RequestError("not_found")
        async with self.db.transaction() as conn:
            if update_id is not None and not await first_time(conn, update_id):
                raise RequestError("duplicate")
            ids = await self._say(conn, consultation.id, "resident", resident_id, text, files)
            await enqueue(conn, [self._to_group(consultation, Kind.CONSULT_TO_GROUP, message_ids=ids)])
        return consultation

    async def end_by_resident(self, resident_id: int, *, update_id: Optional[int] = None) -> Consultation:
        consultation = await self.open_for_resident(resident_id)
        if consultation is None:
            raise RequestError("not_found")
        return await self._end(consultation, "resident", tell_resident=False, update_id=update_id)

    async def rate(self, resident_id: int, consultation_id: int, rating: int, comment: Optional[str] = None) -> None:
        """The resident's rating of an ended consultation, once: RequestError 'rated' for another one."""
        consultation = await self.get(consultation_id)
        if consultation is None or consultation.resident_id != resident_id:
            raise RequestError("not_found")
        if consultation.status != "ended" or not 1 <= rating <= 5:
            raise RequestError("not_finished")
        changed = await self.db.execute(
            "UPDATE consultations SET rating = ?, rating_comment = ? WHERE id = ? AND resident_id = ? "
            "AND status = 'ended' AND rating IS NULL", (rating, comment, consultation_id, resident_id))
        if changed != 1:
            raise RequestError("rated")

    async def rating_comment(self, resident_id: int, consultation_id: int, comment: str) -> bool:
        """The comment after the rating, once."""
        return await self.db.execute(
            "UPDATE consultations SET rating_comment = ? WHERE id = ? AND resident_id = ? AND rating IS NOT NULL "
            "AND rating_comment IS NULL", (comment, consultation_id, resident_id)) == 1

    async def call_back(self, resident_id: int, consultation_id: int, *, update_id: Optional[int] = None):
        """«Ask them to call me back» after the resident's consultation timed out: one request with what they
        wrote, once. Anything else (not theirs, not timed out, already done, over the daily cap) is RequestError
        and changes nothing."""
        async with self.db.transaction() as conn:
            consultation = await self._get(conn, consultation_id)
            if consultation.resident_id != resident_id:
                raise RequestError("not_found")
            if consultation.status != "timed_out":
                raise RequestError("not_timed_out")
            if consultation.request_id is not None:
                raise RequestError("done")
            request = await self.requests.create_in(conn, await self._transcript_draft(conn, consultation),
                                                    update_id=update_id)
            cursor = await conn.execute(
                "UPDATE consultations SET request_id = ? WHERE id = ? AND status = 'timed_out' AND request_id IS NULL",
                (request.id, consultation_id))
            if cursor.rowcount != 1:
                raise RequestError("done")
        return request

    async def call_back_new(self, resident_id: int, community: str, topic: str, description: str,
                            consent_version: int, *, update_id: Optional[int] = None):
        """«Ask them to call me back» offered with a topic: when the line is closed, or the resident's last
        consultation of the topic timed out (then it is that one's call back). Only after the resident's consent,
        once per update, within the daily cap of requests; otherwise RequestError and nothing changes."""
        line = self.line(community, topic)
        if not await has_consent(self.db, resident_id, consent_version):
            raise RequestError("no_consent")
        last = await self.db.fetchone(
            "SELECT id, status, request_id FROM consultations WHERE resident_id = ? AND community = ? AND topic = ? "
            "ORDER BY id DESC LIMIT 1", (resident_id, community, topic))
        if last is not None and last["status"] == "timed_out" and last["request_id"] is None:
            return await self.call_back(resident_id, last["id"], update_id=update_id)
        if self.is_open(line):
            raise RequestError("line_open")
        async with self.db.transaction() as conn:
            return await self.requests.create_in(conn, self._call_back_draft(community, resident_id, topic,
                                                                             description), update_id=update_id)

    def _call_back_draft(self, community: str, resident_id: int, topic_id: str, description: str) -> Draft:
        topic = next(t for t in self.catalogue.consultation_topics if t.id == topic_id)
        return Draft(community=community, resident_id=resident_id, situation_id=topic.situation, for_whom="self",
                     description=description, contact_method="chat")

    # ----- the specialist -----------------------------------------------------------------------------------

    async def for_group(self, chat_id: int, consultation_id: int) -> Consultation:
        group = await self.groups.bound(chat_id)
        consultation = await self.get(consultation_id)
        if consultation is None or (consultation.community, consultation.institution_id) != (
                group.community, group.institution_id):
            raise RequestError("other_institution")
        return consultation

    # A specialist's transition (take, end, transfer, turn into a request), like the resident's end and the
    # timeout, is one conditional UPDATE: of two at once exactly one changes the consultation, and only that one
    # writes what it sends, in the same transaction. The other changes nothing and is told why (`_too_late`).

    async def _too_late(self, conn: Connection, consultation_id: int, staff_id: Optional[int],
                        institution_id: str) -> RequestError:
        current = await self._get(conn, consultation_id)
        if current.institution_id != institution_id:
            return RequestError("transferred")
        if current.status == "active":
            if staff_id is not None and current.specialist_id == staff_id:
                return RequestError("taken_by_you")
            return RequestError("taken_by_other", current.specialist_label)
        if current.status == "queued":
            return RequestError("not_taken")
        return RequestError("closed", current.specialist_label if current.ended_by == "specialist" else None)

    async def take(self, chat_id: int, consultation_id: int, staff_id: int, label: str) -> Consultation:
        """The first specialist to press «Взяти» gets it; the others are told who did ('taken_by_other' with
        who), the same one's second press is 'taken_by_you'; neither changes or sends anything."""
        consultation = await self.for_group(chat_id, consultation_id)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE consultations SET status = 'active', specialist_id = ?, specialist_label = ?, taken_at = ? "
                "WHERE id = ? AND institution_id = ? AND status = 'queued'",
                (staff_id, label, utc(self.clock()), consultation_id, consultation.institution_id))
            if cursor.rowcount != 1:
                raise await self._too_late(conn, consultation_id, staff_id, consultation.institution_id)
            taken = await self._get(conn, consultation_id)
            await enqueue(conn, [self._to_group(taken, Kind.CONSULT_CARD_UPDATE),
                                     *self._to_resident(taken, Kind.CONSULT_TAKEN)])
        return taken

    async def specialist_says(self, chat_id: int, consultation_id: int, staff_id: int, text: str,
                              files: Iterable[Attachment] = (), *, update_id: Optional[int] = None) -> None:
        consultation = await self.for_group(chat_id, consultation_id)
        # written by its specialist while it was open, though the end was handled first: delivered, not refused
        late = consultation.specialist_id == staff_id and self.written_before_end(consultation, update_id)
        if consultation.status != "active" and not late:
            raise RequestError("not_taken" if consultation.status == "queued" else "closed")
        if consultation.specialist_id != staff_id:
            raise RequestError("taken_by_other")
        async with self.db.transaction() as conn:
            if update_id is not None and not await first_time(conn, update_id):
                raise RequestError("duplicate")
            ids = await self._say(conn, consultation.id, "specialist", staff_id, text, files)
            await enqueue(conn, self._to_resident(consultation, Kind.CONSULT_TO_RESIDENT, message_ids=ids))

    async def note(self, chat_id: int, consultation_id: int, staff_id: int, text: str) -> None:
        consultation = await self.for_group(chat_id, consultation_id)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO consultation_messages (consultation_id, at, sender, sender_id, kind, text, public) "
                "VALUES (?, ?, 'specialist', ?, 'note', ?, 0)", (consultation.id, utc(self.clock()), staff_id, text))

    async def end_by_specialist(self, chat_id: int, consultation_id: int, *,
                                update_id: Optional[int] = None) -> Consultation:
        consultation = await self.for_group(chat_id, consultation_id)
        if not consultation.open:
            raise RequestError("closed")
        return await self._end(consultation, "specialist", tell_resident=True, update_id=update_id)

    async def transfer(self, chat_id: int, consultation_id: int, *, topic: Optional[str] = None,
                       institution_id: Optional[str] = None) -> Consultation:
        consultation = await self.for_group(chat_id, consultation_id)
        if not consultation.open:
            raise RequestError("closed")
        view = self.catalogue.communities[consultation.community]
        new_topic = topic or consultation.topic
        target = institution_id or self.line(consultation.community, new_topic).institution_id
        if target not in view.institutions or (target, new_topic) == (consultation.institution_id,
                                                                          consultation.topic):
            raise RequestError("bad_institution")
        async with self.db.transaction() as conn:
            before = await self._get(conn, consultation_id)  # where its card is now
            cursor = await conn.execute(
                "UPDATE consultations SET topic = ?, institution_id = ?, status = 'queued', specialist_id = NULL, "
                "specialist_label = NULL, group_chat_id = NULL, thread_id = NULL, card_message_id = NULL, "
                "taken_at = NULL WHERE id = ? AND institution_id = ? AND topic = ? AND status IN ('queued', 'active')",
                (new_topic, target, consultation_id, consultation.institution_id, consultation.topic))
            if cursor.rowcount != 1:  # ended, or passed on by a colleague, since the press was read
                raise (RequestError("transferred") if before.open
                       else await self._too_late(conn, consultation_id, None, consultation.institution_id))
            if before.card_message_id:  # the old card says where it went and loses its buttons
                await enqueue(conn, [self._to_group(before, Kind.CONSULT_CARD_MOVED, chat_id=before.group_chat_id,
                                                    message_id=before.card_message_id)])
            moved = await self._get(conn, consultation_id)
            await enqueue(conn, [self._to_group(moved, Kind.CONSULT_CARD),
                                     *self._to_resident(moved, Kind.CONSULT_TRANSFERRED)])
        return moved

    async def convert(self, chat_id: int, consultation_id: int, staff_id: int, label: str, *,
                      update_id: Optional[int] = None):
        """Turn the consultation into an ordinary request, keeping the transcript: the request and the end are
        one transaction, so a second press (or an end at the same moment) makes no second request."""
        consultation = await self.for_group(chat_id, consultation_id)
        if not consultation.open:  # a stale or repeated press must not make a second request
            raise RequestError("closed")
        if consultation.resident_id is None:
            raise RequestError("no_resident")
        async with self.db.transaction() as conn:
            current = await self._get(conn, consultation_id)
            if not current.open or current.institution_id != consultation.institution_id:
                raise await self._too_late(conn, consultation_id, None, consultation.institution_id)
            request = await self.requests.create_in(conn, await self._transcript_draft(conn, current),
                                                    capped=False)
            await self._end_in(conn, current, "specialist", tell_resident=False, status="converted",
                               request_id=request.id, update_id=update_id)
        return request

    async def _transcript_draft(self, conn: Connection, consultation: Consultation) -> Draft:
        """A request's draft whose description is the consultation's transcript."""
        cursor = await conn.execute(
            "SELECT * FROM consultation_messages WHERE consultation_id = ? AND public = 1 ORDER BY id",
            (consultation.id,))
        lines = []
        for said in [Said(r["id"], r["at"], r["sender"], r["kind"], r["text"], r["file_id"], bool(r["public"]))
                     for r in await cursor.fetchall()]:
            who = {"resident": "Мешканець", "specialist": "Фахівець"}.get(said.sender, "Бот")
            what = {"photo": "фото", "document": "документ", "voice": "голосове повідомлення"}.get(said.kind, "файл")
            lines.append(f"{who}: {said.text or '[' + what + ']'}")
        topic = next(t for t in self.catalogue.consultation_topics if t.id == consultation.topic)
        draft = Draft(community=consultation.community, resident_id=consultation.resident_id or 0,
                      situation_id=topic.situation, for_whom="self",
                      description=("\n".join(lines))[:3000] or "—", contact_method="chat")
        return draft

    async def _end(self, consultation: Consultation, by: str, *, tell_resident: bool, status: str = "ended",
                   request_id: Optional[int] = None, update_id: Optional[int] = None) -> Consultation:
        """`update_id`: the update that ends it, by which messages handled after the end are told apart
        (`written_before_end`)."""
        async with self.db.transaction() as conn:
            return await self._end_in(conn, consultation, by, tell_resident=tell_resident, status=status,
                                      request_id=request_id, update_id=update_id)

    async def _end_in(self, conn: Connection, consultation: Consultation, by: str, *, tell_resident: bool,
                      status: str = "ended", request_id: Optional[int] = None,
                      update_id: Optional[int] = None) -> Consultation:
        """`_end` in the caller's transaction: only while it is open (and, for a specialist, still on their
        institution's line), else RequestError 'closed' (with who ended it) or 'transferred', nothing written."""
        line = consultation.institution_id if by == "specialist" else None
        cursor = await conn.execute(
            "UPDATE consultations SET status = ?, ended_at = ?, ended_by = ?, request_id = COALESCE(?, "
            "request_id), ended_update = ? WHERE id = ? AND status IN ('queued', 'active') "
            "AND (? IS NULL OR institution_id = ?)",
            (status, utc(self.clock()), by, request_id, update_id, consultation.id, line, line))
        if cursor.rowcount != 1:
            error = await self._too_late(conn, consultation.id, None, line or "")
            raise error if error.reason == "transferred" and line else RequestError("closed", error.who)
        ended = await self._get(conn, consultation.id)
        items = [self._to_group(ended, Kind.CONSULT_CARD_UPDATE),
                 self._to_group(ended, Kind.CONSULT_GROUP_NOTICE, notice=f"ended_by_{by}")]
        if tell_resident or status == "converted":
            items += self._to_resident(ended, Kind.CONSULT_ENDED if status == "ended" else Kind.CONSULT_CONVERTED,
                                       request_id=request_id)
        await enqueue(conn, items)
        return ended

    # ----- time: waiting too long, reminders ----------------------------------------------------------------

    async def time_out(self) -> list[Consultation]:
        """Queued consultations nobody took within the line's waiting time."""
        now = self.clock()
        out = []
        rows = await self.db.fetchall("SELECT * FROM consultations WHERE status = 'queued'")
        for row in rows:
            consultation = Consultation(**dict(row))
            line = self.line(consultation.community, consultation.topic)
            asked = datetime.fromisoformat(consultation.asked_at)
            if now - asked < timedelta(minutes=line.hours.wait_minutes) and self.is_open(line):
                continue
            async with self.db.transaction() as conn:
                cursor = await conn.execute(
                    "UPDATE consultations SET status = 'timed_out', ended_at = ?, ended_by = 'timeout' "
                    "WHERE id = ? AND status = 'queued'", (utc(now), consultation.id))
                if cursor.rowcount == 0:
                    continue
                ended = await self._get(conn, consultation.id)
                await enqueue(conn, [self._to_group(ended, Kind.CONSULT_CARD_UPDATE),
                                         *self._to_resident(ended, Kind.CONSULT_TIMED_OUT)])
            out.append(ended)
        return out

    async def remind_bookings(self) -> int:
        now = self.clock()
        count = 0
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE status = 'booked' AND starts_at > ? AND starts_at <= ?",
            (utc(now), utc(now + timedelta(days=1))))
        for row in rows:
            booking = self._booking(row)
            starts = datetime.fromisoformat(booking.starts_at)
            which = "hour" if starts - now <= timedelta(hours=1) else "day"
            column = f"reminded_{which}_at"
            if row[column] or (which == "hour" and row["reminded_hour_at"]):
                continue
            async with self.db.transaction() as conn:
                await conn.execute(f"UPDATE bookings SET {column} = ? WHERE id = ?", (utc(now), booking.id))
                if which == "hour":
                    await conn.execute("UPDATE bookings SET reminded_day_at = COALESCE(reminded_day_at, ?) "
                                       "WHERE id = ?", (utc(now), booking.id))
                await enqueue(conn, [self._booking_notice(booking, Kind(f"booking_reminder_{which}"))])
            count += 1
        return count

    async def open_due_bookings(self) -> list[Consultation]:
        """At a booked time the line opens a consultation for the resident, for a specialist to take."""
        now = self.clock()
        rows = await self.db.fetchall(
            "SELECT b.* FROM bookings b WHERE b.status = 'booked' AND b.starts_at <= ? AND b.resident_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM consultations c WHERE c.booking_id = b.id)", (utc(now),))
        opened = []
        for row in rows:
            booking = self._booking(row)
            if await self.open_for_resident(booking.resident_id):
                continue  # already talking; the specialist sees the booking in /queue
            local = datetime.fromisoformat(booking.starts_at).astimezone(self.tz)
            text = f"📅 {local:%d.%m.%Y %H:%M}"
            opened.append(await self.start(booking.resident_id, booking.community, booking.topic, text,
                                           booking_id=booking.id))
        return opened

    # ----- bookings -----------------------------------------------------------------------------------------

    async def free_slots(self, community: str, topic: str) -> list[datetime]:
        line = self.line(community, topic)
        rows = await self.db.fetchall(
            "SELECT starts_at FROM bookings WHERE community = ? AND institution_id = ? AND topic = ? "
            "AND status = 'booked' AND starts_at >= ?", (community, line.institution_id, topic, utc(self.clock())))
        taken = [datetime.fromisoformat(r["starts_at"]) for r in rows]
        return schedule.slots(self.clock(), line.hours, self.holidays, self.tz, taken)

    async def book(self, resident_id: int, community: str, topic: str, starts_at: datetime) -> Booking:
        """Book a free slot of the line: at most MAX_FUTURE_BOOKINGS times ahead per resident ('too_many') and
        Caps.bookings a day ('cap'); a slot the line does not offer or someone holds is 'slot_taken'."""
        line = self.line(community, topic)
        if starts_at.astimezone(timezone.utc) not in await self.free_slots(community, topic):
            raise RequestError("slot_taken")
        now = self.clock()
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT COUNT(*) FROM bookings WHERE resident_id = ? AND status = 'booked' AND starts_at >= ?",
                (resident_id, utc(now)))
            if (await cursor.fetchone())[0] >= MAX_FUTURE_BOOKINGS:
                raise RequestError("too_many")
            cap = self.requests.caps.bookings
            if cap:
                cursor = await conn.execute("SELECT COUNT(*) FROM bookings WHERE resident_id = ? AND created_at >= ?",
                                            (resident_id, utc(now - timedelta(days=1))))
                if (await cursor.fetchone())[0] >= cap:
                    raise RequestError("cap")
            try:
                cursor = await conn.execute(
                    "INSERT INTO bookings (community, resident_id, topic, institution_id, starts_at, status, "
                    "created_at) VALUES (?, ?, ?, ?, ?, 'booked', ?)",
                    (community, resident_id, topic, line.institution_id, utc(starts_at), utc(self.clock())))
            except IntegrityError:
                raise RequestError("slot_taken") from None
            cursor = await conn.execute("SELECT * FROM bookings WHERE id = ?", (cursor.lastrowid,))
            booking = self._booking(await cursor.fetchone())
            await enqueue(conn, [self._booking_notice(booking, Kind.BOOKING_TO_GROUP)])
        return booking

    async def bookings_of(self, resident_id: int) -> list[Booking]:
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE resident_id = ? AND status = 'booked' AND starts_at >= ? "
            "ORDER BY starts_at", (resident_id, utc(self.clock() - timedelta(hours=1))))
        return [self._booking(r) for r in rows]

    async def cancel_booking(self, resident_id: int, booking_id: int) -> Booking:
        row = await self.db.fetchone("SELECT * FROM bookings WHERE id = ?", (booking_id,))
        if row is None or row["resident_id"] != resident_id or row["status"] != "booked":
            raise RequestError("not_found")
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE bookings SET status = 'cancelled' WHERE id = ?", (booking_id,))
            booking = self._booking(row)
            await enqueue(conn, [self._booking_notice(booking, Kind.BOOKING_CANCELLED_TO_GROUP)])
        return booking

    async def booking(self, booking_id: int) -> Optional[Booking]:
        row = await self.db.fetchone("SELECT * FROM bookings WHERE id = ?", (booking_id,))
        return self._booking(row) if row is not None else None

    @staticmethod
    def _booking(row: Row) -> Booking:
        return Booking(row["id"], row["community"], row["resident_id"], row["topic"], row["institution_id"],
                       row["starts_at"], row["status"])

    # ----- personal data ------------------------------------------------------------------------------------

    async def delete_personal_data(self, resident_id: int) -> int:
        """Transcripts, comments and bookings of the resident: texts and files go, anonymous counts stay."""
        async with self.db.transaction() as conn:
            ids = await self._end_and_purge_in(conn, resident_id)
            await conn.execute(
                "UPDATE bookings SET status = CASE WHEN status = 'booked' THEN 'cancelled' ELSE status END, "
                "resident_id = NULL WHERE resident_id = ?", (resident_id,))
        return len(ids)

    async def _end_and_purge_in(self, conn: Connection, resident_id: int) -> list[int]:
        """The resident's open consultations end, and all of theirs lose texts and files; returns their ids."""
        cursor = await conn.execute("SELECT id FROM consultations WHERE resident_id = ?", (resident_id,))
        ids = [row[0] for row in await cursor.fetchall()]
        await conn.execute(
            "UPDATE consultations SET status = CASE WHEN status IN ('queued', 'active') THEN 'ended' "
            "ELSE status END, ended_at = COALESCE(ended_at, ?), ended_by = COALESCE(ended_by, 'resident') "
            "WHERE resident_id = ?", (utc(self.clock()), resident_id))
        await self._purge(conn, ids, "resident")
        return ids

    # (for bot.privacy, inside its transaction)

    async def erase_resident_in(self, conn: Connection, resident_id: int) -> list[int]:
        """🗑: the resident's consultations end (open ones) and lose their texts and files; their booked times
        are cancelled (the group is told, as when the resident cancels one) and no longer name them. Returns
        the consultations' ids."""
        ids = await self._end_and_purge_in(conn, resident_id)
        cursor = await conn.execute("SELECT * FROM bookings WHERE resident_id = ? AND status = 'booked'",
                                    (resident_id,))
        await enqueue(conn, [self._booking_notice(self._booking(row), Kind.BOOKING_CANCELLED_TO_GROUP)
                             for row in await cursor.fetchall()])
        await conn.execute(
            "UPDATE bookings SET status = CASE WHEN status = 'booked' THEN 'cancelled' ELSE status END, "
            "resident_id = NULL WHERE resident_id = ?", (resident_id,))
        return ids

    @staticmethod
    async def ids_ended_before(conn: Connection, limit: str) -> list[int]:
        cursor = await conn.execute(
            "SELECT id FROM consultations WHERE ended_at IS NOT NULL AND ended_at < ? AND purged_at IS NULL", (limit,))
        return [row[0] for row in await cursor.fetchall()]

    async def purge_in(self, conn: Connection, ids: list[int], why: str) -> None:
        await self._purge(conn, ids, why)

    async def purge_ended(self, older_than_days: int, now: Optional[datetime] = None) -> int:
        """Retention: transcripts of consultations that ended longer ago than the configured period."""
        limit = utc((now or self.clock()) - timedelta(days=older_than_days))
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT id FROM consultations WHERE ended_at IS NOT NULL AND ended_at < ? AND purged_at IS NULL",
                (limit,))
            ids = [row[0] for row in await cursor.fetchall()]
            await self._purge(conn, ids, "retention")
        return len(ids)

    async def _purge(self, conn: Connection, ids: list[int], why: Optional[str] = None) -> None:
        now = utc(self.clock())
        for cid in ids:
            await conn.execute("UPDATE consultations SET resident_id = NULL, rating_comment = NULL, purged_at = ?, "
                               "purged_why = COALESCE(?, purged_why) WHERE id = ?", (now, why, cid))
            await conn.execute("UPDATE consultation_messages SET text = NULL, file_id = NULL, sender_id = CASE "
                               "WHEN sender = 'resident' THEN NULL ELSE sender_id END WHERE consultation_id = ?",
                               (cid,))

    # ----- plumbing -----------------------------------------------------------------------------------------

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

    @staticmethod
    def _booking_notice(booking: Booking, kind: Kind) -> Outgoing:
        if kind in BOOKING_REMINDERS:
            return Outgoing(kind, Target.resident(booking.resident_id), {"booking_id": booking.id})
        return Outgoing(kind, Target.institution(booking.community, booking.institution_id), {"booking_id": booking.id})


    async def set_card(self, consultation_id: int, chat_id: int, thread_id: Optional[int], message_id: int) -> None:
        await self.db.execute(
            "UPDATE consultations SET group_chat_id = ?, thread_id = ?, card_message_id = ? WHERE id = ?",
            (chat_id, thread_id, message_id, consultation_id))
