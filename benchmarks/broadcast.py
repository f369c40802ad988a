"""Campaign sending speed: the real bot process sends a campaign through the sandbox (its own process).

Two runs against one database of N residents (default 100,000) that have all opened the bot:

1. At the default setting (30 messages a second overall) with the sandbox's flood control on (30 a second
   overall, one a second to one person with a burst of up to three, as Telegram allows short bursts): the
   achieved rate as a fraction of the limit (target at least 0.95) and the number of 429 answers
   (target 0). By default this run sends to the first ``--slow`` residents (3,000: 100 s); the whole
   100,000 at 30 a second take 56 minutes (``--slow 0`` sends to all of them).
2. With the limit lifted (paid broadcast on, up to ``--paid-rate``), the sandbox's flood control
   off: the rate for all N residents (target at least 1,000 a second).

In the first run residents also use the bot (``--active`` steps a second, Poisson arrivals, each a step of a
new resident's first visit: /start, the language, the menu, a situation, a service, three searches), for
``--active-seconds`` before the campaign and as long again while it is sending. Their answers take the pacer's
turns before the campaign's (bot/delivery/limiter.py); printed: their p50/p95/p99 without and during the
campaign (target: p99 during within 1.5 times of without) and the pacer's shape while both ran, the messages a
second that went to the residents and to the campaign's recipients.

Campaigns are written into the database as the /campaign dialog writes them; the bot's engine starts
them by itself. Rates are read from the bot's database (rows marked delivered), memory from /proc.

    .venv/bin/python benchmarks/broadcast.py                   # 100,000 residents
    .venv/bin/python benchmarks/broadcast.py --residents 5000 --slow 600   # a quick look
    .venv/bin/python benchmarks/broadcast.py --residents 5000 --slow 1500 --active 10 --active-seconds 20
"""
from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
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


async def first_visit(person: throughput.Resident, round_number: int) -> None:
    """The throughput script's steps where one community is served (no community to choose)."""
    n = person.index + round_number
    await person.say("/start")
    await person.press(person.button(text="🇺🇦 Українська"), edits=False, count=2)  # edit + menu + news offer
    await person.say("🧭 Знайти допомогу")
    await person.press(person.button(text="📋 За життєвою ситуацією"), edits=True)
    await person.press(person.button(prefix="n:sit:", avoid="⚠️", pick=n), edits=True)
    services = [b for b in throughput.inline_buttons(person.screen)
                if b.get("callback_data", "").startswith("n:svc:")]
    await person.press(person.button(prefix="n:svc:", pick=n) if services else person.button(text="◀️ Назад"),
                       edits=True)
    for k in range(3):
        await person.say(throughput.SEARCHES[(n * 3 + k) % len(throughput.SEARCHES)])


def latency_line(name: str, load: throughput.OpenLoad) -> str:
    return (f"{name}: {load.updates} steps answered of {load.offered}, p50 {load.percentile(50):.1f} ms, "
            f"p95 {load.percentile(95):.1f} ms, p99 {load.percentile(99):.1f} ms")


def shape(calls: list[dict], recipients: set[int]) -> str:
    """Messages a second to the residents who were using the bot and to the campaign's recipients, and the most
    in any one second (a window sliding over the calls)."""
    sent = sorted((c["time"], int(c["params"].get("chat_id") or 0) in recipients) for c in calls
                  if c["ok"] and c["method"].lower().startswith("send"))
    if not sent:
        return "no messages were sent"
    first = sent[0][0]
    seconds = max(1, int(sent[-1][0] - first))
    replies = [0] * (seconds + 1)
    bulk = [0] * (seconds + 1)
    for moment, to_recipient in sent:
        (bulk if to_recipient else replies)[int(moment - first)] += 1
    replies, bulk = replies[:seconds], bulk[:seconds]  # whole seconds only
    most, start = 0, 0
    for end, (moment, _) in enumerate(sent):
        while moment - sent[start][0] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    totals = [a + b for a, b in zip(replies, bulk)]
    return (f"{seconds} s: to the residents {statistics.median(replies):.0f} a second (min {min(replies)}, max "
            f"{max(replies)}), to the campaign {statistics.median(bulk):.0f} (min {min(bulk)}, max {max(bulk)}), "
            f"together {statistics.median(totals):.0f} (max {max(totals)}); at most {most} in any one second")


async def active_residents(client: SandboxClient, database: Path, admin: int, bot: throughput.Child,
                           ids: list[int], args: argparse.Namespace) -> tuple[float, int, float, float]:
    """The 30/s run with residents using the bot before and during the campaign (see the module's docstring)."""
    await client.set_flood(False)  # warm (first imports, caches), quicker than people: no 429 to wait out
    await throughput.run_load(client, first_visit, 5, tickets=5, seconds=None, timeout=30, think=0)
    await client.set_flood(True, per_chat_burst=3)
    quiet = await throughput.open_loop(client, first_visit, args.active, args.active_seconds, timeout=30, seed=1,
                                       think=args.think)
    campaign = add_campaign(database, admin, SLOW_TOPIC, subscribers_only=args.slow > 0, paid=False)
    following = asyncio.ensure_future(follow(database, campaign, bot, warmup=3.0))
    while state(database, campaign)[2] < 30:  # sending, past its first second
        await asyncio.sleep(0.2)
    since = await last_seq(client)
    during = await throughput.open_loop(client, first_visit, args.active, args.active_seconds, timeout=30, seed=2,
                                        think=args.think)
    calls = await client.calls(since=since)
    still = state(database, campaign)[0] == "running"
    print(latency_line(f"residents ({args.active:g} steps/s) before the campaign", quiet))
    print(latency_line("the same residents while the campaign was sending", during))
    ratio = during.percentile(99) / max(quiet.percentile(99), 1e-9)
    print(f"p99 during / before: {ratio:.2f} (target <= 1.5)"
          + ("" if still else "; the campaign ended before the residents did: send it to more (--slow)"))
    print(f"the pacer while both ran, {shape(calls, set(ids))} (the limit: 30)")
    return await following


async def last_seq(client: SandboxClient) -> int:
    return int((await client._get("/sandbox/calls", since=1 << 62))["last_seq"])


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
            await client.set_flood(True, per_chat_burst=3)
            bot = await throughput.Child.start("bot-30", [sys.executable, "-m", "bot", "run"],
                                               throughput.child_env(**base), workdir)
            await client.wait_bot_ready(timeout=60)
            since = await last_seq(client)
            if args.active > 0:
                rate, total, spent, rss = await active_residents(client, database, admin, bot, ids, args)
            else:
                campaign = add_campaign(database, admin, SLOW_TOPIC, subscribers_only=args.slow > 0, paid=False)
                rate, total, spent, rss = await follow(database, campaign, bot, warmup=3.0)
            refused = [c for c in await client.calls(since=since) if c.get("error_code") == 429]
            recipients = set(ids)
            to_residents = sum(1 for c in refused if int(c["params"].get("chat_id") or 0) not in recipients)
            print(f"at the 30/s setting: {total} recipients in {spent:.1f} s, {rate:.2f} messages/s = "
                  f"{rate / 30:.3f} of the limit (target >= 0.95"
                  f"{'; residents using the bot took their share' if args.active > 0 else ''}); 429 answers: "
                  f"{len(refused)}, {to_residents} of them to residents using the bot (target 0); "
                  f"peak RSS of the bot {rss:.0f} MB")
            for call in refused[:5]:
                print(f"  429: {call['method']} to {call['params'].get('chat_id')}: {call.get('description')}")
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
    parser.add_argument("--active", type=float, default=10.0,
                        help="residents' steps a second before and during the 30/s campaign (0: none)")
    parser.add_argument("--active-seconds", type=float, default=20.0, help="how long each of those lasts")
    parser.add_argument("--think", type=float, default=5.0,
                        help="seconds a resident reads an answer before the next step (0.5–1.5 times it)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
