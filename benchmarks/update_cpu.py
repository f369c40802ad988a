"""The bot's own CPU per update, in one process, with the Bot API answered in that process.

benchmarks/throughput.py measures the bot as it runs (its own process, HTTP to the sandbox), and on a
machine others share its CPU per update moves by ±15 % between two runs of the same code. Here the throughput
script's updates (/start, a language, a community, «🧭 Знайти допомогу», a life situation, a service, three
searches; every script a new user) go through the real dispatcher one after another, and each Bot API call is
answered at once by a session that does what the bot's own does before and after HTTP (the JSON body, reading
the answer as its `read_answer` does) without the network. What is left is the bot's work: aiogram, the
middlewares, the dialogs, the database, the search. The CPU time of the process (time.process_time) for
--scripts scripts is measured --repeat times; the median is shown.

    .venv/bin/python benchmarks/update_cpu.py                          # this tree
    .venv/bin/python benchmarks/update_cpu.py --compare /tmp/perf-base  # and another tree, in turns
    .venv/bin/python benchmarks/update_cpu.py --echo                   # and benchmarks/echo_bot.py

With --compare and --echo each bot runs in a process of its own, in turns (this tree, the other, the echo bot,
this tree again…), so that the machine's load falls on all of them alike. Each process also reports its resident
memory (VmRSS, and the peak VmHWM) once the bot is built and after the rounds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TOKEN = "7000000001:update-cpu-benchmark-token-local-only"
COMMUNITIES = ("Луцька громада", "Дружківська громада", "Володимирська громада", "Каховська громада",
               "Первомайська громада")
SEARCHES = ("гарячі обіди", "бабуся живе сама, потрібна допомога вдома", "сину 2 роки, у нього інвалідність",
            "де безкоштовно поїсти пенсіонеру", "ми переселенці, потрібне житло", "потрібен психолог",
            "допомога з документами", "реабілітація після травми", "денний центр для дитини з інвалідністю",
            "мамі 80 років, потрібен догляд", "втратив роботу, нема грошей", "соціальне таксі")
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Громада", "username": "hromada_bot"}


class Chats:
    """What the bot showed in each chat: the messages with their inline keyboards, the latest screen."""

    def __init__(self) -> None:
        self.next_id = 1000
        self.keyboards: dict[tuple[int, int], list[dict[str, Any]]] = {}
        self.screen: dict[int, int] = {}

    def answer(self, api_method: str, payload: dict[str, Any]) -> Any:
        """Telegram's `result` for a call (a message for what sends or edits one, True otherwise)."""
        if api_method not in ("sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto"):
            return BOT_USER if api_method == "getMe" else True
        chat_id = int(payload.get("chat_id") or 0)
        if "message_id" in payload:
            message_id = int(payload["message_id"])
        else:
            self.next_id += 1
            message_id = self.next_id
        markup = payload.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        buttons = [b for row in (markup or {}).get("inline_keyboard", []) for b in row]
        if buttons or api_method != "sendMessage":
            self.keyboards[(chat_id, message_id)] = buttons
            self.screen[chat_id] = message_id
        message = {"message_id": message_id, "date": 1700000000, "chat": {"id": chat_id, "type": "private"},
                   "from": BOT_USER, "text": payload.get("text") or payload.get("caption") or "…"}
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    def button(self, chat_id: int, text: str = "", prefix: str = "", avoid: str = "", pick: int = 0) -> tuple:
        message_id = self.screen[chat_id]
        found = [b["callback_data"] for b in self.keyboards[(chat_id, message_id)] if "callback_data" in b
                 and (not text or b["text"] == text) and b["callback_data"].startswith(prefix)
                 and not (avoid and b["text"].startswith(avoid))]
        if not found:
            raise AssertionError(f"no button {text or prefix!r} in chat {chat_id}")
        return message_id, found[pick % len(found)]


def session_class(base: type, chats: Chats) -> type:
    from bot.runtime.session import json_body

    class InProcess(base):  # type: ignore[misc, valid-type]
        async def make_request(self, bot: Any, method: Any, timeout: Any = None) -> Any:
            body = json_body(bot, method)  # what the bot's session builds before posting
            payload = json.loads(body) if body is not None else method.model_dump(warnings=False, exclude_none=True)
            content = json.dumps({"ok": True, "result": chats.answer(method.__api_method__, payload)},
                                 ensure_ascii=False, default=str)
            if hasattr(self, "read_answer"):  # as the bot's session reads it (an older tree may not have it)
                return self.read_answer(bot, method, 200, content)
            return self.check_response(bot=bot, method=method, status_code=200, content=content).result

        async def close(self) -> None:
            return None

    return InProcess


class Feeder:
    def __init__(self, dispatcher: Any, bot: Any, chats: Chats) -> None:
        from aiogram.types import Update

        self.dp, self.bot, self.chats, self.update_type = dispatcher, bot, chats, Update
        self.update_id = 0
        self.updates = 0

    async def feed(self, user_id: int, **event: Any) -> None:
        self.update_id += 1
        self.updates += 1
        user = {"id": user_id, "is_bot": False, "first_name": "Мешканка", "language_code": "uk"}
        chat = {"id": user_id, "type": "private", "first_name": "Мешканка"}
        if "text" in event:
            raw = {"update_id": self.update_id, "message": {"message_id": self.update_id, "date": 1700000000,
                                                             "chat": chat, "from": user, "text": event["text"]}}
        else:
            message_id, data = event["press"]
            raw = {"update_id": self.update_id, "callback_query": {
                "id": str(self.update_id), "from": user, "chat_instance": "c", "data": data,
                "message": {"message_id": message_id, "date": 1700000000, "chat": chat, "from": BOT_USER,
                            "text": "…"}}}
        update = self.update_type.model_validate(raw, context={"bot": self.bot})
        await self.dp.feed_update(self.bot, update)

    async def ours(self, user_id: int, n: int) -> None:
        chats = self.chats
        await self.feed(user_id, text="/start")
        await self.feed(user_id, press=chats.button(user_id, text="🇺🇦 Українська"))
        await self.feed(user_id, press=chats.button(user_id, text=COMMUNITIES[n % len(COMMUNITIES)]))
        await self.feed(user_id, text="🧭 Знайти допомогу")
        await self.feed(user_id, press=chats.button(user_id, text="📋 За життєвою ситуацією"))
        await self.feed(user_id, press=chats.button(user_id, prefix="n:sit:", avoid="⚠️", pick=n))
        try:
            press = chats.button(user_id, prefix="n:svc:", pick=n)
        except AssertionError:
            press = chats.button(user_id, text="◀️ Назад")
        await self.feed(user_id, press=press)
        for k in range(3):
            await self.feed(user_id, text=SEARCHES[(n * 3 + k) % len(SEARCHES)])

    async def echo(self, user_id: int, n: int) -> None:
        await self.feed(user_id, text="/start")
        for data in ("p:lang:uk", f"p:comm:{n % 5}"):
            await self.feed(user_id, press=(1, data))
        await self.feed(user_id, text="🧭 Знайти допомогу")
        for data in ("n:sits::0", f"n:sit:{n}:0", f"n:svc:{n}:0"):
            await self.feed(user_id, press=(1, data))
        for k in range(3):
            await self.feed(user_id, text=SEARCHES[(n * 3 + k) % len(SEARCHES)])


async def prepared(kind: str, folder: str) -> Feeder:
    chats = Chats()
    if kind == "echo":
        sys.path.insert(0, str(HERE))
        import echo_bot
        from aiogram import Bot

        from bot.runtime.session import JsonSession

        bot = Bot(TOKEN, session=session_class(JsonSession, chats)())
        return Feeder(echo_bot.dispatcher, bot, chats)
    os.environ.update(BOT_TOKEN=TOKEN, DATABASE_PATH=str(Path(folder) / "bot.sqlite3"), LOG_LEVEL="WARNING",
                      SEND_PER_SECOND="0", SEND_PER_CHAT_PER_SECOND="0", SEND_PER_GROUP_PER_MINUTE="0")
    from bot.app import build_app, make_bot
    from bot.config import Settings
    from bot.runtime.polling import TolerantSession

    settings = Settings()
    app = await build_app(settings)
    bot = make_bot(settings)
    bot.session = session_class(TolerantSession, chats)(timeout=settings.api_timeout)
    return Feeder(app.dispatcher, bot, chats)


def memory_mb() -> dict[str, float]:
    """This process's resident memory now (VmRSS) and its peak (VmHWM), in MB."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line[:5]] = int(line.split()[1]) / 1024
    return found


async def measure(kind: str, scripts: int, repeat: int) -> dict[str, Any]:
    import gc
    import logging

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        feeder = await prepared(kind, folder)
        started_mb = memory_mb()
        script = feeder.echo if kind == "echo" else feeder.ours
        user = 10_000
        for n in range(5):  # warm: first imports, caches, the database
            user += 1
            await script(user, n)
        gc.collect()
        gc.freeze()
        rounds = []
        for _ in range(repeat):
            before, started = feeder.updates, time.process_time()
            for n in range(scripts):
                user += 1
                await script(user, n)
            rounds.append((time.process_time() - started) / (feeder.updates - before) * 1000)
        ended_mb = memory_mb()
        return {"kind": kind, "ms": statistics.median(rounds), "rounds": rounds, "start_rss": started_mb["VmRSS"],
                "start_peak": started_mb["VmHWM"], "rss": ended_mb["VmRSS"], "peak": ended_mb["VmHWM"]}


def run_child(tree: Path, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree) + (os.pathsep + os.environ["PYTHONPATH"]
                                                   if os.environ.get("PYTHONPATH") else ""))
    out = subprocess.run([sys.executable, str(HERE / "update_cpu.py"), "--child", kind, "--scripts",
                          str(args.scripts), "--repeat", str(args.repeat)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripts", type=int, default=20, help="scripts (10 updates each) a round (default 20)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the median is shown (default 5)")
    parser.add_argument("--turns", type=int, default=3, help="processes of each bot, in turns (default 3)")
    parser.add_argument("--compare", metavar="DIR", help="another source tree of the bot, measured in turns")
    parser.add_argument("--echo", action="store_true", help="benchmarks/echo_bot.py too")
    parser.add_argument("--child", choices=("ours", "echo"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child, args.scripts, args.repeat))))
        return 0
    root = HERE.parent
    bots = [("ours", root, "ours")] + ([("base", Path(args.compare).resolve(), "ours")] if args.compare else []) \
        + ([("echo", root, "echo")] if args.echo else [])
    print(f"machine: load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPU(s); "
          f"{args.scripts} scripts × {args.repeat} rounds in each of {args.turns} processes per bot")
    found: dict[str, list[float]] = {name: [] for name, _, _ in bots}
    memory: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in bots}
    for turn in range(args.turns):
        for name, tree, kind in bots:
            result = run_child(tree, kind, args)
            found[name].append(result["ms"])
            memory[name].append(result)
            print(f"turn {turn + 1} {name}: {result['ms']:.3f} ms CPU per update "
                  f"(rounds {', '.join(f'{r:.3f}' for r in result['rounds'])}); RSS MB after start "
                  f"{result['start_rss']:.1f} (peak {result['start_peak']:.1f}), after the rounds {result['rss']:.1f} "
                  f"(peak {result['peak']:.1f})", flush=True)
    medians = {name: statistics.median(values) for name, values in found.items()}
    print("| bot | CPU ms per update (median of processes) | each process | RSS MB after start (peak) "
          "| RSS MB after the rounds (peak) |")
    print("|---|---|---|---|---|")
    for name, values in found.items():
        runs = memory[name]
        start = statistics.median(r["start_rss"] for r in runs), statistics.median(r["start_peak"] for r in runs)
        end = statistics.median(r["rss"] for r in runs), statistics.median(r["peak"] for r in runs)
        print(f"| {name} | {medians[name]:.3f} | {', '.join(f'{v:.3f}' for v in values)} "
              f"| {start[0]:.1f} ({start[1]:.1f}) | {end[0]:.1f} ({end[1]:.1f}) |")
    for other in ("base", "echo"):
        if other in medians:
            print(f"ours / {other}: {medians['ours'] / medians[other]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
