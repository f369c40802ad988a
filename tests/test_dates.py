from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from bot.dates import human_date, human_datetime

KYIV = ZoneInfo("Europe/Kyiv")


def test_ukrainian_long_date():
    assert human_date(date(2026, 11, 24), "uk") == "24 листопада 2026\u202fр."
    assert human_date(date(2026, 3, 1), "uk") == "1 березня 2026\u202fр."


def test_english_long_date():
    assert human_date(date(2026, 11, 24), "en") == "November 24, 2026"


def test_kyiv_time_with_summer_and_winter_offsets():
    assert human_datetime(datetime(2026, 11, 24, 12, 5, tzinfo=timezone.utc), "uk", KYIV) == "24.11.2026, 14:05"
    assert human_datetime(datetime(2026, 7, 1, 12, 5, tzinfo=timezone.utc), "uk", KYIV) == "01.07.2026, 15:05"
