"""Throughput: many residents at once against the real bot, through the local Bot API sandbox.

Every simulated resident runs a script of ten updates: /start, a language, a community,
"🧭 Знайти допомогу", "📋 За життєвою ситуацією", a situation, a service, and three searches in
their own words. All residents act at the same time; each waits until the bot's answer is visible
in the chat before the next step (a closed loop, optionally with a pause: ``--think``, varied
±50 % per step, so residents do not act in step with each other). A script
always starts with a new Telegram user, so every round goes through the first-contact dialog.

The same load shape (residents, rounds or seconds, kinds of update) then runs against
``benchmarks/echo_bot.py``, a minimal aiogram bot that echoes texts and answers button presses,
and our figures are given as a ratio of its figures.

    .venv/bin/python benchmarks/throughput.py                  # 200 residents, 2 rounds each
    .venv/bin/python benchmarks/throughput.py --residents 50 --seconds 20
    .venv/bin/python benchmarks/throughput.py --quick          # a small run to see that it works

Processes: each bot runs as ``python -m bot run`` (or ``python benchmarks/echo_bot.py``) with
BOT_TOKEN, TELEGRAM_API_URL, DATABASE_PATH and LOG_LEVEL=WARNING in its environment, so its peak
memory (VmHWM, with any children) and CPU time are read from /proc. The sandbox runs in a process of
its own by default (``--sandbox inline`` runs it in this process): this process then only plays the
residents, and its work does not stall the server that stands in for Telegram. On a 2-core machine
three busy processes share two cores; the echo baseline shares them the same way, which is what the
ratio is for. Flood control of the sandbox is off.

Latency of an update: from the moment the control API is asked to send the message or press the
button until the sandbox's wait endpoint (long polling, no sleeping) reports the bot's answer in
the chat: a new message, or the screen edited in place. In a closed loop each resident has one
update in flight, so once a bot is saturated its updates wait in line and latency comes to about
residents ÷ updates per second; "bot CPU per update" is the cost of one update on its own, and
``--think`` pauses residents between steps to measure latency below saturation.

Open loop (``--open-loop``): steps arrive as a Poisson process at fixed rates (50, 100, 200, 400, 600
updates/s, then a search for the rate where p99 passes 100 ms), each bot in turn at each rate with the
same arrival times; latency runs from when a step was due. The bot is pinned to one core and the sandbox
and this process to another (taskset; unpinned, and said so, without it). Each rate prints p50/p95/p99,
bot CPU per update, RSS, and how long each process waited for a CPU; the run ends with a table, the
limits, and the day model of ``benchmarks/day_model.py``.

    .venv/bin/python benchmarks/throughput.py --open-loop --quick
    .venv/bin/python benchmarks/throughput.py --open-loop --rates 50,100,200 --rate-seconds 60
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, Sequence

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import Sandbox, SandboxClient  # noqa: E402
from sandbox.client import (  # noqa: E402
    TOKEN_HEADER,
    TOKEN_VARIABLE,
    SandboxError,
    inline_buttons,
    message_text,
    remember_token,
)
from sandbox.guard import new_token  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
import day_model  # noqa: E402

TOKEN = "7000000001:throughput-benchmark-token-local-only"
COMMUNITIES = ("Луцька громада", "Дружківська громада", "Володимирська громада", "Каховська громада",
               "Первомайська громада")
SEARCHES = (
    "гарячі обіди",
    "бабуся живе сама, потрібна допомога вдома",
    "сину 2 роки, у нього інвалідність",
    "де безкоштовно поїсти пенсіонеру",
    "ми переселенці, потрібне житло",
    "потрібен психолог",
    "допомога з документами",
    "реабілітація після травми",
    "денний центр для дитини з інвалідністю",
    "мамі 80 років, потрібен догляд",
    "втратив роботу, нема грошей",
    "соціальне таксі",
)
UPDATES_PER_SCRIPT = 10
BOT_ENV = ("BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "COMMUNITIES", "ADMIN_IDS", "DEFAULT_LOCALE",
           "TIMEZONE", "DATA_DIR", "LOG_LEVEL", "SANDBOX_HOST", "SANDBOX_PORT")
TARGET_UPS, TARGET_RATIO, TARGET_P99 = 500.0, 0.5, 100.0
OURS_ARGV = [sys.executable, "-m", "bot", "run"]
ECHO_ARGV = [sys.executable, str(ROOT / "benchmarks" / "echo_bot.py")]


class Unanswered(Exception):
    """The bot did not answer a step in time."""


class TimeUp(Exception):
    """The measured time is over: the resident stops before the next step."""


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (from /proc/<pid>/task/*/children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                queue.extend(int(child) for child in (task / "children").read_text().split())
    return found


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    total_kb = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and its children so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


@dataclass
class Child:
    """A subprocess this benchmark started (and stops, by its pid)."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @classmethod
    async def start(cls, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> Child:
        log = cwd / f"{name}.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *argv, env=env, cwd=str(cwd), stdout=sink, stderr=asyncio.subprocess.STDOUT
            )
        return cls(name, process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


# The sandbox's flood control is off in these runs (they measure the bot's own capacity), so the bot's
# pacing to Telegram's limits is off too.
NO_SEND_LIMITS = {"SEND_PER_SECOND": "0", "SEND_PER_CHAT_PER_SECOND": "0", "SEND_PER_GROUP_PER_MINUTE": "0"}


def child_env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in BOT_ENV}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(values)
    return env


class SandboxServer:
    """The sandbox, in a process of its own or in this one."""

    def __init__(self, mode: str, workdir: Path, prefix: Sequence[str] = ()) -> None:
        self.mode = mode
        self.workdir = workdir
        self.prefix = list(prefix)  # e.g. taskset's, to pin the sandbox's process to a core
        self.url = ""
        self.child: Optional[Child] = None
        self.inline: Optional[Sandbox] = None

    async def start(self) -> SandboxServer:
        if self.mode == "inline":
            self.inline = await Sandbox(bot_token=TOKEN, flood_control=False).start("127.0.0.1", 0)
            self.url = self.inline.url
            return self
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        # the child's control token goes in its environment (not its command line, which others can read);
        # every SandboxClient for this URL finds it
        control = new_token()
        remember_token(self.url, control)
        argv = self.prefix + [sys.executable, "-m", "sandbox", "--port", str(port), "--token", TOKEN]
        self.child = await Child.start("sandbox", argv, child_env(**{TOKEN_VARIABLE: control}), self.workdir)
        deadline = time.monotonic() + 20
        async with aiohttp.ClientSession(headers={TOKEN_HEADER: control}) as http:
            while True:  # start-up only: wait until the port answers
                try:
                    async with http.get(self.url + "/sandbox/flood") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if self.child.process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start:\n" + self.child.tail())
                await asyncio.sleep(0.05)
        return self

    async def stop(self) -> None:
        if self.inline is not None:
            await self.inline.stop()
        if self.child is not None:
            await self.child.stop()


# --- residents ----------------------------------------------------------------------------------


@dataclass
class Load:
    """What one run of residents measured."""

    latencies: list[float] = field(default_factory=list)  # ms, answered updates only
    unanswered: int = 0
    scripts: int = 0
    seconds: float = 0.0

    @property
    def updates(self) -> int:
        return len(self.latencies)


class Resident:
    """One simulated person in a private chat with the bot."""

    def __init__(
        self, client: SandboxClient, index: int, load: Load, timeout: float, think: float, deadline: Optional[float]
    ) -> None:
        self.client = client
        self.index = index
        self.load = load
        self.timeout = timeout
        self.think = think
        self.deadline = deadline
        self.random = random.Random(index)
        # open loop: awaited before each step, returns the perf_counter time the step was due (its arrival)
        self.gate: Optional[Callable[[], Awaitable[float]]] = None
        self.user_id = 0
        self.last_id = 0
        self.rev = 0
        self.screen: dict[str, Any] = {}

    async def new_user(self) -> None:
        user = await self.client.create_user(f"Мешканка {self.index}", language_code="uk")
        self.user_id, self.last_id, self.rev, self.screen = user["id"], 0, 0, {}

    def _seen(self, result: dict[str, Any]) -> None:
        changed = [m for m in result.get("edited", []) if not m.get("deleted")] + result["messages"]
        for message in changed:
            self.last_id = max(self.last_id, message["message_id"])
            if inline_buttons(message):
                self.screen = message
        self.rev = max(self.rev, int(result["rev"]))

    def _start(self) -> float:
        now = time.perf_counter()
        if self.deadline is not None and now >= self.deadline:
            raise TimeUp
        return now

    async def _begin(self) -> float:
        return await self.gate() if self.gate is not None else self._start()

    async def _measure(self, started: float, result: dict[str, Any]) -> None:
        finished = time.perf_counter()
        if self.deadline is not None and finished > self.deadline:
            raise TimeUp  # answered after the measured time: not counted
        if result["timed_out"]:
            self.load.unanswered += 1
            raise Unanswered(f"resident {self.index}: no answer in {self.timeout} s")
        self.load.latencies.append((finished - started) * 1000)
        self._seen(result)
        await self.pause()

    async def pause(self, low: float = 0.5, high: float = 1.5) -> None:
        """Think before the next step (residents do not act in step with each other)."""
        if self.think:
            await asyncio.sleep(self.think * self.random.uniform(low, high))

    async def say(self, text: str) -> None:
        started = await self._begin()
        sent = await self.client.send_text(self.user_id, text)
        result = await self.client.wait(self.user_id, sent["message_id"], 1, self.timeout)
        await self._measure(started, result)

    async def press(self, data: str, *, edits: bool, force: bool = False, count: int = 1) -> None:
        """Press a button of the newest screen; wait for `count` new messages, or (``edits``) for the screen to
        change."""
        message = self.screen or self.last_id
        started = await self._begin()
        await self.client.press_data(self.user_id, message, data, force=force)
        since_rev = self.rev if edits else None
        result = await self.client.wait(self.user_id, self.last_id, count, self.timeout, since_rev=since_rev)
        await self._measure(started, result)

    def button(self, *, text: str = "", prefix: str = "", avoid: str = "", pick: int = 0) -> str:
        candidates = [
            b["callback_data"]
            for b in inline_buttons(self.screen)
            if "callback_data" in b
            and (not text or b["text"] == text)
            and b["callback_data"].startswith(prefix)
            and not (avoid and b["text"].startswith(avoid))
        ]
        if not candidates:
            shown = [b["text"] for b in inline_buttons(self.screen)]
            raise AssertionError(f"resident {self.index}: no button {text or prefix!r} on the screen: {shown}")
        return candidates[pick % len(candidates)]


async def next_bot_message(client: SandboxClient, chat_id: int, after: int, predicate: Callable[[Any], bool],
                           timeout: float = 30) -> dict[str, Any]:
    """The first bot message after `after` in the chat that satisfies `predicate` (others are passed over)."""
    while True:
        for message in await client.wait_bot_messages(chat_id, after, 1, timeout=timeout):
            after = max(after, message["message_id"])
            if predicate(message):
                return message


async def onboard(client: SandboxClient, name: str, timeout: float = 30) -> int:
    """A new resident: /start, Ukrainian, the menu (one community served: no choice). Returns the user id."""
    uid = (await client.create_user(name, language_code="uk"))["id"]
    sent = await client.send_text(uid, "/start")
    greeting = await next_bot_message(client, uid, sent["message_id"], lambda m: bool(inline_buttons(m)), timeout)
    await client.press(uid, greeting, "🇺🇦 Українська")
    await next_bot_message(client, uid, greeting["message_id"], lambda m: "Ось меню" in message_text(m), timeout)
    return uid


async def our_script(person: Resident, round_number: int) -> None:
    n = person.index + round_number
    await person.say("/start")
    await person.press(person.button(text="🇺🇦 Українська"), edits=False)  # edit + "У якій громаді…"
    # edit + menu + the offer of news (every script is a new user; the offer is left unanswered, as many do)
    await person.press(person.button(text=COMMUNITIES[n % len(COMMUNITIES)]), edits=False, count=2)
    await person.say("🧭 Знайти допомогу")
    await person.press(person.button(text="📋 За життєвою ситуацією"), edits=True)
    await person.press(person.button(prefix="n:sit:", avoid="⚠️", pick=n), edits=True)
    services = [b for b in inline_buttons(person.screen) if b.get("callback_data", "").startswith("n:svc:")]
    if services:
        await person.press(person.button(prefix="n:svc:", pick=n), edits=True)
    else:  # no services listed for this situation here: go back instead, still one update
        await person.press(person.button(text="◀️ Назад"), edits=True)
    for k in range(3):
        await person.say(SEARCHES[(n * 3 + k) % len(SEARCHES)])


async def echo_script(person: Resident, round_number: int) -> None:
    """The same kinds of update in the same order; the echo bot answers each with a new message."""
    n = person.index + round_number
    await person.say("/start")
    await person.press("p:lang:uk", edits=False, force=True)
    await person.press(f"p:comm:{n % 5}", edits=False, force=True)
    await person.say("🧭 Знайти допомогу")
    await person.press("n:sits::0", edits=False, force=True)
    await person.press(f"n:sit:{n}:0", edits=False, force=True)
    await person.press(f"n:svc:{n}:0", edits=False, force=True)
    for k in range(3):
        await person.say(SEARCHES[(n * 3 + k) % len(SEARCHES)])


async def run_load(
    client: SandboxClient,
    script: Any,
    residents: int,
    *,
    tickets: Optional[int],
    seconds: Optional[float],
    timeout: float,
    think: float,
) -> Load:
    """All residents at once; each takes scripts (tickets) until none are left or time is up.

    With ``seconds`` only the updates answered within that time count, and the residents stop there.
    """
    load = Load()
    left = [tickets]
    started = time.perf_counter()
    deadline = started + seconds if seconds else None

    def take() -> bool:
        if deadline is not None and time.perf_counter() >= deadline:
            return False
        if left[0] is not None:
            if left[0] <= 0:
                return False
            left[0] -= 1
        return True

    async def live(index: int) -> None:
        person = Resident(client, index, load, timeout, think, deadline)
        await person.pause(0.0, 1.0)
        round_number = 0
        while take():
            await person.new_user()
            try:
                await script(person, round_number)
                load.scripts += 1
            except TimeUp:
                return
            except (Unanswered, SandboxError, AssertionError) as problem:
                print(f"  ! {problem}", file=sys.stderr)
            round_number += 1

    await asyncio.gather(*(live(index) for index in range(residents)))
    ended = time.perf_counter()
    load.seconds = (min(ended, deadline) if deadline is not None else ended) - started
    return load


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (nan for no values); inf counts as the largest value."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


# --- one bot under load -------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    load: Load
    rss_mb: float
    cpu_s: float
    refused: int
    sandbox_cpu_s: Optional[float] = None
    harness_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.load.updates / self.load.seconds if self.load.seconds else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.load.latencies, q)


class Stage:
    """One bot under test: its sandbox, the bot process, and a control client, started and ready."""

    def __init__(self, name: str, argv: list[str], args: argparse.Namespace, workdir: Path,
                 root: Path = ROOT) -> None:
        self.name = name
        self.argv = argv
        self.root = root  # the source tree the bot is run from (another one with --compare)
        self.args = args
        self.folder = workdir / name
        self.server: Optional[SandboxServer] = None
        self.bot: Optional[Child] = None
        self.http: Optional[aiohttp.ClientSession] = None
        self.client: Optional[SandboxClient] = None
        self.bot_prefix: list[str] = []  # taskset's, in the open loop
        self.sandbox_prefix: list[str] = []

    async def start(self) -> Stage:
        self.folder.mkdir()
        self.server = await SandboxServer(self.args.sandbox, self.folder, self.sandbox_prefix).start()
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
        )
        self.client = SandboxClient(self.server.url, session=self.http, timeout=self.args.timeout)
        await self.client.set_flood(False)
        env = child_env(
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=self.server.url,
            DATABASE_PATH=str(self.folder / "bot.sqlite3"),
            LOG_LEVEL="WARNING",
            **NO_SEND_LIMITS,
        )
        if self.root != ROOT:  # the other tree's packages first (this tree's stays installed in the venv)
            env["PYTHONPATH"] = os.pathsep.join([str(self.root)] + env["PYTHONPATH"].split(os.pathsep)[1:])
        self.bot = await Child.start(self.name, self.bot_prefix + self.argv, env, self.folder)
        try:
            await self.client.wait_bot_ready(timeout=60)
        except AssertionError:
            raise RuntimeError(f"{self.name} did not start polling:\n{self.bot.tail()}") from None
        return self

    @property
    def script(self) -> Callable[[Resident, int], Awaitable[None]]:
        return echo_script if self.name == "echo" else our_script

    async def warm(self, residents: int = 10) -> None:
        """One script for each of a few residents, not measured (first imports, caches, the database)."""
        assert self.client is not None
        await run_load(self.client, self.script, residents, tickets=residents, seconds=None,
                       timeout=self.args.timeout, think=0)

    async def measure(self, tickets: Optional[int]) -> Result:
        assert self.client is not None and self.bot is not None and self.server is not None
        args, client, bot = self.args, self.client, self.bot
        script = self.script
        await self.warm(min(args.residents, 10))
        calls_before = await client._get("/sandbox/calls", since=1 << 62)
        sandbox_pid = self.server.child.pid if self.server.child else None
        cpu_before = cpu_seconds(bot.pid)
        sandbox_before = cpu_seconds(sandbox_pid) if sandbox_pid else 0.0
        harness_before = time.process_time()
        load = await run_load(
            client,
            script,
            args.residents,
            tickets=tickets,
            seconds=None if tickets is not None else args.seconds,
            timeout=args.timeout,
            think=args.think / 1000,
        )
        harness = time.process_time() - harness_before
        cpu = cpu_seconds(bot.pid) - cpu_before
        sandbox_cpu = cpu_seconds(sandbox_pid) - sandbox_before if sandbox_pid else None
        rss = peak_rss_mb(bot.pid)
        calls = await client._get("/sandbox/calls", since=calls_before["last_seq"])
        refused = sum(1 for call in calls["calls"] if not call["ok"])
        if bot.process.returncode is not None:
            raise RuntimeError(f"{self.name} exited with {bot.process.returncode}:\n{bot.tail()}")
        return Result(self.name, load, rss, cpu, refused, sandbox_cpu, harness)

    async def open_point(self, rate: float, seconds: float, seed: int) -> Point:
        """One offered rate, open loop: the bot's CPU and memory around it."""
        assert self.client is not None and self.bot is not None and self.server is not None
        bot = self.bot
        sandbox_pid = self.server.child.pid if self.server.child else None
        sandbox_before = cpu_seconds(sandbox_pid) if sandbox_pid else 0.0
        harness_before = time.process_time()
        pids = {"bot": bot.pid, "sandbox": sandbox_pid, "residents": os.getpid()}
        waits_before = {name: cpu_wait_seconds(pid) for name, pid in pids.items() if pid}
        cpu_before, wall_before = cpu_seconds(bot.pid), time.perf_counter()
        load = await open_loop(self.client, self.script, rate, seconds, timeout=self.args.timeout, seed=seed)
        waits = {name: cpu_wait_seconds(pids[name]) - before for name, before in waits_before.items()}
        cpu = cpu_seconds(bot.pid) - cpu_before
        wall = time.perf_counter() - wall_before
        sandbox_cpu = cpu_seconds(sandbox_pid) - sandbox_before if sandbox_pid else None
        harness_cpu = time.process_time() - harness_before
        if bot.process.returncode is not None:
            raise RuntimeError(f"{self.name} exited with {bot.process.returncode}:\n{bot.tail()}")
        return Point(self.name, load, cpu, wall, rss_mb(bot.pid), peak_rss_mb(bot.pid), sandbox_cpu, harness_cpu,
                     waits)

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.stop()
        if self.client is not None:
            await self.client.close()
        if self.http is not None:
            await self.http.close()
        if self.server is not None:
            await self.server.stop()


# --- open loop ----------------------------------------------------------------------------------
#
# Residents' steps arrive as a Poisson process at a fixed rate, whether or not the bot has answered
# the earlier ones (an open loop, as people arrive in a real community). Each arrival goes to a resident
# whose previous step has been answered (a pool made beforehand, grown when every one is waiting), and its
# latency runs from the moment it was due, not from when it could be sent: a harness that falls behind
# adds its delay to the figures instead of hiding it ("send lag" says how much that was).

OPEN_RATES = (50.0, 100.0, 200.0, 400.0, 600.0)
QUICK_RATES = (50.0, 100.0)
P99_LIMIT = TARGET_P99


def poisson_schedule(rate: float, seconds: float, rng: random.Random) -> list[float]:
    """Arrival times (seconds from the start) of a Poisson process of `rate` a second within [0, seconds)."""
    times: list[float] = []
    if rate <= 0 or seconds <= 0:
        return times
    moment = rng.expovariate(rate)
    while moment < seconds:
        times.append(moment)
        moment += rng.expovariate(rate)
    return times


@dataclass
class OpenLoad:
    """What one offered rate measured. Latencies in ms from when each step was due."""

    rate: float
    seconds: float
    offered: int = 0
    latencies: list[float] = field(default_factory=list)  # answered steps
    unanswered: int = 0  # no answer within the timeout: counted as infinitely late in the percentiles
    failed: int = 0  # the step could not be taken (an unexpected screen, a refused call to the sandbox)
    lags: list[float] = field(default_factory=list)  # ms between when a step was due and when it was sent
    residents: int = 0
    grown: int = 0  # residents added during the run because every one was waiting for an answer

    @property
    def updates(self) -> int:
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        return percentile(self.latencies + [math.inf] * self.unanswered, q)


@dataclass
class Point:
    """One bot at one offered rate."""

    name: str
    load: OpenLoad
    cpu_s: float
    wall_s: float  # from the first arrival until the last answer (or timeout)
    rss_mb: float  # resident memory after the rate
    peak_rss_mb: float
    sandbox_cpu_s: Optional[float] = None  # None: the sandbox runs in this process
    harness_cpu_s: float = 0.0  # this process: the residents (and the sandbox when inline)
    cpu_wait_s: dict[str, float] = field(default_factory=dict)  # runnable but waiting for a CPU, by process

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_s / self.load.updates * 1000 if self.load.updates else float("nan")

    @property
    def p99(self) -> float:
        return self.load.percentile(99)

    @property
    def within(self) -> bool:
        """p99 under the limit, and every offered step answered."""
        return self.p99 < P99_LIMIT and self.load.unanswered == 0 and self.load.failed == 0


def next_probe(points: Sequence[tuple[float, bool]], *, ceiling: float, floor: float = 5.0,
               precision: float = 1.1) -> Optional[float]:
    """The next rate to try in the search for where p99 passes the limit, or None when it is found.

    `points` are (rate, within the limit) so far. Above the highest good rate and below the lowest bad one
    the search doubles (or halves) until it has both; then it bisects (geometrically) until the bad rate is
    within `precision` times the good one. Rates are rounded to whole updates a second.
    """
    good = [rate for rate, ok in points if ok]
    bad = [rate for rate, ok in points if not ok]
    best = max(good) if good else None
    worst = min((rate for rate in bad if best is None or rate > best), default=None)
    if best is None:
        if worst is None:
            return None
        probe = math.floor(worst / 2)
        return float(probe) if probe >= floor else None
    if worst is None:
        probe = math.ceil(best * 2)
        if best >= ceiling:
            return None
        return float(min(probe, ceiling))
    if worst <= best * precision or worst - best <= 1:
        return None
    return float(round(math.sqrt(best * worst)))


def limit_between(points: Sequence[tuple[float, bool]]) -> tuple[Optional[float], Optional[float]]:
    """The highest rate within the limit and the lowest rate above it that is beyond it."""
    good = [rate for rate, ok in points if ok]
    best = max(good) if good else None
    worst = min((rate for rate, ok in points if not ok and (best is None or rate > best)), default=None)
    return best, worst


async def open_loop(client: SandboxClient, script: Any, rate: float, seconds: float, *, timeout: float,
                    seed: int, think: float = 0.0) -> OpenLoad:
    """Steps arrive at `rate` a second (Poisson) for `seconds`; the latency of every one that was due. With
    `think` (seconds, 0.5–1.5 times it at random) a resident reads each answer that long before taking another
    step, as a person does: more residents share the rate, each writing less often."""
    load = OpenLoad(rate, seconds)
    schedule = poisson_schedule(rate, seconds, random.Random(seed))
    load.offered = len(schedule)
    arrivals: asyncio.Queue[Optional[float]] = asyncio.Queue()
    tasks: list[asyncio.Task[None]] = []
    origin = [0.0]
    waiting = [0]  # residents ready for their next step

    async def due() -> float:
        waiting[0] += 1
        try:
            moment = await arrivals.get()
        finally:
            waiting[0] -= 1
        if moment is None:
            raise TimeUp
        when = origin[0] + moment
        load.lags.append(max(0.0, time.perf_counter() - when) * 1000)
        return when

    async def live(index: int, ready: asyncio.Event) -> None:
        person = Resident(client, seed * 1_000_000 + index, load, timeout, think, None)  # type: ignore[arg-type]
        person.gate = due
        round_number = 0
        while True:
            try:
                await person.new_user()
            except SandboxError as problem:
                print(f"  ! {problem}", file=sys.stderr)
                load.failed += 1
                await asyncio.sleep(0.1)
                continue
            ready.set()
            try:
                await script(person, round_number)
            except TimeUp:
                return
            except Unanswered:
                pass  # counted in load.unanswered; a new person takes the next arrivals
            except (SandboxError, AssertionError) as problem:
                load.failed += 1
                print(f"  ! {problem}", file=sys.stderr)
            round_number += 1

    def grow() -> asyncio.Event:
        ready = asyncio.Event()
        tasks.append(asyncio.ensure_future(live(len(tasks), ready)))
        return ready

    # enough people for what is in flight at a low latency; more join if every one is waiting for an answer
    pool = max(8, math.ceil(rate * (0.1 + think * 1.5)))
    await asyncio.gather(*(grow().wait() for _ in range(pool)))
    origin[0] = time.perf_counter()
    for moment in schedule:
        delay = origin[0] + moment - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if waiting[0] <= arrivals.qsize():  # every ready resident already has a step: one more person
            grow()
            load.grown += 1
        arrivals.put_nowait(moment)
    for _ in range(len(tasks) * 2):
        arrivals.put_nowait(None)
    done, pending = await asyncio.wait(tasks, timeout=timeout + 10)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            print(f"  ! {task.exception()!r}", file=sys.stderr)
    load.residents = len(tasks)
    return load


def cpu_wait_seconds(pid: int) -> float:
    """Time the threads of a process and its children spent runnable but waiting for a CPU
    (/proc/PID/task/TID/schedstat, second field): on a shared machine, the other load in its way."""
    total_ns = 0
    for member in process_tree(pid):
        for task in Path(f"/proc/{member}/task").glob("*"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                total_ns += int((task / "schedstat").read_text().split()[1])
    return total_ns / 1e9


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of a process and its children now, in MB."""
    total_kb = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


@dataclass
class Pinning:
    """Where the processes run: the bot on one core, the sandbox and the residents on another."""

    bot: list[str]  # argv prefix of the bot
    sandbox: list[str]  # argv prefix of the sandbox
    residents: Optional[int]  # the core of this process
    shown: str


def pinning(wanted: bool, taskset: Optional[str] = None, cpus: Optional[Sequence[int]] = None) -> Pinning:
    """The bot on the first allowed core, the sandbox and this process on the second (taskset, util-linux)."""
    if not wanted:
        return Pinning([], [], None, "unpinned (--no-pin)")
    taskset = taskset if taskset is not None else shutil.which("taskset")
    if not taskset:
        return Pinning([], [], None, "unpinned: taskset (util-linux) is not installed")
    allowed = sorted(cpus if cpus is not None else os.sched_getaffinity(0))
    if len(allowed) < 2:
        return Pinning([], [], None, f"unpinned: only {len(allowed)} CPU available to this process")
    mine, theirs = allowed[0], allowed[1]
    return Pinning([taskset, "-c", str(mine)], [taskset, "-c", str(theirs)], theirs,
                   f"bot on CPU {mine}; sandbox and residents on CPU {theirs} (taskset)")


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    return "unknown"


def point_line(point: Point) -> str:
    load = point.load
    lag = percentile(load.lags, 99)
    busy = [] if point.sandbox_cpu_s is None else [f"sandbox {point.sandbox_cpu_s / point.wall_s:.0%}"]
    busy.append(f"residents {point.harness_cpu_s / point.wall_s:.0%}")
    others = "CPU of a core: " + ", ".join(busy)
    if point.cpu_wait_s:
        others += "; waiting for a CPU: " + ", ".join(
            f"{name} {wait / point.wall_s:.0%}" for name, wait in point.cpu_wait_s.items())
    return (
        f"open {point.name} at {load.rate:g}/s: {load.offered} steps due in {load.seconds:g} s, "
        f"{load.updates} answered, unanswered {load.unanswered}, failed {load.failed}; "
        f"p50 {load.percentile(50):.1f} ms, p95 {load.percentile(95):.1f} ms, p99 {load.percentile(99):.1f} ms; "
        f"bot CPU {point.cpu_ms_per_update:.2f} ms per update ({point.cpu_s / point.wall_s:.0%} of a core); "
        f"RSS {point.rss_mb:.1f} MB (peak {point.peak_rss_mb:.1f} MB); send lag p99 {lag:.1f} ms; "
        f"residents {load.residents}; {others}"
    )


def table(points: Sequence[Point]) -> list[str]:
    """Markdown rows: each rate with both bots' figures side by side."""
    by_rate: dict[float, dict[str, Point]] = {}
    for point in points:
        by_rate.setdefault(point.load.rate, {})[point.name] = point
    rows = [
        "| updates/s | ours p50 / p95 / p99 ms | echo p50 / p95 / p99 ms | ours CPU ms/update | echo CPU ms/update "
        "| ours RSS MB | echo RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(point: Optional[Point], what: str) -> str:
        if point is None:
            return "—"
        load = point.load
        if what == "latency":
            mark = "" if point.within else " ✗"
            return f"{load.percentile(50):.1f} / {load.percentile(95):.1f} / {load.percentile(99):.1f}{mark}"
        if what == "cpu":
            return f"{point.cpu_ms_per_update:.2f}"
        return f"{point.rss_mb:.0f}"

    for rate in sorted(by_rate):
        ours, echo = by_rate[rate].get("ours"), by_rate[rate].get("echo")
        rows.append(f"| {rate:g} | {cell(ours, 'latency')} | {cell(echo, 'latency')} | {cell(ours, 'cpu')} | "
                    f"{cell(echo, 'cpu')} | {cell(ours, 'rss')} | {cell(echo, 'rss')} |")
    return rows


def compared(args: argparse.Namespace, workdir: Path) -> list[Stage]:
    """With --compare DIR: the bot of another source tree (a git worktree of an earlier commit), measured in
    the same run under the same load, so that a change is seen as a ratio on a machine others share."""
    if not args.compare:
        return []
    root = Path(args.compare).resolve()
    if not (root / "bot" / "__main__.py").exists():
        raise SystemExit(f"--compare {root}: not a source tree of this bot")
    return [Stage("base", OURS_ARGV, args, workdir, root=root)]


def compare_table(points: Sequence[Point]) -> list[str]:
    """Markdown rows: ours against the compared tree (--compare) at each rate."""
    by_rate: dict[float, dict[str, Point]] = {}
    for point in points:
        by_rate.setdefault(point.load.rate, {})[point.name] = point
    rows = ["| updates/s | ours p50 / p99 ms | base p50 / p99 ms | ours CPU ms/update | base CPU ms/update | "
            "CPU ours/base | ours RSS MB | base RSS MB |", "|---|---|---|---|---|---|---|---|"]
    for rate in sorted(by_rate):
        ours, base = by_rate[rate].get("ours"), by_rate[rate].get("base")
        if ours is None or base is None:
            continue
        rows.append(f"| {rate:g} | {ours.load.percentile(50):.1f} / {ours.p99:.1f} | {base.load.percentile(50):.1f} / "
                    f"{base.p99:.1f} | {ours.cpu_ms_per_update:.2f} | {base.cpu_ms_per_update:.2f} | "
                    f"{ours.cpu_ms_per_update / base.cpu_ms_per_update:.2f} | {ours.rss_mb:.0f} | {base.rss_mb:.0f} |")
    return rows


def limit_line(name: str, points: Sequence[Point]) -> str:
    best, worst = limit_between([(p.load.rate, p.within) for p in points if p.name == name])
    shown_best = f"{best:g}" if best is not None else "none measured"
    shown_worst = f"{worst:g}" if worst is not None else "none measured"
    return (f"{name}: p99 < {P99_LIMIT:g} ms up to {shown_best} updates/s; "
            f"beyond it from {shown_worst} updates/s")


async def open_main(args: argparse.Namespace) -> int:
    rates = list(args.rates or (QUICK_RATES if args.quick else OPEN_RATES))
    seconds = min(args.rate_seconds, 3.0) if args.quick else args.rate_seconds
    steps = min(args.search_steps, 1) if args.quick else args.search_steps
    pin = pinning(not args.no_pin)
    if pin.residents is not None:
        os.sched_setaffinity(0, {pin.residents})
    print(
        f"throughput, open loop: Poisson arrivals at {', '.join(f'{r:g}' for r in rates)} updates/s, "
        f"{seconds:g} s each, then up to {steps} rates to find where p99 passes {P99_LIMIT:g} ms; "
        f"{UPDATES_PER_SCRIPT} updates per script; "
        f"sandbox {'in its own process' if args.sandbox == 'process' else 'in this process'}; "
        f"flood control off; {pin.shown}",
        flush=True,
    )
    if not pin.bot:
        print(f"  note: {pin.shown}; the bot shares the cores with the sandbox and the residents", flush=True)
    print(f"machine: load average {load_average()} at start (1, 5, 15 min), {os.cpu_count()} CPU(s)", flush=True)
    points: list[Point] = []
    with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
        workdir = Path(tmp)
        stages = [Stage("ours", OURS_ARGV, args, workdir)] + compared(args, workdir) + [
            Stage("echo", ECHO_ARGV, args, workdir)]
        for stage in stages:
            stage.bot_prefix, stage.sandbox_prefix = pin.bot, pin.sandbox
        try:
            for outcome in await asyncio.gather(*(s.start() for s in stages), return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome
            for stage in stages:
                await stage.warm()

            async def measure(stage: Stage, rate: float) -> None:
                await asyncio.sleep(args.settle)  # the previous rate's last answers and writes settle
                # the same arrival times for both bots at a rate
                point = await stage.open_point(rate, seconds, seed=args.seed * 100_003 + round(rate))
                points.append(point)
                print(point_line(point), flush=True)

            for rate in rates:
                for stage in stages:  # both bots at each rate, in the same run
                    await measure(stage, rate)
            for stage in stages:
                for _ in range(steps):
                    probe = next_probe([(p.load.rate, p.within) for p in points if p.name == stage.name],
                                       ceiling=args.max_rate)
                    if probe is None:
                        break
                    await measure(stage, probe)
        finally:
            for stage in stages:
                await stage.stop()
    print(f"machine: load average {load_average()} at the end")
    print("\n".join(table(points)))
    if args.compare:
        print("\n".join(compare_table(points)))
    print(limit_line("ours", points))
    print(limit_line("echo", points))
    if args.compare:
        print(limit_line("base", points))
    ours_best, _ = limit_between([(p.load.rate, p.within) for p in points if p.name == "ours"])
    echo_best, _ = limit_between([(p.load.rate, p.within) for p in points if p.name == "echo"])
    if ours_best and echo_best:
        print(f"ratio of the rates within p99 < {P99_LIMIT:g} ms, ours/echo: {ours_best / echo_best:.2f}")
    model = day_model.model_from(args)
    print("day model (benchmarks/day_model.py), assumptions:")
    for line in day_model.assumptions(model):
        print(f"  {line}")
    for line in day_model.summary(model, ours_best, args.community):
        print(line)
    print("  note: the measured steps are the throughput script's (a new resident's first contact, browsing, "
          "searches), not the day's mix of requests and consultations")
    return 0


def report(result: Result) -> None:
    load = result.load
    per_update = result.cpu_s / load.updates * 1000 if load.updates else float("nan")
    print(
        f"{result.name}: {load.updates} updates handled in {load.seconds:.1f} s = {result.rate:.1f} updates/s; "
        f"latency p50 {result.percentile(50):.1f} ms, p95 {result.percentile(95):.1f} ms, "
        f"p99 {result.percentile(99):.1f} ms; peak RSS {result.rss_mb:.1f} MB; "
        f"bot CPU {per_update:.2f} ms per update; unanswered {load.unanswered}; refused Bot API calls "
        f"{result.refused}"
    )
    busy = [f"bot {result.cpu_s / load.seconds:.0%}"]
    if result.sandbox_cpu_s is not None:
        busy.append(f"sandbox {result.sandbox_cpu_s / load.seconds:.0%}")
    busy.append(f"residents {result.harness_cpu_s / load.seconds:.0%}")
    print(f"  {result.name}: CPU use during the run (100% = one core): {', '.join(busy)}")


def verdict(name: str, ok: bool, shown: str) -> None:
    print(f"target {name}: {'met' if ok else 'NOT met'} ({shown})")


async def main(args: argparse.Namespace) -> int:
    if args.open_loop:
        return await open_main(args)
    if args.quick:
        args.residents, args.rounds, args.seconds = min(args.residents, 10), 1, None
    tickets = None if args.seconds else args.residents * args.rounds
    shape = f"{args.seconds:g} s" if args.seconds else f"{args.rounds} round(s)"
    print(
        f"throughput: {args.residents} residents at once, {shape}, {UPDATES_PER_SCRIPT} updates per script, "
        f"think {args.think:g} ms, sandbox {'in its own process' if args.sandbox == 'process' else 'in this process'}, "
        f"flood control off, {os.cpu_count()} CPU(s)",
        flush=True,
    )
    print(f"machine: load average {load_average()} at start (1, 5, 15 min)", flush=True)
    with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
        workdir = Path(tmp)
        # Both start at once (start-up is the slow part); the echo bot idles in a long poll meanwhile.
        ours_stage, echo_stage = Stage("ours", OURS_ARGV, args, workdir), Stage("echo", ECHO_ARGV, args, workdir)
        base_stages = compared(args, workdir)
        try:
            starting = [ours_stage.start(), echo_stage.start()] + [stage.start() for stage in base_stages]
            for outcome in await asyncio.gather(*starting, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome
            ours = await ours_stage.measure(tickets)
            await ours_stage.stop()
            report(ours)
            sys.stdout.flush()
            for stage in base_stages:
                base = await stage.measure(tickets)
                await stage.stop()
                report(base)
                print(f"ratio ours/base: updates/s {ours.rate / base.rate:.2f}, CPU per update "
                      f"{(ours.cpu_s / ours.load.updates) / (base.cpu_s / base.load.updates):.2f}", flush=True)
            echo = await echo_stage.measure(tickets)  # the same residents and rounds (or seconds)
            report(echo)
        finally:
            for stage in [ours_stage, echo_stage, *base_stages]:
                await stage.stop()
    ratio = ours.rate / echo.rate if echo.rate else float("nan")
    p99 = ours.percentile(99)
    print(
        f"ratio ours/echo updates/s: {ratio:.2f}; p99 ours {p99:.1f} ms, echo {echo.percentile(99):.1f} ms"
    )
    verdict(f"updates/s >= {TARGET_UPS:g}", ours.rate >= TARGET_UPS, f"{ours.rate:.1f}")
    verdict(f"ratio >= {TARGET_RATIO:g}", ratio >= TARGET_RATIO, f"{ratio:.2f}")
    verdict(f"p99 < {TARGET_P99:g} ms", p99 < TARGET_P99, f"{p99:.1f} ms")
    return 0


def parse(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=200, help="residents acting at once (default 200)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--rounds", type=int, default=2, help="scripts per resident (default 2)")
    group.add_argument("--seconds", type=float, default=None, help="run for this long instead of rounds")
    parser.add_argument("--think", type=float, default=0.0, help="pause of a resident between steps, ms (default 0)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer (default 30)")
    parser.add_argument("--sandbox", choices=("process", "inline"), default="process",
                        help="where the sandbox runs (default: a process of its own)")
    parser.add_argument("--quick", action="store_true", help="a small run (10 residents, 1 round) for smoke tests; "
                        "with --open-loop: 50 and 100 updates/s, 3 s each, one step of the search")
    parser.add_argument("--compare", metavar="DIR", default=None,
                        help="also measure the bot of another source tree (e.g. a git worktree of an earlier "
                        "commit) in the same run, as 'base'")
    group = parser.add_argument_group("open loop")
    group.add_argument("--open-loop", action="store_true",
                       help="Poisson arrivals at fixed rates instead of residents waiting for each answer")
    group.add_argument("--rates", type=rates_of, default=None,
                       help="offered rates, updates/s, comma-separated (default 50,100,200,400,600)")
    group.add_argument("--rate-seconds", type=float, default=20.0, help="measured seconds per rate (default 20)")
    group.add_argument("--search-steps", type=int, default=5,
                       help="rates tried per bot to find where p99 passes 100 ms (default 5; 0: none)")
    group.add_argument("--max-rate", type=float, default=3000.0, help="the search goes no higher (default 3000)")
    group.add_argument("--settle", type=float, default=1.0, help="seconds of quiet before each rate (default 1)")
    group.add_argument("--seed", type=int, default=1, help="seed of the arrival times (default 1)")
    group.add_argument("--no-pin", action="store_true", help="do not pin the processes to cores")
    day_model.add_arguments(parser)
    return parser.parse_args(argv)


def rates_of(text: str) -> tuple[float, ...]:
    rates = tuple(float(part) for part in text.split(",") if part.strip())
    if not rates or any(not rate > 0 for rate in rates):
        raise argparse.ArgumentTypeError("rates are positive numbers, e.g. 50,100,200")
    return rates


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
