"""The consultation line itself: the queue, a specialist taking a consultation, the conversation both ways,
transfers, the end (by either side or by waiting too long) and the consultations opened at a booked time. No
Telegram types here. Everything that goes to someone other than the person acting is queued in the outbox in the
same transaction as the change."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

from bot.consult.bookings import Bookings
from bot.consult.models import Consultation, utc
from bot.delivery.kinds import Kind
from bot.delivery.outbox import enqueue
from bot.errors import RequestError
from bot.requests.models import Attachment
from bot.storage.db import Connection
from bot.storage.updates import first_time


class ConsultLine(Bookings):
    # ----- the resident -------------------------------------------------------------------------------------

    async def start(self, resident_id: int, community: str, topic: str, question: str,
                    files: Iterable[Attachment] = (), *, update_id: Optional[int] = None,
                    booking_id: Optional[int] = None) -> Consultation:
        line = self.line(community, topic)
        now = utc(self.clock())
        async with self.db.transaction() as conn:
            if update_id is not None and not await first_time(conn, update_id):
                raise RequestError("duplicate")
            if await self.open_for_resident(resident_id):  # checked under the write lock: one open at a time
                raise RequestError("already_open")
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
