"""What /stats costs everyone else: the event loop's longest stall while a year's report is read.

Fills a fresh SQLite file with N requests over three years (benchmarks/requests.py's filler), then reads
the report of the busiest year for all communities twice: on the bot's own connection, on the event loop
(the baseline: how /stats read before), and aside, in a worker thread on a read-only connection of its own
(how /stats reads now). Meanwhile a ticker on the loop wakes every 5 ms, as the bot's other work would, and
the longest gap between two ticks is what a resident writing at that moment would wait on top of the usual.

Run: .venv/bin/python benchmarks/reports.py [--requests 300000]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import requests as filler  # noqa: E402

from bot.catalogue.loader import load_catalogue  # noqa: E402
from bot.reports.figures import Collector  # noqa: E402
from bot.reports.periods import Period  # noqa: E402
from bot.storage.db import Database  # noqa: E402

TICK = 0.005


async def stalls_during(work) -> tuple[float, float, object]:
    """Run `work` while ticking; return its duration, the longest gap between ticks (s), and its result."""
    longest = 0.0
    done = False

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            longest = max(longest, now - last - TICK)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(TICK * 2)
    started = time.perf_counter()
    result = await work()
    spent = time.perf_counter() - started
    done = True
    await ticking
    return spent, longest, result


async def measure(path: Path, catalogue) -> None:
    db = await Database(path).connect()
    collector = Collector(db, catalogue, ZoneInfo("Europe/Kyiv"))
    year = Period(date(2025, 1, 1), date(2025, 12, 31), 12)
    rows = []
    for name, read in (("on the event loop (before)", collector.report), ("aside (now)", collector.report_aside)):
        spent, longest, report = await stalls_during(lambda read=read: read(year, None))
        rows.append((name, spent, longest, report.current.request_count))
    await db.close()
    print(f"{'report of 2025, all communities':<32} {'read s':>8} {'longest stall ms':>17} {'requests':>9}")
    for name, spent, longest, count in rows:
        print(f"{name:<32} {spent:>8.2f} {longest * 1000:>17.1f} {count:>9,}")
    print(f"longest stall aside / on the loop: {rows[1][2] / max(rows[0][2], 1e-9):.3f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--residents", type=int, default=50_000)
    args = parser.parse_args()
    catalogue = load_catalogue(ROOT / "data")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reports.sqlite3"
        asyncio.run(filler._create(path))
        filler.fill(path, catalogue, args.requests, args.residents)
        print(f"{args.requests:,} requests over three years, {args.residents:,} residents")
        asyncio.run(measure(path, catalogue))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
