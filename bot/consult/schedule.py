"""Working hours of the consultation line and bookable slots, in the deployment's time zone."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

from bot.catalogue.models import Hours

MIN_NOTICE = timedelta(hours=1)  # a slot must start at least this long after booking


def working_day(day: date, hours: Hours, holidays: Iterable[date]) -> bool:
    return hours.works_on(day) and day not in set(holidays)


def is_open(now: datetime, hours: Hours, holidays: Iterable[date], tz: ZoneInfo) -> bool:
    local = now.astimezone(tz)
    return working_day(local.date(), hours, holidays) and hours.start <= local.time() < hours.end


def next_opening(now: datetime, hours: Hours, holidays: Iterable[date], tz: ZoneInfo) -> datetime:
    """The next moment the line opens (now, if it is open)."""
    holidays = list(holidays)
    local = now.astimezone(tz)
    for offset in range(0, 60):
        day = local.date() + timedelta(days=offset)
        if not working_day(day, hours, holidays):
            continue
        opening = datetime.combine(day, hours.start, tzinfo=tz)
        closing = datetime.combine(day, hours.end, tzinfo=tz)
        if local < closing:
            return max(opening, local).astimezone(timezone.utc)
    raise ValueError("the line has no working day in the next 60 days")


def slots(now: datetime, hours: Hours, holidays: Iterable[date], tz: ZoneInfo,
          taken: Iterable[datetime] = ()) -> list[datetime]:
    """Free slot starts (UTC) on the next `booking_days_ahead` working days."""
    holidays = list(holidays)
    busy = {t.astimezone(timezone.utc) for t in taken}
    earliest = now + MIN_NOTICE
    found: list[datetime] = []
    day = now.astimezone(tz).date()
    days_seen = 0
    step = timedelta(minutes=hours.slot_minutes)
    while days_seen < hours.booking_days_ahead and (day - now.astimezone(tz).date()).days < 60:
        if working_day(day, hours, holidays):
            moment = datetime.combine(day, hours.start, tzinfo=tz)
            closing = datetime.combine(day, hours.end, tzinfo=tz)
            any_today = False
            while moment + step <= closing:
                start = moment.astimezone(timezone.utc)
                if start >= earliest and start not in busy:
                    found.append(start)
                    any_today = True
                moment += step
            if any_today:
                days_seen += 1
        day += timedelta(days=1)
    return found


def by_day(moments: Iterable[datetime], tz: ZoneInfo) -> list[tuple[date, list[datetime]]]:
    """Slot starts grouped by their local day, days and times in order: one screen of the booking per day."""
    days: dict[date, list[datetime]] = {}
    for moment in sorted(moments):
        days.setdefault(moment.astimezone(tz).date(), []).append(moment)
    return list(days.items())


def reminded_the_day_before(booked_at: datetime, starts: datetime) -> bool:
    """Whether a booking gets the reminder the day before (besides the one an hour before): only when it was
    booked more than a day ahead; a time booked for later today or tomorrow morning is not reminded twice."""
    return starts - booked_at > timedelta(days=1)
