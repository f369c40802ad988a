"""A scripted day of the bot with kill -9 at random moments and, optionally, a failing Bot API.

The sandbox runs in this process; the bot is a separate process (`python -m bot run`) killed with SIGKILL and
started again. Meanwhile residents file requests, staff answer them in the group, residents talk to a
specialist on the consultation line, and a campaign goes out. Afterwards every message is counted from what
the sandbox's chats show and what the database holds:

* every request a resident saw confirmed exists once and has one card in the group; no request twice;
* every staff answer and every consultation message reached the other side once;
* every campaign recipient has one copy.

Used by tests/e2e/test_kill_day.py (a few kills) and benchmarks/soak.py (20 kills, a minute of 429, faults).
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import yaml

from benchmarks.botclock import IN_HOURS, bot_command
from benchmarks.steps import ENV_VARS, LANGUAGE_BUTTONS, compose, residents
from bot.config import PROJECT_ROOT
from sandbox import Sandbox, SandboxClient
from sandbox.client import message_text
from sandbox.person import Person

TOKEN = "7000000009:soak-day-token-not-for-telegram"
BOT_ID = 7000000009
ADMIN = 920001
CAMPAIGN_TEXT = "Графік роботи пунктів незламності на цей тиждень"
# an ERROR line that is a logged retry, not an unhandled error: polling could not reach the Bot API
UNHANDLED_OK = "Failed to fetch updates"


@dataclass
class Plan:
    kills: int = 20
    residents: int = 6  # filing requests
    talkers: int = 2  # on the consultation line
    recipients: int = 300  # of the campaign
    alive: tuple[float, float] = (1.5, 4.0)  # seconds the bot lives between two kills
    faults: list[dict[str, Any]] = field(default_factory=list)  # Bot API faults, one after another (see faults.py)
    background: list[dict[str, Any]] = field(default_factory=list)  # faults on all day long (e.g. a share of 500s)
    pause: tuple[float, float] = (2.0, 6.0)  # seconds a resident waits before the next request
    seed: int = 2026


@dataclass
class Report:
    kills: int = 0
    updates: int = 0
    faults: int = 0
    requests_confirmed: int = 0
    requests_lost: int = 0
    requests_twice: int = 0
    cards_lost: int = 0
    cards_twice: int = 0
    answers: int = 0
    answers_lost: int = 0
    answers_twice: int = 0
    consult_messages: int = 0
    consult_lost: int = 0
    consult_twice: int = 0
    campaign_sent: int = 0
    campaign_missing: int = 0
    campaign_twice: int = 0
    campaign_uncertain: int = 0
    outbox_interrupted: int = 0  # outbox rows whose Bot API call a kill cut: sent again (Telegram may have had it)
    still_queued: int = 0  # outbox rows not yet sent when the count was made (held back by group limits)
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    error_lines: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # what was lost or doubled, for the reader

    @property
    def lost(self) -> int:
        return self.requests_lost + self.cards_lost + self.answers_lost + self.consult_lost + self.campaign_missing

    @property
    def duplicates(self) -> int:
        return self.requests_twice + self.cards_twice + self.answers_twice + self.consult_twice + self.campaign_twice

    def p(self, share: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def lines(self) -> list[str]:
        return [
            f"kills survived: {self.kills}",
            f"updates handled: {self.updates}",
            f"faults injected: {self.faults}",
            f"requests confirmed: {self.requests_confirmed}, lost {self.requests_lost}, twice {self.requests_twice}; "
            f"cards lost {self.cards_lost}, twice {self.cards_twice}",
            f"staff answers: {self.answers}, lost {self.answers_lost}, twice {self.answers_twice}",
            f"consultation messages: {self.consult_messages}, lost {self.consult_lost}, twice {self.consult_twice}",
            f"campaign copies: {self.campaign_sent}, missing {self.campaign_missing}, twice {self.campaign_twice} "
            f"(rows caught mid-call by a kill: {self.campaign_uncertain})",
            f"outbox rows a kill caught between their first Bot API call and their outcome, sent again: "
            f"{self.outbox_interrupted}; "
            f"still queued at the count: {self.still_queued}",
            f"requests lost: {self.lost}",
            f"duplicates: {self.duplicates}",
            f"unhandled errors: {self.errors}",
            f"latency of residents' steps outside the restarts: p50 {self.p(0.5):.0f} ms, p95 {self.p(0.95):.0f} ms, "
            f"p99 {self.p(0.99):.0f} ms ({len(self.latencies)} steps)",
        ]


def day_data(folder: Path) -> Path:
    """The catalogue with the consultation line's hours pinned (every day, all day, a long wait), whatever the
    shipped schedule says; the bot's line clock is `benchmarks.botclock` (see `BotProcess`), never the wall clock."""
    data = folder / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    path = data / "shared" / "schedule.yaml"
    schedule = yaml.safe_load(path.read_text(encoding="utf-8"))
    schedule["default"].update(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start="00:00", end="23:59",
                               wait_minutes=120)
    schedule["holidays"] = []
    path.write_text(yaml.safe_dump(schedule, allow_unicode=True), encoding="utf-8")
    return data


class BotProcess:
    def __init__(self, sandbox: Sandbox, folder: Path):
        self.folder = folder
        self.log = folder / "bot.log"
        # The consultation line's clock: a working Tuesday morning, running at the real pace from the moment
        # the day starts, the same in every process of the day. On the wall clock the line's hours, its day of
        # the week and its timers would change what the day does with the hour it is run at.
        self.command, extra = bot_command(IN_HOURS, datetime.now(timezone.utc), "run")
        self.env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra["PYTHONPATH"], self.env.get("PYTHONPATH")]))
        self.env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sandbox.api_url, DATABASE_PATH=str(folder / "bot.sqlite3"),
                        LOG_LEVEL="INFO", ADMIN_IDS=str(ADMIN), COMMUNITIES="lutsk", DATA_DIR=str(day_data(folder)),
                        PYTHONUNBUFFERED="1",
                        # the scripted people tap and type many times faster than anyone could; the per-person
                        # limit would slow them down and this day is not about that (benchmarks/flood.py is)
                        RATE_LIMIT_PER_MINUTE="1200", RATE_LIMIT_BURST="200")
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=self.folder, env=self.env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def bind_code(self, institution: str) -> str:
        out = subprocess.run([sys.executable, "-m", "bot", "bind-code", "--community", "lutsk", institution],
                             cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True, timeout=60, check=True)
        return out.stdout.split("code: ", 1)[1].split()[0]

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        connection = sqlite3.connect(self.env["DATABASE_PATH"], timeout=30)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()


class Day:
    def __init__(self, plan: Plan, folder: Path):
        self.plan = plan
        self.folder = folder
        self.rng = random.Random(plan.seed)
        self.t0 = time.monotonic()
        self.report = Report()
        self.down: list[tuple[float, float]] = []  # (killed at, serving again at), monotonic
        self.alive = asyncio.Event()
        self.over = asyncio.Event()
        self.confirmed: dict[str, str] = {}  # request number -> description
        self.described: list[str] = []  # every description a resident sent
        self.answered: dict[str, str] = {}  # staff answer text -> request number
        self.talk: list[tuple[str, str, int]] = []  # consultation message, "group" or "resident", group/consultation
        self.seen_cards: set[str] = set()
        self.seen_consults: set[int] = set()

    # --- the processes ---------------------------------------------------------------------------------------

    async def run(self) -> Report:
        self.sandbox = await Sandbox(bot_token=TOKEN, flood_control=True).start("127.0.0.1", 0)
        self.client = SandboxClient(self.sandbox.url, timeout=15.0, bot_id=BOT_ID)
        await self.client.set_flood(True, per_chat_per_sec=100)  # the people of this day type fast
        self.bot = BotProcess(self.sandbox, self.folder)
        try:
            self.bot.start()
            await self.client.wait_bot_ready(timeout=60, bot_id=BOT_ID)
            self.alive.set()
            await self.prepare()
            workers = [asyncio.create_task(self.resident(p)) for p in self.people]
            workers += [asyncio.create_task(self.talker(p)) for p in self.talkers]
            workers += [asyncio.create_task(self.staff_desk()), asyncio.create_task(self.specialist_desk())]
            await self.killer()
            self.over.set()
            await asyncio.gather(*workers, return_exceptions=True)
            await self.settle()
            self.bot.stop()
            await self.count()
        finally:
            self.bot.stop()
            await self.client.close()
            await self.sandbox.stop()
        return self.report

    async def killer(self) -> None:
        for fault in self.plan.background:
            await self.client.fault(**{"seconds": 24 * 3600, **fault})
        faults = asyncio.create_task(self.fault_schedule())
        for _ in range(self.plan.kills):
            await asyncio.sleep(self.rng.uniform(*self.plan.alive))
            self.alive.clear()
            killed = time.monotonic()
            self.bot.kill()
            self.report.kills += 1
            await asyncio.sleep(self.rng.uniform(0.0, 1.0))
            self.bot.start()
            await self.client.wait_bot_ready(timeout=60, bot_id=BOT_ID)
            self.down.append((killed, time.monotonic() + 1.0))
            self.alive.set()
        await faults
        await asyncio.sleep(self.rng.uniform(*self.plan.alive))
        await self.client.clear_faults()

    async def fault_schedule(self) -> None:
        """The Bot API's bad moments, one after another (each for its `seconds`)."""
        for fault in self.plan.faults:
            await self.client.fault(**fault)
            await asyncio.sleep(float(fault.get("seconds") or 0) + 2.0)

    # --- the people ------------------------------------------------------------------------------------------

    async def prepare(self) -> None:
        client = self.client
        self.admin = Person(client, await client.create_user("Адміністраторка", user_id=ADMIN))
        await self.admin.say("/start")
        staff_user = await client.create_user("Ірина", language_code="uk")
        self.group = (await client.create_group("ТЦСО: звернення", forum=True, members=[staff_user],
                                                bots=[BOT_ID]))["id"]
        self.staff = Person(client, staff_user)
        self.staff.chat_id = self.group
        await self.staff.say(f"/bind {self.bot.bind_code('tcso')}")
        await self.staff.say("/role соціальна працівниця")
        self.people = [await self.newcomer(f"Мешканка {i}") for i in range(self.plan.residents)]
        self.talkers = [await self.newcomer(f"Співрозмовник {i}") for i in range(self.plan.talkers)]
        if self.plan.recipients:
            await self.campaign()

    async def newcomer(self, name: str) -> Person:
        person = Person(self.client, await self.client.create_user(name, language_code="uk"))
        await person.say("/start")
        await person.tap(LANGUAGE_BUTTONS["uk"], new=2)  # one community: the menu and the offer of news
        return person

    async def campaign(self) -> None:
        ids = await self.client.create_users(self.plan.recipients, name="Отримувачка")
        self.recipients = ids
        await residents(Path(self.bot.env["DATABASE_PATH"]), ids)
        await compose(self.admin, "events", CAMPAIGN_TEXT, audience="👥 Усі мешканці", timeout=15)
        await self.admin.tap("🚀 Надіслати зараз", new=1)

    async def step(self, action) -> Any:
        """One thing a person does and the answer they wait for; timed unless a restart fell in between."""
        started = time.monotonic()
        result = await action
        ended = time.monotonic()
        if not any(killed <= ended and started <= back for killed, back in self.down) and self.alive.is_set():
            self.report.latencies.append(ended - started)
            if ended - started > 5:
                self.report.details.append(f"slow step {started - self.t0:.1f}..{ended - self.t0:.1f} s; restarts at "
                                           f"{[(round(k - self.t0, 1), round(b - self.t0, 1)) for k, b in self.down]}")
        return result

    async def recover(self, person: Person) -> None:
        """What a person does when the bot did not answer: wait a little, then /cancel and start again."""
        await self.alive.wait()
        await asyncio.sleep(1.0)
        try:
            await person.say("/cancel", expect=False)
            await asyncio.sleep(0.5)
            await person.say("/menu", timeout=10)
        except Exception:
            pass

    async def resident(self, person: Person) -> None:
        n = 0
        while not self.over.is_set():
            n += 1
            description = f"Прошу допомоги з доглядом, запит {person.id}-{n}"
            try:
                await self.file(person, description)
            except Exception:
                await self.recover(person)
            await asyncio.sleep(self.rng.uniform(*self.plan.pause))  # a person reads, thinks, puts the phone down

    async def file(self, person: Person, description: str) -> None:
        [consent] = await self.step(person.say("📝 Попросити допомогу"))
        if "Перш ніж надіслати звернення" in message_text(consent):
            await self.step(person.tap("✅ Погоджуюся", new=1))
        await self.step(person.tap("Літня людина потребує догляду", new=1))
        await self.step(person.tap("🙋 Для себе", new=1))
        self.described.append(description)
        await self.step(person.say(description))
        await self.step(person.tap("Далі ➡️", new=1))
        await self.step(person.say("💬 Лише тут, у чаті", count=2))
        accepted = (await self.step(person.tap("✅ Надіслати", new=1)))[-1]
        text = message_text(accepted)
        if "прийнято" in text and "№" in text:
            self.confirmed[text.split("№", 1)[1].split()[0]] = description

    async def talker(self, person: Person) -> None:
        n = 0
        while not self.over.is_set():
            try:
                await self.step(person.say("💬 Онлайн-консультація"))
                answers = await self.step(person.tap("Психологічна підтримка", new=1))
                if "Перш ніж" in message_text(answers[-1]):
                    await self.step(person.tap("✅ Погоджуюся", new=1))
                mark = await self.client.last_id(person.chat_id)
                await self.step(person.say(f"Питання {person.id}: тривога після переїзду"))
                joined = await self.wait_text(person.chat_id, "приєднався фахівець", 60, mark)
                if not joined:
                    raise RuntimeError("nobody joined")
                for _ in range(3):
                    n += 1
                    text = f"Мешканець {person.id} пише, повідомлення {n}."
                    await self.client.send_text(person.user, text)
                    self.talk.append((text, "group", self.group))
                    await asyncio.sleep(self.rng.uniform(0.3, 1.2))
                await asyncio.sleep(2)
                await person.say("❌ Завершити консультацію", expect=False)
                await asyncio.sleep(2)
                await person.say("/menu", expect=False)
            except Exception:
                await self.recover(person)

    async def wait_text(self, chat_id: int, needle: str, timeout: float, mark: int) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.over.is_set():
            for message in (await self.client.chat(chat_id, since_id=mark))["messages"]:
                if message.get("sender") == "bot" and needle in message_text(message):
                    return True
            await asyncio.sleep(0.3)
        return False

    async def cards(self, pattern: str) -> list[tuple[dict[str, Any], re.Match[str]]]:
        """The bot's messages in a topic of the staff group that match `pattern` (after a pause; none when
        the sandbox does not answer)."""
        await asyncio.sleep(0.7)
        try:
            messages = await self.client.messages(self.group)
        except Exception:
            return []
        found = []
        for message in messages:
            match = re.search(pattern, message_text(message))
            if message.get("sender") == "bot" and match and message.get("message_thread_id"):
                found.append((message, match))
        return found

    async def staff_desk(self) -> None:
        """Answer every new request card in its topic."""
        while not self.over.is_set():
            for message, match in await self.cards(r"Звернення № (\S+)"):
                number = match.group(1)
                if number in self.seen_cards or "Статус" not in message_text(message):
                    continue
                self.seen_cards.add(number)
                answer = f"Відповідь на звернення {number}: працівниця зателефонує завтра"
                await self.client.send_text(self.staff.user, answer, chat_id=self.group,
                                            thread_id=message["message_thread_id"])
                self.answered[answer] = number

    async def specialist_desk(self) -> None:
        """Take every new consultation and write to the resident."""
        while not self.over.is_set():
            for message, match in await self.cards(r"Онлайн-консультація №\s*(\d+)"):
                consultation = int(match.group(1))
                take = next((b for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                             for b in row if b["text"] == "🙋 Взяти"), None)
                if consultation in self.seen_consults or take is None:
                    continue
                self.seen_consults.add(consultation)
                try:
                    await self.client.press_data(self.staff.id, message, take["callback_data"], chat_id=self.group)
                    await asyncio.sleep(1.0)
                    text = f"Фахівчиня відповідає у консультації №{consultation}."
                    await self.client.send_text(self.staff.user, text, chat_id=self.group,
                                                thread_id=message["message_thread_id"])
                    self.talk.append((text, "resident", consultation))
                except Exception:
                    continue

    # --- the count -------------------------------------------------------------------------------------------

    async def settle(self) -> None:
        """Give the bot time to send what is due: the outbox empty, the campaign finished (a busy staff group
        takes 20 messages a minute, so a backlog may take minutes)."""
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            pending = self.bot.query("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0]
            sending = self.bot.query("SELECT COUNT(*) FROM campaign_recipients WHERE status IN ('pending', "
                                     "'sending')")[0][0]
            inbox = self.bot.query("SELECT COUNT(*) FROM inbox")[0][0]
            if not (pending or sending or inbox):
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(2.0)

    async def count(self) -> None:
        report, client = self.report, self.client
        rows = self.bot.query("SELECT public_id, resident_id, description FROM requests")
        by_number = {r["public_id"]: r for r in rows}
        descriptions = Counter(r["description"] for r in rows)
        report.requests_confirmed = len(self.confirmed)
        for number, description in self.confirmed.items():
            row = by_number.get(number)
            if row is None or row["description"] != description:
                report.requests_lost += 1
        report.requests_twice = sum(n - 1 for n in descriptions.values() if n > 1)
        group = [m for m in await client.messages(self.group) if m.get("sender") == "bot"]
        cards = Counter(re.search(r"Звернення № (\S+)", message_text(m)).group(1) for m in group
                        if re.search(r"Звернення № (\S+)", message_text(m)) and "Статус" in message_text(m))
        report.cards_lost = sum(1 for number in by_number if cards[number] == 0)
        report.cards_twice = sum(n - 1 for n in cards.values() if n > 1)
        chats: dict[int, list[str]] = {}

        async def texts(chat_id: int) -> list[str]:
            if chat_id not in chats:
                chats[chat_id] = [message_text(m) for m in await client.messages(chat_id) if m.get("sender") == "bot"]
            return chats[chat_id]

        report.answers = len(self.answered)
        for answer, number in self.answered.items():
            row = by_number.get(number)
            got = sum(answer in t for t in await texts(row["resident_id"])) if row and row["resident_id"] else 0
            report.answers_lost += got == 0
            report.answers_twice += max(0, got - 1)
            if got != 1:
                report.details.append(f"request {number}: the answer {answer!r} reached the resident {got} times")
        consult_chat = {r["id"]: r["resident_id"] for r in self.bot.query("SELECT id, resident_id FROM consultations")}
        report.consult_messages = len(self.talk)
        for text, side, ref in self.talk:
            chat = ref if side == "group" else consult_chat.get(ref)
            # a consultation's card quotes its latest messages: only the messages themselves count
            got = sum(text in t and "Онлайн-консультація №" not in t for t in await texts(chat)) if chat else 0
            report.consult_lost += got == 0
            report.consult_twice += max(0, got - 1)
            if got != 1:
                report.details.append(f"{side} {ref}: {got} × {text!r}: "
                                          f"{[t[:120] for t in await texts(chat) if text in t] if chat else []}")
        if self.plan.recipients:
            copies = Counter()
            for user_id in self.recipients:
                copies[user_id] = sum(CAMPAIGN_TEXT in t for t in await texts(user_id))
            report.campaign_sent = sum(copies.values())
            # A campaign copy whose Bot API call a kill cut is `uncertain` and, by the campaigns' design, never
            # sent again (nobody gets a campaign twice; /campaigns shows the count). Its recipient may have no
            # copy; that is reported as uncertain, not lost. Every other recipient must have exactly one.
            uncertain = {row[0] for row in self.bot.query(
                "SELECT user_id FROM campaign_recipients WHERE status = 'uncertain'")}
            report.campaign_missing = sum(1 for u in self.recipients if copies[u] == 0 and u not in uncertain)
            report.campaign_twice = sum(n - 1 for n in copies.values() if n > 1)
            report.campaign_uncertain = len(uncertain)
        log = self.bot.log.read_text(encoding="utf-8", errors="replace")
        report.outbox_interrupted = self.bot.query("SELECT COALESCE(SUM(interrupted), 0) FROM outbox")[0][0]
        report.still_queued = self.bot.query("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0]
        report.updates = len(set(re.findall(r"bot\.updates: update=(\d+)", log)))
        report.faults = int((await client.faults())["total"])
        bad = [line for line in log.splitlines() if line.startswith("Traceback") or "Cause exception" in line
               or (" ERROR " in line and UNHANDLED_OK not in line)]
        report.errors = len(bad)
        report.error_lines = bad[:10]


async def run_day(plan: Plan, folder: Path) -> Report:
    return await Day(plan, folder).run()
