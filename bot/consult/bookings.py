"""Booked consultation times: the free slots of a line, booking and cancelling, the reminders, the day's
bookings of an institution. Owns the table `bookings` (with bot.consult.personal). No Telegram types here."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from bot.consult import schedule
from bot.consult.models import MAX_FUTURE_BOOKINGS, Booking, utc
from bot.consult.store import ConsultStore
from bot.delivery.kinds import BOOKING_REMINDERS, Kind, Target
from bot.delivery.outbox import Outgoing, enqueue
from bot.errors import RequestError
from bot.storage.db import IntegrityError, Row


class Bookings(ConsultStore):
    async def bookings_of_day(self, community: str, institution_id: str, day: datetime) -> list[Booking]:
        local = day.astimezone(self.tz)
        start = datetime.combine(local.date(), datetime.min.time(), tzinfo=self.tz)
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE community = ? AND institution_id = ? AND status = 'booked' "
            "AND starts_at >= ? AND starts_at < ? ORDER BY starts_at",
            (community, institution_id, utc(start), utc(start + timedelta(days=1))))
        return [self._booking(r) for r in rows]

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
            if which == "day" and not schedule.reminded_the_day_before(datetime.fromisoformat(row["created_at"]),
                                                                        starts):
                continue  # booked for within a day: only the hour's reminder was promised
            async with self.db.transaction() as conn:
                await conn.execute(f"UPDATE bookings SET {column} = ? WHERE id = ?", (utc(now), booking.id))
                if which == "hour":
                    await conn.execute("UPDATE bookings SET reminded_day_at = COALESCE(reminded_day_at, ?) "
                                       "WHERE id = ?", (utc(now), booking.id))
                await enqueue(conn, [self._booking_notice(booking, Kind(f"booking_reminder_{which}"))])
            count += 1
        return count

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

    @staticmethod
    def _booking_notice(booking: Booking, kind: Kind) -> Outgoing:
        if kind in BOOKING_REMINDERS:
            return Outgoing(kind, Target.resident(booking.resident_id), {"booking_id": booking.id})
        return Outgoing(kind, Target.institution(booking.community, booking.institution_id), {"booking_id": booking.id})

