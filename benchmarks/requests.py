"""Scale of the requests store: «Мої звернення» and a staff group's open list over a big database.

Fills a fresh SQLite file (the bot's own migrations) with N requests over M residents, then measures,
through the bot's RequestService, the time of:
  * «Мої звернення»: one page of a resident's requests plus their count;
  * a staff group's /open list: the open requests of one institution, urgent first;
  * a baseline in the same run: reading one request by its id.
Prints p50/p95/p99 in ms, ratios to the baseline, the file size and the process's peak memory.

Run: .venv/bin/python benchmarks/requests.py [--requests 1000000] [--residents 100000] [--samples 3000]
Target: p99 under 10 ms for both lists with 1,000,000 requests.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue.loader import load_catalogue  # noqa: E402
from bot.requests.service import RequestService  # noqa: E402
from bot.storage.db import Database  # noqa: E402

STATUSES = [("resolved", 55), ("closed", 25), ("withdrawn", 5), ("new", 8), ("in_progress", 7)]
EVENTS_PER_REQUEST = 3


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def fill(path: Path, catalogue, requests: int, residents: int, seed: int = 7) -> None:
    """Bulk insert with plain sqlite3: the measured part is reading, not writing."""
    rng = random.Random(seed)
    targets = [(slug, inst_id, [s.id for s in view.services_of(inst_id)] or [None])
               for slug, view in catalogue.communities.items() for inst_id in view.institutions]
    statuses = [s for s, weight in STATUSES for _ in range(weight)]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    batch, events = [], []
    for number in range(1, requests + 1):
        slug, inst, services = rng.choice(targets)
        created = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        updated = created + timedelta(hours=rng.randrange(1, 400))
        status = rng.choice(statuses)
        closed = updated.isoformat(timespec="seconds") if status in ("resolved", "closed", "withdrawn") else None
        batch.append((
            number, f"{created.year}-{number:07d}", slug, rng.randrange(1, residents + 1), "help", 0,
            rng.choice(services), None, "self", inst, "Опис звернення мешканця " * 4, "chat", None, None,
            int(rng.random() < 0.03), None, status, None, None, created.isoformat(timespec="seconds"),
            updated.isoformat(timespec="seconds"), (created + timedelta(days=5)).isoformat(timespec="seconds"),
            None, closed, None, None, None, None, None, None, None,
        ))
        for k in range(EVENTS_PER_REQUEST):
            events.append((number, (created + timedelta(hours=k)).isoformat(timespec="seconds"),
                           "staff" if k else "resident", None, None, ("created", "taken", "reply")[k],
                           None if k != 2 else "Відповідь фахівця", 1, inst))
        if len(batch) >= 20000:
            _flush(conn, batch, events)
            batch, events = [], []
    _flush(conn, batch, events)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def _flush(conn: sqlite3.Connection, batch: list, events: list) -> None:
    conn.executemany(f"INSERT INTO requests VALUES ({', '.join('?' * 31)})", batch)
    conn.executemany(
        "INSERT INTO request_events (request_id, at, actor, actor_id, actor_label, kind, text, public, "
        "institution_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
    conn.commit()


async def timed(samples: int, make_call) -> list[float]:
    out = []
    for _ in range(samples):
        call = make_call()
        started = time.perf_counter()
        await call
        out.append((time.perf_counter() - started) * 1000)
    return out


async def measure(path: Path, catalogue, residents: int, requests: int, samples: int) -> dict[str, list[float]]:
    db = await Database(path).connect()
    service = RequestService(db, catalogue, timezone.utc)
    rng = random.Random(11)
    institutions = [(slug, inst) for slug, view in catalogue.communities.items() for inst in view.institutions]

    async def my_requests(user_id: int) -> None:
        await service.for_resident(user_id, limit=8)
        await service.count_for_resident(user_id)

    results = {
        "baseline: one request by id": await timed(samples, lambda: service.get(rng.randrange(1, requests + 1))),
        "«Мої звернення» (page + count)": await timed(samples, lambda: my_requests(rng.randrange(1, residents + 1))),
        "staff /open list (50, urgent first)": await timed(
            samples, lambda: service.open_for_institution(*rng.choice(institutions))),
    }
    await db.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--db", help="keep the database at this path (default: a temporary folder)")
    args = parser.parse_args()
    catalogue = load_catalogue(ROOT / "data")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.db) if args.db else Path(folder) / "bench.sqlite3"
        if path.exists():
            path.unlink()
        asyncio.run(_create(path))
        started = time.perf_counter()
        fill(path, catalogue, args.requests, args.residents)
        filled = time.perf_counter() - started
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        results = asyncio.run(measure(path, catalogue, args.residents, args.requests, args.samples))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.requests:,} requests over {args.residents:,} residents, {EVENTS_PER_REQUEST} history entries "
          f"each; filled in {filled:.1f} s; database {size / 1024 / 1024:.0f} MB")
    baseline = statistics.median(next(iter(results.values())))
    print(f"{'query':<38} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'p50/baseline':>13}")
    for name, values in results.items():
        p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
        print(f"{name:<38} {p50:>8.3f} {p95:>8.3f} {p99:>8.3f} {p50 / baseline:>13.1f}")
    for name in list(results)[1:]:
        p99 = percentile(results[name], 0.99)
        print(f"target p99 < 10 ms for {name}: {'met' if p99 < 10 else 'NOT met'} ({p99:.2f} ms)")
    print(f"peak memory of this process (catalogue, search index excluded): {peak:.0f} MB")
    return 0


async def _create(path: Path) -> None:
    db = await Database(path).connect()
    await db.close()


if __name__ == "__main__":
    raise SystemExit(main())
