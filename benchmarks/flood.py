"""Flood: what a few residents sending 100+ messages in a few seconds cost everyone else.

The bot runs as ``python -m bot run`` against the sandbox (both in processes of their own, see
benchmarks/throughput.py), serving one community, with the default per-person limit (30 updates a minute,
a burst of 20) and Telegram's sending limits. N ordinary residents do normal things at a person's pace
(open 🧭 Знайти допомогу, pick "by life situation", a situation, search in their own words; 1.5-4.5 s
between steps): the latency of each step, from the control API's send or press until the answer is
visible in the chat, is measured for a while with nobody flooding (the baseline), then again while
1, 3 and 5 other residents each send ``--messages`` texts as fast as one connection can. The figures
are given for the whole measured time and for the first 3 s of the flood (the sandbox takes the
messages in under a second; the bot gets through them in the seconds after), with their ratio to the
baseline. A warm-up of ordinary steps comes first and is not counted. After each flood the flooders'
chats are read: how many of their messages were answered and how many notes they got.

    .venv/bin/python benchmarks/flood.py                      # 100 residents, floods of 1, 3, 5 x 120
    .venv/bin/python benchmarks/flood.py --without-limit      # the same with RATE_LIMIT_PER_MINUTE=0
    .venv/bin/python benchmarks/flood.py --quick              # a small run to see that it works
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import throughput  # noqa: E402

from sandbox.client import SandboxClient, message_text  # noqa: E402

TOKEN = throughput.TOKEN
NOTE = "дуже швидко"
FLOOD_WINDOW = 3.0  # seconds from the start of a flood counted as "during the flood"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share / 100 * len(ordered)))] if ordered else float("nan")


@dataclass
class Sample:
    started: float
    ms: float


@dataclass
class Phase:
    name: str
    samples: list[Sample] = field(default_factory=list)
    unanswered: int = 0
    flood: tuple[float, float] = (0.0, 0.0)  # when the flood began and ended (perf_counter)
    flooders: list[dict[str, int]] = field(default_factory=list)

    def latencies(self, during_flood: bool = False) -> list[float]:
        if not during_flood:
            return [s.ms for s in self.samples]
        begin = self.flood[0]  # the few seconds the bot takes to get through a flood
        return [s.ms for s in self.samples if begin <= s.started <= begin + FLOOD_WINDOW]


class Ordinary(throughput.Resident):
    async def ready(self, uid: int) -> None:
        self.user_id = uid
        chat = await self.client.chat(uid)
        self.last_id = max((m["message_id"] for m in chat["messages"]), default=0)
        self.rev = int(chat["rev"])

    async def live(self, phase: Phase, until: float) -> None:
        """Normal steps at a person's pace until `until`; each step's latency goes to `phase`."""
        k = 0
        await asyncio.sleep(self.random.uniform(0, self.think))  # people do not start in step
        while time.perf_counter() < until:  # each step pauses 0.5-1.5 x think after its answer
            started = time.perf_counter()
            if started >= until:
                return
            before = self.load.updates
            try:
                await self.step(k)
            except throughput.Unanswered:
                phase.unanswered += 1
                self.screen = {}
            except AssertionError:  # an unexpected screen: start the round again
                self.screen = {}
            if self.load.updates > before:
                phase.samples.append(Sample(started, self.load.latencies[-1]))
            k += 1

    async def step(self, k: int) -> None:
        n = self.index + k
        kind = k % 4
        if kind == 0 or not self.screen:
            await self.say("🧭 Знайти допомогу")
        elif kind == 1:
            await self.press(self.button(text="📋 За життєвою ситуацією"), edits=True)
        elif kind == 2:
            await self.press(self.button(prefix="n:sit:", avoid="⚠️", pick=n), edits=True)
        else:
            await self.say(throughput.SEARCHES[n % len(throughput.SEARCHES)])


async def flood(client: SandboxClient, uid: int, count: int) -> None:
    for k in range(count):
        await client.send_text(uid, f"допоможіть з обідами {k}")


async def flooders_view(client: SandboxClient, uid: int, after: int) -> dict[str, int]:
    texts = [message_text(m) for m in await client.messages(uid, since_id=after) if m.get("sender") == "bot"]
    return {"answered": sum(NOTE not in t for t in texts), "notes": sum(NOTE in t for t in texts)}


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        server = await throughput.SandboxServer("process", workdir).start()
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=None))
        client = SandboxClient(server.url, session=http, timeout=args.timeout)
        limits = {"RATE_LIMIT_PER_MINUTE": "0"} if args.without_limit else {}
        env = throughput.child_env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=server.url,
                                   DATABASE_PATH=str(workdir / "bot.sqlite3"), COMMUNITIES="lutsk",
                                   LOG_LEVEL="WARNING", **limits)
        bot = await throughput.Child.start("bot", [sys.executable, "-m", "bot", "run"], env, workdir)
        try:
            await client.set_flood(False)
            await client.wait_bot_ready(timeout=60)
            return await run(args, client, bot)
        finally:
            await bot.stop()
            await client.close()
            await http.close()
            await server.stop()


async def run(args: argparse.Namespace, client: SandboxClient, bot: throughput.Child) -> int:
    gate = asyncio.Semaphore(20)

    async def onboarded(name: str) -> int:
        async with gate:
            return await throughput.onboard(client, name, timeout=60)

    ids = await asyncio.gather(*(onboarded(f"Мешканка {i}") for i in range(args.residents)))
    people = []
    for index, uid in enumerate(ids):
        person = Ordinary(client, index, throughput.Load(), args.timeout, args.think, None)
        await person.ready(uid)
        people.append(person)

    warm = Phase("warm-up")  # the first searches and screens of a fresh process are slower: not counted
    await asyncio.gather(*(person.live(warm, time.perf_counter() + args.warmup) for person in people))
    await asyncio.sleep(args.think * 1.5)

    phases: list[Phase] = []
    for flooders in [0] + args.flooders:
        name = "baseline (no flood)" if not flooders else f"{flooders} flooding x {args.messages}"
        phase = Phase(name)
        flooding = list(await asyncio.gather(*(onboarded(f"Швидка {len(phases)}-{k}") for k in range(flooders))))
        marks = [await client.last_id(uid) for uid in flooding]
        begin = time.perf_counter()
        until = begin + args.seconds
        lives = [asyncio.create_task(person.live(phase, until)) for person in people]

        async def flood_all() -> None:
            await asyncio.sleep(args.seconds / 3)  # into the middle of people's steps
            started = time.perf_counter()
            await asyncio.gather(*(flood(client, uid, args.messages) for uid in flooding))
            phase.flood = (started, time.perf_counter())

        if flooding:
            await flood_all()
        await asyncio.gather(*lives)
        await asyncio.sleep(1.0)
        phase.flooders = [await flooders_view(client, uid, mark) for uid, mark in zip(flooding, marks)]
        phases.append(phase)
        await asyncio.sleep(args.think * 1.5)  # everyone idle a moment between phases

    limit = "off (RATE_LIMIT_PER_MINUTE=0)" if args.without_limit else "default (30 a minute, burst 20)"
    print(f"{args.residents} ordinary residents, 1.5-4.5 s between steps ({args.think:.1f} s +-50 %), "
          f"{args.seconds:.0f} s measured per phase; per-person limit {limit}; bot peak RSS "
          f"{throughput.peak_rss_mb(bot.pid):.0f} MB")
    base = phases[0].latencies()
    header = f"{'phase':<24} {'steps':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   ratio p50/p95/p99 to baseline"
    print(header)
    for phase in phases:
        for label, values in (("", phase.latencies()), (f"  first {FLOOD_WINDOW:.0f} s of it", phase.latencies(True))):
            if label and not phase.flooders:
                continue
            figures = [percentile(values, q) for q in (50, 95, 99)]
            ratios = "/".join(f"{f / percentile(base, q):.2f}" for f, q in zip(figures, (50, 95, 99)))
            title = label or phase.name
            print(f"{title:<24} {len(values):>6} {figures[0]:>8.1f} {figures[1]:>8.1f} {figures[2]:>8.1f}   {ratios}"
                  + (f"   unanswered {phase.unanswered}" if phase.unanswered and not label else ""))
        if phase.flooders:
            begin, end = phase.flood
            answered = [f["answered"] for f in phase.flooders]
            notes = [f["notes"] for f in phase.flooders]
            print(f"  the flood: {len(phase.flooders) * args.messages} messages in {end - begin:.1f} s; answered per "
                  f"flooder {min(answered)}-{max(answered)}, notes per flooder {min(notes)}-{max(notes)}")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--flooders", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--messages", type=int, default=120, help="messages each flooder sends")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured time of each phase")
    parser.add_argument("--think", type=float, default=3.0, help="seconds between an ordinary resident's steps")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds of ordinary steps first")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--without-limit", action="store_true", help="switch the per-person limit off")
    parser.add_argument("--quick", action="store_true", help="20 residents, floods of 1 and 2, 6 s phases")
    args = parser.parse_args(argv)
    if args.quick:
        args.residents, args.flooders, args.seconds, args.messages, args.warmup = 20, [1, 2], 6.0, 100, 3.0
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
