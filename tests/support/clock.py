"""The time the tests run on.

The consultation line has hours, days of the week and holidays, and its timers (the wait for a specialist,
booking reminders, booked times opening) go by the line's clock (`ConsultService.clock`). A test that left that
clock on the wall would do one thing on a Tuesday noon and another at 3 a.m. on a Sunday, so every test that
reaches the line sets it: to a fixed moment, or to one that starts at a chosen moment and then runs at the real
pace (when the test needs the timers to run out).

For a bot in a process of its own (the kill -9 day), run it with `python -m tests.support.clock START ORIGIN <bot args>`
(see `bot_command`): the same as `python -m bot <bot args>`, with the line's clock reading START at the wall-clock
moment ORIGIN. Every process of one run gets the same pair, so the clock goes on across restarts.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Sequence
from zoneinfo import ZoneInfo

from bot.config import PROJECT_ROOT

KYIV = ZoneInfo("Europe/Kyiv")
# a working Tuesday at 10:00 Kyiv time: within the shipped hours (weekdays 9:00-17:00) for the next 7 hours
IN_HOURS = datetime(2026, 12, 1, 10, 0, tzinfo=KYIV).astimezone(timezone.utc)

Clock = Callable[[], datetime]


def fixed(moment: datetime = IN_HOURS) -> Clock:
    """Always `moment`: the line is open (or closed) all along, and nothing times out."""
    return lambda: moment


def running(start: datetime = IN_HOURS, origin: Optional[datetime] = None) -> Clock:
    """`start` at the wall-clock moment `origin` (now, by default), then at the real pace."""
    origin = origin or datetime.now(timezone.utc)
    return lambda: start + (datetime.now(timezone.utc) - origin)


def bot_command(start: datetime, origin: datetime, *args: str) -> tuple[list[str], dict[str, str]]:
    """The command line (and what to add to the environment) of `python -m bot *args` on the line's clock
    `running(start, origin)`."""
    return ([sys.executable, "-m", "tests.support.clock", start.isoformat(), origin.isoformat(), *args],
            {"PYTHONPATH": str(PROJECT_ROOT)})


def main(argv: Sequence[str]) -> int:
    start, origin, *rest = argv
    clock = running(datetime.fromisoformat(start), datetime.fromisoformat(origin))

    import bot.app
    from bot.cli import main as bot_main

    build = bot.app.build_app

    async def build_app(*args: Any, **kwargs: Any) -> Any:
        app = await build(*args, **kwargs)
        app.services.consult.clock = clock
        return app

    bot.app.build_app = build_app  # bot.cli looks it up when it starts the bot
    return bot_main(rest)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
