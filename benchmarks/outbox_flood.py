"""A flood of cards for one staff group: what it costs the other institutions and the residents.

The bot runs as ``python -m bot run`` against the sandbox (both in processes of their own, see
benchmarks/throughput.py), serving Lutsk, with the default sending limits (30 messages a second, 20 a
minute to one group) and the sandbox's flood control on, so that a message over Telegram's limits would
be answered 429 as Telegram does. Three groups are bound: the territorial centre's (the flooded one), the
social protection department's (another institution) and nobody else's.

Two things are measured, each about every ``--every`` seconds, first for ``--phase`` seconds with
nothing else going on (the baseline), then for as long again right after ``--cards`` requests for the
territorial centre were stored through the request service (as if that many residents had pressed
«✅ Надіслати» at once):

  * another institution's card: a resident whose request form is filled in (a situation the social
    protection department handles) presses «✅ Надіслати»; measured until the card is visible in that
    department's group;
  * a staff answer to another resident: a member of the flooded group writes in the topic of a resident's
    earlier request; measured until the answer is visible in the resident's chat (and, apart, until the
    group shows the bot's «Надіслано мешканцю», which takes one of the flooded group's own 20 a minute).

A sample that does not arrive within ``--timeout`` seconds counts as that long (and is reported). At the
end: p50/p99/max of each phase, the flood's p99 over the baseline's, how many of the flood's cards
reached their group during the measured time, and how many 429 answers the sandbox gave.

    .venv/bin/python benchmarks/outbox_flood.py                  # 500 cards, 60 s per phase
    .venv/bin/python benchmarks/outbox_flood.py --quick          # a small run to see that it works

Target: p99 of both delays during the flood under 5 s.
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import throughput  # noqa: E402

from sandbox.client import SandboxClient, WaitTimeout, inline_buttons, message_text  # noqa: E402
from sandbox.person import Person  # noqa: E402

TOKEN = throughput.TOKEN
FLOODED, OTHER = "tcso", "dsvp"
FLOODED_SITUATION = "Літня людина потребує догляду"  # the territorial centre's
OTHER_SITUATION = "Потрібна порада щодо прав чи документів"  # the social protection department's
TARGET_P99 = 5.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share / 100 * len(ordered)))] if ordered else float("nan")


@dataclass
class Phase:
    name: str
    card: list[float] = field(default_factory=list)  # seconds
    answer: list[float] = field(default_factory=list)
    confirmed: list[float] = field(default_factory=list)
    late: dict[str, int] = field(default_factory=lambda: {"card": 0, "answer": 0, "confirmed": 0})


class Bench:
    def __init__(self, client: SandboxClient, env: dict[str, str], args: argparse.Namespace):
        self.client = client
        self.env = env
        self.args = args

    async def bind(self, institution: str, staff: dict[str, Any], title: str) -> int:
        group = await self.client.create_group(title, forum=True, members=[staff])
        code = subprocess.run([sys.executable, "-m", "bot", "bind-code", "--community", "lutsk", institution],
                              cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60, check=True)
        sent = await self.client.send_text(staff["id"], "/bind " + code.stdout.split("code: ", 1)[1].split()[0],
                                           chat_id=group["id"])
        await self.client.wait_bot_messages(group["id"], sent["message_id"], 1, timeout=20)
        return int(group["id"])

    async def until(self, chat_id: int, after: int, predicate, thread: int | None = None,
                    timeout: float | None = None) -> dict[str, Any]:
        """The first bot message after `after` that satisfies `predicate` (others are passed over)."""
        deadline = time.monotonic() + (timeout or self.args.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError
            for message in await self.client.wait_bot_messages(chat_id, after, 1, timeout=left, thread_id=thread):
                after = max(after, message["message_id"])
                if predicate(message):
                    return message

    async def fill_form(self, index: int, situation: str) -> tuple[int, dict[str, Any]]:
        """A new resident fills in a request up to its check screen (as tests/e2e/test_requests.py's
        file_request does); returns the user and that screen."""
        name = f"Мешканка {index}"
        uid = await throughput.onboard(self.client, name)
        # the offer of news follows the menu: read it first, so that it is not taken for the form's answer
        await self.until(uid, 0, lambda m: any(b["text"] == "👍 Готово" for b in inline_buttons(m)))
        person = Person(self.client, {"id": uid, "first_name": name})
        [consent] = await person.say("📝 Попросити допомогу")
        if "Перш ніж надіслати звернення" in message_text(consent):
            await person.tap("✅ Погоджуюся", new=1)
        await person.tap(situation, new=1)
        await person.tap("🙋 Для себе", new=1)
        await person.say(description(index))
        await person.tap("Далі ➡️", new=1)
        await person.say("💬 Лише тут, у чаті", count=2)
        check = person.received[-1]
        assert any(b["text"] == "✅ Надіслати" for b in inline_buttons(check)), message_text(check)
        return uid, check

    async def send_form(self, uid: int, check: dict[str, Any]) -> None:
        await self.client.press(uid, check, "✅ Надіслати")


def description(index: int) -> str:
    return f"Прошу допомоги, звернення мешканки {index}"


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = workdir / "bot.sqlite3"
        server = await throughput.SandboxServer("process", workdir).start()
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=None))
        client = SandboxClient(server.url, session=http, timeout=max(args.timeout, 30))
        env = throughput.child_env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=server.url, DATABASE_PATH=str(database),
                                   DATA_DIR=str(ROOT / "data"), COMMUNITIES="lutsk", LOG_LEVEL="WARNING",
                                   DAILY_REQUESTS="10000")
        bot = await throughput.Child.start("bot", [sys.executable, "-m", "bot", "run"], env, workdir)
        try:
            await client.set_flood(True)
            await client.wait_bot_ready(timeout=60)
            return await run(args, Bench(client, env, args), database)
        finally:
            await bot.stop()
            await client.close()
            await http.close()
            await server.stop()


async def run(args: argparse.Namespace, bench: Bench, database: Path) -> int:
    client = bench.client
    flooded_staff = await client.create_user("Працівниця центру")
    other_staff = await client.create_user("Працівниця управління")
    flooded = await bench.bind(FLOODED, flooded_staff, "Територіальний центр")
    other = await bench.bind(OTHER, other_staff, "Управління соцзахисту")
    samples = max(1, int(args.phase / args.every))

    # residents whose requests the flooded group answers, each with the topic of their request there
    talkers: list[tuple[int, int]] = []
    for k in range(args.talkers):
        uid, check = await bench.fill_form(1000 + k, FLOODED_SITUATION)
        after = await client.last_id(flooded)
        await bench.send_form(uid, check)
        card = await bench.until(flooded, after, lambda m, k=k: description(1000 + k) in message_text(m), timeout=90)
        talkers.append((uid, int(card["message_thread_id"])))
    # residents with a filled-in form for the other institution, two phases' worth
    gate = asyncio.Semaphore(8)

    async def ready(index: int) -> tuple[int, dict[str, Any]]:
        async with gate:
            return await bench.fill_form(index, OTHER_SITUATION)

    forms = list(await asyncio.gather(*(ready(i) for i in range(2 * samples))))
    print(f"set-up: {len(talkers)} residents with a request in the flooded group, {len(forms)} forms ready; "
          f"{samples} samples of each kind per phase, one every {args.every:.1f} s", flush=True)
    await asyncio.sleep(65)  # both groups' minutes of Telegram's limit start empty

    async def other_card(phase: Phase, index: int, uid: int, check: dict[str, Any]) -> None:
        after = await client.last_id(other)
        begin = time.perf_counter()
        try:
            await bench.send_form(uid, check)
            await bench.until(other, after, lambda m: description(index) in message_text(m))
            phase.card.append(time.perf_counter() - begin)
        except (asyncio.TimeoutError, WaitTimeout):
            phase.late["card"] += 1
            phase.card.append(args.timeout)

    async def staff_answer(phase: Phase, k: int) -> None:
        uid, thread = talkers[k % len(talkers)]
        seen = await client.last_id(uid)
        group_seen = await client.last_id(flooded)
        text = f"Відповідь працівниці {phase.name} {k}"
        begin = time.perf_counter()
        await client.send_text(flooded_staff["id"], text, chat_id=flooded, thread_id=thread)

        async def resident() -> None:
            try:
                await bench.until(uid, seen, lambda m: text in message_text(m))
                phase.answer.append(time.perf_counter() - begin)
            except (asyncio.TimeoutError, WaitTimeout):
                phase.late["answer"] += 1
                phase.answer.append(args.timeout)

        async def group() -> None:
            try:
                await bench.until(flooded, group_seen, lambda m: "Надіслано мешканцю" in message_text(m), thread)
                phase.confirmed.append(time.perf_counter() - begin)
            except (asyncio.TimeoutError, WaitTimeout):
                phase.late["confirmed"] += 1
                phase.confirmed.append(args.timeout)

        await asyncio.gather(resident(), group())

    async def measure(phase: Phase, first: int) -> None:
        tasks = []
        for k, (uid, check) in enumerate(forms[first:first + samples]):
            tasks.append(asyncio.create_task(other_card(phase, first + k, uid, check)))
            await asyncio.sleep(args.every / 2)
            tasks.append(asyncio.create_task(staff_answer(phase, k)))
            await asyncio.sleep(args.every / 2)
        await asyncio.gather(*tasks)

    baseline, flood = Phase("baseline"), Phase("flood")
    await measure(baseline, 0)

    from zoneinfo import ZoneInfo

    from bot.catalogue.loader import load_catalogue
    from bot.requests.models import Draft
    from bot.requests.service import RequestService
    from bot.storage.db import Database

    db = await Database(database, 30.0).connect()
    service = RequestService(db, load_catalogue(ROOT / "data", ["lutsk"]), ZoneInfo("Europe/Kyiv"))
    flood_after = await client.last_id(flooded)
    calls_before = await client.calls(since=0)
    began = time.perf_counter()
    for i in range(args.cards):
        await service.create(Draft(community="lutsk", resident_id=9_000_000 + i, situation_id="older_care",
                                   for_whom="self", description=f"Звернення з черги № {i}"), capped=False)
    stored = time.perf_counter() - began
    await db.close()
    await measure(flood, samples)
    spent = time.perf_counter() - began
    arrived = [m for m in await client.messages(flooded, since_id=flood_after)
               if m.get("sender") == "bot" and "Звернення з черги" in message_text(m)]
    calls = await client.calls(since=calls_before[-1]["seq"] if calls_before else 0)
    refused = sum(1 for c in calls if c.get("error_code") == 429 or "429" in str(c.get("error", "")))

    print(f"flood: {args.cards} requests for one group stored in {stored:.1f} s; {len(arrived)} of their cards "
          f"reached the group in the {spent:.0f} s measured (its limit: 20 a minute); 429 answers: {refused}")
    print(f"{'delay (s)':<40} {'phase':<9} {'n':>3} {'p50':>7} {'p99':>7} {'max':>7}  late")
    verdict = []
    for label, key in (("another institution's card", "card"), ("staff answer to another resident", "answer"),
                       ("  «Надіслано мешканцю» in the busy group", "confirmed")):
        for phase in (baseline, flood):
            values = getattr(phase, key)
            print(f"{label:<40} {phase.name:<9} {len(values):>3} {percentile(values, 50):7.2f} "
                  f"{percentile(values, 99):7.2f} {max(values, default=float('nan')):7.2f}  {phase.late[key]}")
        ratio = percentile(getattr(flood, key), 99) / max(percentile(getattr(baseline, key), 99), 1e-3)
        print(f"{label:<40} flood p99 / baseline p99 = {ratio:.2f}")
        if key != "confirmed":
            verdict.append(percentile(getattr(flood, key), 99) < TARGET_P99)
    print(f"target p99 < {TARGET_P99:.0f} s during the flood: {'met' if all(verdict) else 'NOT met'}")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--phase", type=float, default=60.0, help="seconds measured in each phase")
    parser.add_argument("--every", type=float, default=4.0,
                        help="seconds between samples of each kind (the other group's own limit is 20 a minute)")
    parser.add_argument("--talkers", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0, help="a sample later than this counts as this")
    parser.add_argument("--quick", action="store_true", help="100 cards, 20 s per phase")
    args = parser.parse_args(argv)
    if args.quick:
        args.cards, args.phase, args.timeout = 100, 20.0, 30.0
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
