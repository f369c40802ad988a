"""The online consultation line: the service the dialogs call (`services.consult`). The records are in
bot.consult.store, the booked times in bot.consult.bookings, the queue, taking, conversation and end in
bot.consult.line; here the resident's rating, turning a consultation into a request, and the
removal of personal data (the SQL of which is in bot.consult.personal); «call me back» is bot.consult.call_back. No
Telegram types here."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from bot.consult import personal
from bot.consult.line import ConsultLine
from bot.consult.models import Booking, Consultation, Line, Said, line_of, utc
from bot.delivery.kinds import Kind
from bot.delivery.outbox import enqueue
from bot.errors import RequestError
from bot.requests.models import Draft
from bot.storage.db import Connection

# the records' names, importable from here as before the service was split
__all__ = ["Booking", "ConsultService", "Consultation", "Line", "Said", "line_of", "utc"]


class ConsultService(ConsultLine):
    # ----- the resident's rating (the call back is bot.consult.call_back) -----------------------------------------

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

    # ----- a consultation becomes a request ----------------------------------------------------------------

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

    async def transcript_draft(self, conn: Connection, consultation: Consultation) -> Draft:
        """`_transcript_draft`, for a transaction of the caller's (bot/consult/call_back.py)."""
        return await self._transcript_draft(conn, consultation)

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

    # ----- personal data (the SQL is in bot.consult.personal) ----------------------------------------------

    async def delete_personal_data(self, resident_id: int) -> int:
        """Transcripts, comments and bookings of the resident: texts and files go, anonymous counts stay."""
        async with self.db.transaction() as conn:
            ids = await self._end_and_purge_in(conn, resident_id)
            await personal.unlink_bookings_in(conn, resident_id)
        return len(ids)

    async def _end_and_purge_in(self, conn: Connection, resident_id: int) -> list[int]:
        """The resident's open consultations end, and all of theirs lose texts and files; returns their ids."""
        ids = await personal.end_all_in(conn, resident_id, utc(self.clock()))
        await self._purge(conn, ids, "resident")
        return ids

    # (for bot.privacy, inside its transaction)

    async def erase_resident_in(self, conn: Connection, resident_id: int) -> list[int]:
        """🗑: the resident's consultations end (open ones) and lose their texts and files; their booked times
        are cancelled (the group is told, as when the resident cancels one) and no longer name them. Returns
        the consultations' ids."""
        ids = await self._end_and_purge_in(conn, resident_id)
        await enqueue(conn, [self._booking_notice(self._booking(row), Kind.BOOKING_CANCELLED_TO_GROUP)
                             for row in await personal.booked_in(conn, resident_id)])
        await personal.unlink_bookings_in(conn, resident_id)
        return ids

    @staticmethod
    async def ids_ended_before(conn: Connection, limit: str) -> list[int]:
        return await personal.ids_ended_before(conn, limit)

    async def purge_in(self, conn: Connection, ids: list[int], why: str) -> None:
        await self._purge(conn, ids, why)

    async def purge_ended(self, older_than_days: int, now: Optional[datetime] = None) -> int:
        """Retention: transcripts of consultations that ended longer ago than the configured period."""
        limit = utc((now or self.clock()) - timedelta(days=older_than_days))
        async with self.db.transaction() as conn:
            ids = await personal.ids_ended_before(conn, limit)
            await self._purge(conn, ids, "retention")
        return len(ids)

    async def _purge(self, conn: Connection, ids: list[int], why: Optional[str] = None) -> None:
        await personal.purge_in(conn, ids, why, utc(self.clock()))
