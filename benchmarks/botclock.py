"""The bot in a process of its own on a controlled consultation-line clock (the kill -9 day of benchmarks/soakday.py
and tests/e2e/test_kill_day.py).

Run it with `python -m benchmarks.botclock START ORIGIN <bot args>` (see `bot_command`): the same as
`python -m bot <bot args>`, with the line's clock reading START at the wall-clock moment ORIGIN. Every process of
one run gets the same pair, so the clock goes on across restarts. The tests' own clocks are in
tests/support/clock.py, which takes its moments from here.
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


def running(start: datetime = IN_HOURS, origin: Optional[datetime] = None) -> Clock:
    """`start` at the wall-clock moment `origin` (now, by default), then at the real pace."""
    origin = origin or datetime.now(timezone.utc)
    return lambda: start + (datetime.now(timezone.utc) - origin)


def bot_command(start: datetime, origin: datetime, *args: str) -> tuple[list[str], dict[str, str]]:
    """The command line (and what to add to the environment) of `python -m bot *args` on the line's clock
    `running(start, origin)`."""
    return ([sys.executable, "-m", "benchmarks.botclock", start.isoformat(), origin.isoformat(), *args],
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
