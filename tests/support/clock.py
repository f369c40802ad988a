"""The time the tests run on.

The consultation line has hours, days of the week and holidays, and its timers (the wait for a specialist,
booking reminders, booked times opening) go by the line's clock (`ConsultService.clock`). A test that left that
clock on the wall would do one thing on a Tuesday noon and another at 3 a.m. on a Sunday, so every test that
reaches the line sets it: to a fixed moment, or to one that starts at a chosen moment and then runs at the real
pace (when the test needs the timers to run out: `running`, in benchmarks/botclock.py).

A bot in a process of its own (the kill -9 day) runs on such a clock with `python -m benchmarks.botclock`
(benchmarks/botclock.py, where the moments below come from: the benchmarks import nothing from tests/).
"""
from __future__ import annotations

from datetime import datetime

from benchmarks.botclock import IN_HOURS, KYIV, Clock

__all__ = ["IN_HOURS", "KYIV", "Clock", "fixed"]


def fixed(moment: datetime = IN_HOURS) -> Clock:
    """Always `moment`: the line is open (or closed) all along, and nothing times out."""
    return lambda: moment
