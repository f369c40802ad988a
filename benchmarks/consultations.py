"""Consultation line under load: many live consultations at once, relayed through the real bot.

The bot runs as ``python -m bot run`` against the sandbox (both in processes of their own, see
benchmarks/throughput.py). A copy of data/ opens the line around the clock for the run (hours are
configuration). N residents each open a consultation; specialists of one staff group take them all at
once (the time until each resident reads that a specialist joined is printed: the burst of cards edited
and residents told); then every pair exchanges messages: the resident writes, the message must appear
in the consultation's topic in the group; the specialist answers in the topic, the answer must appear
in the resident's chat. Latency is from the control API's send to the message being visible on the
other side (the sandbox's wait endpoint, no sleeping). Where each side's wait starts is read once
before the talk begins: reading a whole chat history is the measurement's work, not the relay's, and
done inside the measured window it loaded the sandbox enough to put a 250 ms tail on others' relays.
Each side pauses about ``--think`` seconds between its messages (0.5 to 1.5 times it, at random), and
every pair starts at a random moment of the first two pauses, as people do: nobody types in step with
199 others. ``--lockstep`` removes the randomness to show the worst case of everyone writing at the
same instant.

    .venv/bin/python benchmarks/consultations.py                 # 200 consultations, 5 exchanges each
    .venv/bin/python benchmarks/consultations.py --quick         # a small run to see that it works

Target on this 2-core machine: relay p99 under 150 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import throughput  # noqa: E402

from sandbox.client import SandboxClient, inline_buttons, message_text  # noqa: E402

TOKEN = throughput.TOKEN
TOPIC_LABEL = "Психологічна підтримка"


def open_all_day(data: Path) -> None:
    schedule = yaml.safe_load((data / "shared" / "schedule.yaml").read_text(encoding="utf-8"))
    schedule["default"].update(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start="00:00",
                               end="23:59", wait_minutes=240)
    (data / "shared" / "schedule.yaml").write_text(yaml.safe_dump(schedule, allow_unicode=True), encoding="utf-8")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share / 100 * len(ordered)))] if ordered else float("nan")


def button_data(message: dict[str, Any], text: str) -> str:
    for button in inline_buttons(message):
        if button["text"] == text:
            return button["callback_data"]
    raise AssertionError(f"no button {text!r} in {[b['text'] for b in inline_buttons(message)]}")


async def open_consultation(client: SandboxClient, index: int) -> int:
    """A resident goes from /start to a queued consultation (one community served: no choice); returns the id."""
    uid = await throughput.onboard(client, f"Мешканець {index}")

    async def until(after: int, predicate) -> dict[str, Any]:
        return await throughput.next_bot_message(client, uid, after, predicate)

    sent = await client.send_text(uid, "💬 Онлайн-консультація")
    topics = await until(sent["message_id"], lambda m: any(b["text"] == TOPIC_LABEL for b in inline_buttons(m)))
    await client.press(uid, topics, TOPIC_LABEL)
    consent = await until(topics["message_id"], lambda m: "✅ Погоджуюся" in [b["text"] for b in inline_buttons(m)])
    await client.press(uid, consent, "✅ Погоджуюся")
    await until(consent["message_id"], lambda m: "Напишіть своє питання" in message_text(m))
    sent = await client.send_text(uid, f"Питання номер {index}: як впоратися з тривогою?")
    await until(sent["message_id"], lambda m: "у черзі" in message_text(m))
    return uid


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        data = workdir / "data"
        shutil.copytree(ROOT / "data", data)
        open_all_day(data)
        database = workdir / "bot.sqlite3"
        server = await throughput.SandboxServer(args.sandbox, workdir).start()
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=None))
        client = SandboxClient(server.url, session=http, timeout=args.timeout)
        env = throughput.child_env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=server.url, DATABASE_PATH=str(database),
                                   DATA_DIR=str(data), COMMUNITIES="lutsk", LOG_LEVEL="WARNING",
                                   **throughput.NO_SEND_LIMITS)
        bot = await throughput.Child.start("bot", [sys.executable, "-m", "bot", "run"], env, workdir)
        try:
            await client.set_flood(False)
            await client.wait_bot_ready(timeout=60)
            return await run(args, client, bot, env, data)
        finally:
            await bot.stop()
            await client.close()
            await http.close()
            await server.stop()


async def run(args: argparse.Namespace, client: SandboxClient, bot: throughput.Child, env: dict[str, str],
              data: Path) -> int:
    from bot.catalogue.loader import load_catalogue
    from bot.consult.service import line_of

    catalogue = load_catalogue(data, ["lutsk"])
    topic = next(t for t in catalogue.consultation_topics if t.name.uk == TOPIC_LABEL)
    institution = line_of(catalogue, "lutsk", topic.id).institution_id
    staff = [await client.create_user(f"Фахівчиня {k}") for k in range(args.specialists)]
    group = await client.create_group("Лінія консультацій", forum=True, members=staff)
    code = subprocess.run([sys.executable, "-m", "bot", "bind-code", "--community", "lutsk", institution],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    sent = await client.send_text(staff[0], "/bind " + code.stdout.split("code: ", 1)[1].split()[0],
                                  chat_id=group["id"])
    await client.wait_bot_messages(group["id"], sent["message_id"], 1, timeout=20)

    gate = asyncio.Semaphore(50)

    async def opened(index: int) -> int:
        async with gate:
            return await open_consultation(client, index)

    started = time.perf_counter()
    residents = await asyncio.gather(*(opened(i) for i in range(args.consultations)))
    setup = time.perf_counter() - started

    cards: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    while len(cards) < args.consultations and time.monotonic() < deadline:
        for message in await client.messages(group["id"]):
            text = message_text(message)
            if message.get("sender") == "bot" and "Онлайн-консультація №" in text and "Питання номер" in text:
                index = int(text.split("Питання номер ", 1)[1].split(":", 1)[0])
                cards[index] = message
        await asyncio.sleep(0.2)
    if len(cards) < args.consultations:
        print(f"only {len(cards)} of {args.consultations} consultations reached the group", file=sys.stderr)
        return 1

    async def arrives(chat_id: int, after: int, text: str, thread: int | None = None) -> int:
        """Wait until the bot shows `text` in the chat (or topic); return the message id."""
        while True:
            for message in await client.wait_bot_messages(chat_id, after, 1, timeout=args.timeout,
                                                          thread_id=thread):
                after = max(after, message["message_id"])
                if text in message_text(message):
                    return after

    told: list[float] = []
    resident_seen: dict[int, int] = {}

    async def take(index: int) -> None:
        """A specialist presses «Взяти»; done when the resident reads that a specialist joined (only then does a
        person start talking to them)."""
        async with gate:
            specialist = staff[index % len(staff)]
            seen = await client.last_id(residents[index])
            begin = time.perf_counter()
            query = await client.press_data(specialist["id"], cards[index], button_data(cards[index], "🙋 Взяти"),
                                            chat_id=group["id"])
        await client.callback_answer(query)
        resident_seen[index] = await arrives(residents[index], seen, "приєднався")
        told.append((time.perf_counter() - begin) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(take(i) for i in range(args.consultations)))
    storm = time.perf_counter() - started
    group_start = await client.last_id(group["id"])  # once: reading a whole chat is not part of anyone's relay

    to_group: list[float] = []
    to_resident: list[float] = []

    rng = random.Random(5)

    def pause() -> float:
        return args.think if args.lockstep else args.think * rng.uniform(0.5, 1.5)

    async def talk(index: int) -> None:
        if not args.lockstep:
            await asyncio.sleep(rng.uniform(0, 2 * args.think))
        resident = residents[index]
        specialist = staff[index % len(staff)]
        thread = cards[index]["message_thread_id"]
        group_seen, seen = group_start, resident_seen[index]
        for k in range(args.exchanges):
            text = f"повідомлення {index}-{k}"
            begin = time.perf_counter()
            await client.send_text(resident, text)
            group_seen = await arrives(group["id"], group_seen, text, thread)
            to_group.append((time.perf_counter() - begin) * 1000)
            await asyncio.sleep(pause())
            text = f"відповідь {index}-{k}"
            begin = time.perf_counter()
            await client.send_text(specialist, text, chat_id=group["id"], thread_id=thread)
            seen = await arrives(resident, seen, text)
            to_resident.append((time.perf_counter() - begin) * 1000)
            await asyncio.sleep(pause())

    cpu_before = throughput.cpu_seconds(bot.pid)
    started = time.perf_counter()
    await asyncio.gather(*(talk(i) for i in range(args.consultations)))
    spent = time.perf_counter() - started
    cpu = throughput.cpu_seconds(bot.pid) - cpu_before
    relayed = len(to_group) + len(to_resident)
    both = to_group + to_resident
    shape = "in lockstep" if args.lockstep else "0.5-1.5x at random, random start"
    print(f"{args.consultations} consultations at once ({args.specialists} specialists), {args.exchanges} exchanges "
          f"each, think {args.think:.1f} s ({shape}); set-up {setup:.1f} s")
    print(f"all taken at once: every resident told a specialist joined within {storm:.2f} s; press → told "
          f"p50 {percentile(told, 50):.0f} ms, p99 {percentile(told, 99):.0f} ms")
    print(f"messages relayed: {relayed} in {spent:.1f} s = {relayed / spent:.1f} messages/s; "
          f"bot CPU {cpu / max(relayed, 1) * 1000:.2f} ms per message; peak RSS of the bot "
          f"{throughput.peak_rss_mb(bot.pid):.1f} MB")
    for name, values in (("resident → group", to_group), ("group → resident", to_resident), ("both", both)):
        print(f"relay latency {name:<17} p50 {percentile(values, 50):7.1f} ms   p95 {percentile(values, 95):7.1f} ms"
              f"   p99 {percentile(values, 99):7.1f} ms   mean {statistics.fmean(values):7.1f} ms")
    p99 = percentile(both, 99)
    print(f"target relay p99 < 150 ms: {'met' if p99 < 150 else 'NOT met'} ({p99:.1f} ms)")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--consultations", type=int, default=200)
    parser.add_argument("--specialists", type=int, default=20)
    parser.add_argument("--exchanges", type=int, default=5)
    parser.add_argument("--think", type=float, default=1.0, help="seconds each side pauses between messages")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--sandbox", choices=["process", "inline"], default="process")
    parser.add_argument("--lockstep", action="store_true", help="everyone writes at the same instant")
    parser.add_argument("--quick", action="store_true", help="10 consultations, 2 exchanges")
    args = parser.parse_args(argv)
    if args.quick:
        args.consultations, args.specialists, args.exchanges, args.think = 10, 3, 2, 0.2
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
