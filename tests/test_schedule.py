from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from bot.catalogue.models import Hours
from bot.consult.schedule import is_open, next_opening, slots

KYIV = ZoneInfo("Europe/Kyiv")
HOURS = Hours(days=["mon", "tue", "wed", "thu", "fri"], start=time(9), end=time(17), slot_minutes=30,
              wait_minutes=15, booking_days_ahead=2)


def kyiv(*args):
    return datetime(*args, tzinfo=KYIV).astimezone(timezone.utc)


def test_open_in_hours_closed_outside_weekends_and_holidays():
    assert is_open(kyiv(2026, 11, 24, 10, 0), HOURS, [], KYIV)  # Tuesday 10:00
    assert not is_open(kyiv(2026, 11, 24, 17, 0), HOURS, [], KYIV)
    assert not is_open(kyiv(2026, 11, 24, 8, 59), HOURS, [], KYIV)
    assert not is_open(kyiv(2026, 11, 28, 10, 0), HOURS, [], KYIV)  # Saturday
    assert not is_open(kyiv(2026, 11, 24, 10, 0), HOURS, [date(2026, 11, 24)], KYIV)


def test_next_opening_skips_the_weekend():
    assert next_opening(kyiv(2026, 11, 27, 18, 0), HOURS, [], KYIV) == kyiv(2026, 11, 30, 9, 0)
    assert next_opening(kyiv(2026, 11, 24, 10, 0), HOURS, [], KYIV) == kyiv(2026, 11, 24, 10, 0)


def test_slots_of_the_next_working_days_without_taken_ones():
    found = slots(kyiv(2026, 11, 27, 16, 0), HOURS, [date(2026, 11, 30)], KYIV, taken=[kyiv(2026, 12, 1, 9, 30)])
    assert found[0] == kyiv(2026, 12, 1, 9, 0)  # Friday's last slot is too soon, Monday is a holiday
    assert kyiv(2026, 12, 1, 9, 30) not in found
    assert found[-1] == kyiv(2026, 12, 2, 16, 30)
    assert len(found) == 16 + 15
