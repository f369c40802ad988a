"""Campaign sending speed: the real bot process sends a campaign through the sandbox (its own process).

Two runs against one database of N residents (default 100,000) that have all opened the bot:

1. At the default setting (30 messages a second overall) with the sandbox's flood control on: the
   achieved rate as a fraction of the limit (target at least 0.95) and the number of 429 answers
   (target 0). By default this run sends to the first ``--slow`` residents (3,000: 100 s); the whole
   100,000 at 30 a second take 56 minutes (``--slow 0`` sends to all of them).
2. With the limit lifted (paid broadcast on, up to ``--paid-rate``), the sandbox's flood control
   off: the rate for all N residents (target at least 1,000 a second).

Campaigns are written into the database as the /campaign dialog writes them; the bot's engine starts
them by itself. Rates are read from the bot's database (rows marked delivered), memory from /proc.

    .venv/bin/python benchmarks/broadcast.py                   # 100,000 residents
    .venv/bin/python benchmarks/broadcast.py --residents 5000 --slow 600   # a quick look
"""
from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import throughput  # noqa: E402

from bot.storage.db import Database, utcnow  # noqa: E402
from sandbox.client import SandboxClient  # noqa: E402

TOKEN = throughput.TOKEN
SLOW_TOPIC, FAST_TOPIC = "services", "events"


async def prepare(database: Path, ids: list[int], slow: int) -> None:
    db = await Database(database).connect()
    now = utcnow()
    async with db.transaction() as conn:
        for number, user_id in enumerate(ids):
            await conn.execute("INSERT INTO residents (user_id, locale, community, created_at, updated_at) "
                               "VALUES (?, 'uk', 'lutsk', ?, ?)", (user_id, now, now))
            if number < slow:
                await conn.execute("INSERT INTO subscriptions (user_id, topic, subscribed, updated_at) "
                                   "VALUES (?, ?, 1, ?)", (user_id, SLOW_TOPIC, now))
    await db.close()


def add_campaign(database: Path, admin: int, topic: str, subscribers_only: bool, paid: bool) -> int:
    with sqlite3.connect(database, timeout=30) as conn:
        audience = '{"community": null, "subscribers_only": %s, "locale": null}' % str(subscribers_only).lower()
        cursor = conn.execute(
            "INSERT INTO campaigns (created_by, created_at, status, topic, text, audience, paid, scheduled_at) "
            "VALUES (?, ?, 'scheduled', ?, ?, ?, ?, ?)",
            (admin, utcnow(), topic, "<b>Громада повідомляє</b>: новий графік прийому", audience, int(paid),
             utcnow()))
        return int(cursor.lastrowid)


def state(database: Path, campaign_id: int) -> tuple[str, int, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as conn:
        status, total = conn.execute("SELECT status, total FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
        done = conn.execute("SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = ? AND status NOT IN "
                            "('pending', 'sending')", (campaign_id,)).fetchone()[0]
    return status, total, done


async def follow(database: Path, campaign_id: int, bot: throughput.Child, warmup: float
                 ) -> tuple[float, int, float, float]:
    """Wait for the campaign to finish; return (rate after the warm-up, total, seconds, peak RSS MB). The bot's
    RSS is printed every 10 s of sending: what it holds as it goes, not only its peak."""
    while state(database, campaign_id)[0] == "scheduled":
        await asyncio.sleep(0.2)
    started = time.perf_counter()
    marks: list[tuple[float, int]] = []
    memory: list[str] = []
    while True:
        status, total, done = state(database, campaign_id)
        marks.append((time.perf_counter(), done))
        if (len(marks) - 1) % 10 == 0:
            memory.append(f"{marks[-1][0] - started:.0f} s {throughput.rss_mb(bot.pid):.0f}")
        if status != "running":
            break
        await asyncio.sleep(1.0)
    print(f"bot RSS while sending, MB: {', '.join(memory)}")
    spent = marks[-1][0] - started
    steady = [m for m in marks if m[0] - started >= warmup] or marks
    rate = (steady[-1][1] - steady[0][1]) / max(steady[-1][0] - steady[0][0], 1e-6)
    return rate, total, spent, throughput.peak_rss_mb(bot.pid)


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = workdir / "bot.sqlite3"
        server = await throughput.SandboxServer("process", workdir).start()
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        client = SandboxClient(server.url, session=http, timeout=60)
        bot = None
        try:
            started = time.perf_counter()
            ids = await client.create_users(args.residents, name="Мешканка")
            [admin] = await client.create_users(1, name="Адміністраторка")
            slow = args.slow or args.residents
            await prepare(database, ids, slow)
            print(f"{args.residents} residents ready in {time.perf_counter() - started:.1f} s")
            base = dict(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=server.url, DATABASE_PATH=str(database),
                        COMMUNITIES="lutsk", LOG_LEVEL="WARNING", ADMIN_IDS=str(admin))

            # 1. the default limits, Telegram's flood control on
            await client.set_flood(True)
            bot = await throughput.Child.start("bot-30", [sys.executable, "-m", "bot", "run"],
                                               throughput.child_env(**base), workdir)
            await client.wait_bot_ready(timeout=60)
            since = (await client.calls())[-1]["seq"] if await client.calls() else 0
            campaign = add_campaign(database, admin, SLOW_TOPIC, subscribers_only=args.slow > 0, paid=False)
            rate, total, spent, rss = await follow(database, campaign, bot, warmup=3.0)
            refused = [c for c in await client.calls(since=since) if c.get("error_code") == 429]
            print(f"at the 30/s setting: {total} recipients in {spent:.1f} s, {rate:.2f} messages/s = "
                  f"{rate / 30:.3f} of the limit (target >= 0.95); 429 answers: {len(refused)} (target 0); "
                  f"peak RSS of the bot {rss:.0f} MB")
            await bot.stop()

            # 2. the limit lifted: paid broadcast
            await client.set_flood(False)
            bot = await throughput.Child.start(
                "bot-paid", [sys.executable, "-m", "bot", "run"],
                throughput.child_env(**base, PAID_BROADCAST="true", PAID_PER_SECOND=str(args.paid_rate)), workdir)
            await client.wait_bot_ready(timeout=60)
            cpu = throughput.cpu_seconds(bot.pid)
            campaign = add_campaign(database, admin, FAST_TOPIC, subscribers_only=False, paid=True)
            rate, total, spent, rss = await follow(database, campaign, bot, warmup=2.0)
            cpu = throughput.cpu_seconds(bot.pid) - cpu
            print(f"paid broadcast, limit {args.paid_rate}/s: {total} recipients in {spent:.1f} s, "
                  f"{total / max(spent, 1e-6):.0f} messages/s overall, {rate:.0f}/s after the warm-up "
                  f"(target >= 1000); bot CPU {cpu / max(total, 1) * 1000:.2f} ms per message; "
                  f"peak RSS of the bot {rss:.0f} MB")
        finally:
            if bot is not None:
                await bot.stop()
            await client.close()
            await http.close()
            await server.stop()
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--slow", type=int, default=3000,
                        help="recipients of the 30/s run (0: all residents, 56 minutes for 100,000)")
    parser.add_argument("--paid-rate", type=int, default=100_000,
                        help="PAID_PER_SECOND for the second run (the default lifts the limit)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
