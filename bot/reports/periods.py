"""Report periods: calendar months, quarters and years, or any span of days, and the period before each."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

PRESETS = ("this_month", "last_month", "this_quarter", "this_year", "last_year")


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_months(day: date, months: int, *, to_month_end: bool = False) -> date:
    """The same day `months` later (earlier when negative), clamped to the month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    length = last_day(year, month)
    return date(year, month, length if to_month_end else min(day.day, length))


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both included, in the deployment's time zone.

    `months` is set when the period is a run of calendar months (or the first part of one, "this month so far"):
    the period before it is then the same months one step back, not the same number of days."""

    start: date
    end: date
    months: Optional[int] = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period ends before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        if self.months:
            start = add_months(self.start, -self.months)
            whole = self.end.day == last_day(self.end.year, self.end.month)
            end = add_months(self.end, -self.months, to_month_end=whole)
            return Period(start, end, self.months)
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def utc_bounds(self, tz: ZoneInfo) -> tuple[str, str]:
        """[from, to) as stored timestamps (UTC, ISO 8601) compare: local midnights converted to UTC."""
        begin = datetime.combine(self.start, time(), tz).astimezone(timezone.utc)
        finish = datetime.combine(self.end + timedelta(days=1), time(), tz).astimezone(timezone.utc)
        return begin.isoformat(timespec="seconds"), finish.isoformat(timespec="seconds")

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def label(self) -> str:
        return f"{self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"

    @classmethod
    def between(cls, start: date, end: date) -> "Period":
        """Any span; whole calendar months compare with the months before, other spans with as many days."""
        if start.day == 1 and end.day == last_day(end.year, end.month):
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            return cls(start, end, months)
        return cls(start, end)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def preset(name: str, today: date) -> Period:
    """A named period as seen on `today`; the current month, quarter and year run up to today."""
    if name == "this_month":
        return Period(today.replace(day=1), today, 1)
    if name == "last_month":
        start = add_months(today.replace(day=1), -1)
        return Period(start, date(start.year, start.month, last_day(start.year, start.month)), 1)
    if name == "this_quarter":
        return Period(quarter_start(today), today, 3)
    if name == "this_year":
        return Period(date(today.year, 1, 1), today, 12)
    if name == "last_year":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), 12)
    raise ValueError(f"unknown period {name!r}")


def weeks(period: Period) -> list[date]:
    """Mondays of the weeks the period touches."""
    first = period.start - timedelta(days=period.start.weekday())
    out = []
    while first <= period.end:
        out.append(first)
        first += timedelta(days=7)
    return out


def months_of(period: Period) -> list[date]:
    """First days of the months the period touches."""
    out = []
    current = period.start.replace(day=1)
    while current <= period.end:
        out.append(current)
        current = add_months(current, 1)
    return out
