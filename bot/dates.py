"""Dates and times as people read them, in Ukrainian or English, in the configured time zone."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


def human_date(day: date | datetime, locale: str) -> str:
    """24 листопада 2026 р. / November 24, 2026."""
    return format_date(day, format="long", locale=locale)


def human_datetime(moment: datetime, locale: str, tz: ZoneInfo) -> str:
    """24.11.2026, 14:05 in Kyiv time (24-hour clock in both languages)."""
    pattern = "dd.MM.yyyy, HH:mm" if locale == "uk" else "d MMM yyyy, HH:mm"
    return format_datetime(local(moment, tz), pattern, tzinfo=tz, locale=locale)
