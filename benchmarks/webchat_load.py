"""The web chat under load: many web residents at once against the bot's HTTP web chat, and the same load from
Telegram (through the local Bot API sandbox) against the same bot process in the same run.

One bot process (``python -m bot run`` with WEB_CHAT=on, polling a sandbox in a process of its own) serves both
channels. Each resident runs the throughput benchmark's script of ten steps (benchmarks/throughput.py: /start, a
language, a community, «🧭 Знайти допомогу», «📋 За життєвою ситуацією», a situation, a service, three searches),
all residents at once, each waiting for the bot's answer before the next step (closed loop). First the Telegram
residents (through the sandbox, as throughput.py does), then the web residents (HTTP on 127.0.0.1 only, each from an
address of its own in 127.0.0.0/8, so that the limits per address apply as to 500 people and not to one; the proof of
work is set to 0 bits: it costs the resident's browser, not the bot).

A web step's latency runs from the moment its POST is sent until the page's long poll has the bot's answer (the
first step: the page's hello and proof of work until the greeting is there). A Telegram step's, as in
throughput.py, from the control API's send until the sandbox reports the answer in the chat. For each channel:
p50 and p99 per step, updates per second, the bot's CPU seconds and CPU per update (from /proc), and its resident
memory before and after (VmRSS) and its peak (VmHWM). Nothing else runs in the bot between the two phases.

    .venv/bin/python benchmarks/webchat_load.py                 # 500 residents each way, one script each
    .venv/bin/python benchmarks/webchat_load.py --residents 50  # a small run
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import throughput  # noqa: E402
from throughput import (  # noqa: E402
    COMMUNITIES,
    NO_SEND_LIMITS,
    SEARCHES,
    TOKEN,
    Child,
    SandboxServer,
    child_env,
    cpu_seconds,
    free_port,
    peak_rss_mb,
    percentile,
    rss_mb,
)

from bot.webchat.guard import solve  # noqa: E402
from sandbox import SandboxClient  # noqa: E402

STEPS = ("/start", "language", "community", "find help", "by situation", "a situation", "a service", "search 1",
         "search 2", "search 3")


@dataclass
class Steps:
    """Latencies (ms) of one channel's steps, by the step's number in the script."""

    by_step: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    failed: int = 0
    seconds: float = 0.0

    def add(self, step: int, ms: float) -> None:
        self.by_step[step].append(ms)

    @property
    def updates(self) -> int:
        return sum(len(v) for v in self.by_step.values())


# ----- Telegram residents (the throughput benchmark's, with each step's number kept) ----------------------------

class TelegramResident(throughput.Resident):
    def __init__(self, client: SandboxClient, index: int, steps: Steps, timeout: float) -> None:
        super().__init__(client, index, throughput.Load(), timeout, 0.0, None)
        self.steps = steps
        self.step = 0

    async def _measure(self, started: float, result: dict[str, Any]) -> None:
        finished = time.perf_counter()
        if result["timed_out"]:
            raise throughput.Unanswered(f"telegram resident {self.index}: no answer in {self.timeout} s")
        self.steps.add(self.step, (finished - started) * 1000)
        self.step += 1
        self._seen(result)


async def telegram_phase(client: SandboxClient, residents: int, timeout: float) -> Steps:
    steps = Steps()

    async def live(index: int) -> None:
        person = TelegramResident(client, index, steps, timeout)
        await person.new_user()
        try:
            await throughput.our_script(person, 0)
        except (throughput.Unanswered, AssertionError, aiohttp.ClientError) as problem:
            steps.failed += 1
            print(f"  ! {problem}", file=sys.stderr)

    started = time.perf_counter()
    await asyncio.gather(*(live(i) for i in range(residents)))
    steps.seconds = time.perf_counter() - started
    return steps


# ----- web residents ----------------------------------------------------------------------------------------------

class WebResident:
    """One person in a browser: a cookie jar of their own, calls from an address of their own, as the page makes
    them (Origin, the CSRF header), and the page's long poll."""

    def __init__(self, base: str, index: int, steps: Steps, timeout: float) -> None:
        self.base, self.index, self.steps, self.timeout = base, index, steps, timeout
        address = f"127.0.{1 + index // 250}.{2 + index % 250}"
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=0),
            timeout=aiohttp.ClientTimeout(total=timeout + 30))
        self.csrf, self.version, self.last_id, self.step = "", 0, 0, 0
        self.screen: dict[str, Any] = {}

    async def close(self) -> None:
        await self.http.close()

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Origin": self.base, "X-Chat-CSRF": self.csrf}
        async with self.http.post(f"{self.base}/chat/api/{path}", json=body, headers=headers) as response:
            answer = await response.json()
            if response.status != 200:
                raise AssertionError(f"web resident {self.index}: {path} answered {response.status} {answer}")
            return answer

    async def answered(self, count: int, edits: bool) -> None:
        """Poll until `count` new bot messages are there (or, for `edits`, one of the bot's messages changed)."""
        deadline = time.perf_counter() + self.timeout
        new = 0
        while True:
            async with self.http.get(f"{self.base}/chat/api/poll?after={self.version}") as response:
                page = await response.json()
            self.version = max(self.version, page["version"])
            for message in page["messages"]:
                if not message["bot"] or message["deleted"]:
                    continue
                new += message["id"] > self.last_id or edits
                self.last_id = max(self.last_id, message["id"])
                if message["buttons"]:
                    self.screen = message
            if new >= count:
                return
            if time.perf_counter() > deadline:
                raise AssertionError(f"web resident {self.index}: no answer in {self.timeout} s")

    async def timed(self, call: Any, count: int = 1, edits: bool = False) -> None:
        started = time.perf_counter()
        await call
        await self.answered(count, edits)
        self.steps.add(self.step, (time.perf_counter() - started) * 1000)
        self.step += 1

    async def hello(self) -> None:
        hello = await self.post("hello", {"lang": "uk"})
        self.csrf = hello["csrf"]
        await self.post("prove", {"nonce": solve(hello["challenge"], hello["bits"])})

    def button(self, *, text: str = "", prefix: str = "", avoid: str = "", pick: int = 0) -> dict[str, Any]:
        found = [b for row in self.screen.get("buttons", []) for b in row if "data" in b
                 and (not text or b["text"] == text) and b["data"].startswith(prefix)
                 and not (avoid and b["text"].startswith(avoid))]
        if not found:
            raise AssertionError(f"web resident {self.index}: no button {text or prefix!r} on the screen")
        return {"message_id": self.screen["id"], "data": found[pick % len(found)]["data"]}

    async def script(self) -> None:
        """throughput.our_script's steps, in the web chat."""
        n = self.index
        await self.timed(self.hello())
        await self.timed(self.post("press", self.button(text="🇺🇦 Українська")))
        await self.timed(self.post("press", self.button(text=COMMUNITIES[n % len(COMMUNITIES)])), count=2)
        await self.timed(self.post("say", {"text": "🧭 Знайти допомогу"}))
        await self.timed(self.post("press", self.button(text="📋 За життєвою ситуацією")), edits=True)
        await self.timed(self.post("press", self.button(prefix="n:sit:", avoid="⚠️", pick=n)), edits=True)
        services = [b for row in self.screen["buttons"] for b in row if b.get("data", "").startswith("n:svc:")]
        target = self.button(prefix="n:svc:", pick=n) if services else self.button(text="◀️ Назад")
        await self.timed(self.post("press", target), edits=True)
        for k in range(3):
            await self.timed(self.post("say", {"text": SEARCHES[(n * 3 + k) % len(SEARCHES)]}))


async def web_phase(base: str, residents: int, timeout: float) -> Steps:
    steps = Steps()

    async def live(index: int) -> None:
        person = WebResident(base, index, steps, timeout)
        try:
            await person.script()
        except (AssertionError, aiohttp.ClientError, asyncio.TimeoutError) as problem:
            steps.failed += 1
            print(f"  ! {problem!r}", file=sys.stderr)
        finally:
            await person.close()

    started = time.perf_counter()
    await asyncio.gather(*(live(i) for i in range(residents)))
    steps.seconds = time.perf_counter() - started
    return steps


# ----- the run ----------------------------------------------------------------------------------------------------

@dataclass
class Phase:
    name: str
    steps: Steps
    cpu_s: float
    rss_before: float
    rss_after: float
    peak: float


async def measured(name: str, bot: Child, work: Any) -> Phase:
    rss_before, cpu_before = rss_mb(bot.pid), cpu_seconds(bot.pid)
    steps = await work
    return Phase(name, steps, cpu_seconds(bot.pid) - cpu_before, rss_before, rss_mb(bot.pid), peak_rss_mb(bot.pid))


async def start_bot(folder: Path, sandbox: SandboxServer, web_port: int) -> Child:
    env = child_env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sandbox.url, DATABASE_PATH=str(folder / "bot.sqlite3"),
                    LOG_LEVEL="WARNING", WEB_CHAT="on", WEB_CHAT_HOST="127.0.0.1", WEB_CHAT_PORT=str(web_port),
                    WEB_CHAT_POW_BITS="0", **NO_SEND_LIMITS)
    for name in ("WEB_CHAT_URL", "WEB_CHAT_EMBED_ORIGINS"):
        env.pop(name, None)
    return await Child.start("bot", [sys.executable, "-m", "bot", "run"], env, folder)


async def wait_web_chat(base: str, bot: Child) -> None:
    deadline = time.perf_counter() + 60
    async with aiohttp.ClientSession() as http:
        while True:  # start-up only: until the chat's port answers
            try:
                async with http.get(base + "/chat") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if bot.process.returncode is not None or time.perf_counter() > deadline:
                raise RuntimeError("the web chat did not start:\n" + bot.tail())
            await asyncio.sleep(0.1)


async def run(args: argparse.Namespace) -> list[Phase]:
    folder = Path(tempfile.mkdtemp(prefix="webchat-load-"))
    sandbox = await SandboxServer("process", folder).start()
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None))
    client = SandboxClient(sandbox.url, session=http, timeout=args.timeout)
    web_port = free_port()
    base = f"http://127.0.0.1:{web_port}"
    bot = await start_bot(folder, sandbox, web_port)
    try:
        await client.set_flood(False)
        await client.wait_bot_ready(timeout=60)
        await wait_web_chat(base, bot)
        await telegram_phase(client, 10, args.timeout)  # warming up, not measured (imports, caches, the database)
        await web_phase(base, 10, args.timeout)
        phases = []
        for name in args.order.split(","):
            work = (telegram_phase(client, args.residents, args.timeout) if name == "telegram"
                    else web_phase(base, args.residents, args.timeout))
            phases.append(await measured(name, bot, work))
        if bot.process.returncode is not None:
            raise RuntimeError("the bot exited:\n" + bot.tail())
        return phases
    finally:
        await bot.stop()
        await client.close()
        await http.close()
        await sandbox.stop()


def report(phases: list[Phase], residents: int) -> None:
    print(f"\n{residents} residents at once per channel, one script of {len(STEPS)} steps each, closed loop; "
          f"one bot process serving both (2 cores shared with the sandbox and this process)")
    header = f"{'step':<14}" + "".join(f"{p.name + ' p50':>14}{p.name + ' p99':>14}" for p in phases)
    print(header)
    for index, step in enumerate(STEPS):
        cells = "".join(f"{percentile(p.steps.by_step[index], q):>14.0f}" for p in phases for q in (50, 99))
        print(f"{step:<14}{cells}")
    for p in phases:
        every = [ms for values in p.steps.by_step.values() for ms in values]
        updates = p.steps.updates
        print(f"{p.name}: {updates} steps in {p.steps.seconds:.1f} s ({updates / p.steps.seconds:.0f}/s), "
              f"{p.steps.failed} scripts failed; all steps p50 {percentile(every, 50):.0f} ms, "
              f"p99 {percentile(every, 99):.0f} ms; bot CPU {p.cpu_s:.1f} s ({1000 * p.cpu_s / max(updates, 1):.2f} ms "
              f"per step); bot RSS {p.rss_before:.0f} → {p.rss_after:.0f} MB, peak so far {p.peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=500, help="residents at once in each channel (500)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one answer (120)")
    parser.add_argument("--order", default="telegram,web", help="the phases in order (telegram,web)")
    args = parser.parse_args()
    if os.environ.get("BOT_TOKEN"):
        print("(BOT_TOKEN in the environment is not used: the bot runs against the local sandbox only)")
    report(asyncio.run(run(args)), args.residents)


if __name__ == "__main__":
    main()
