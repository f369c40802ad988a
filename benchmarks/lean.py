"""The CPU of the pieces every update pays for, measured in this process, before and after each change of
issue «Make it lean» (bot/runtime/speedups.py, bot/runtime/middlewares.py, bot/runtime/inbox.py).

End to end (benchmarks/throughput.py) the bot's CPU per update moves by ±15 % between two runs of the same
code on a machine others share, more than any one of these changes; here each piece runs alone, many
times, the old way and the new way in turn, and the CPU time of this process (time.process_time) is
compared. Each figure is the median of --repeat rounds.

    .venv/bin/python benchmarks/lean.py
    .venv/bin/python benchmarks/lean.py --repeat 9 --number 3000

Pieces: reading a Bot API answer (a sent message with a keyboard of eight buttons) and a getUpdates batch
with aiogram's hook for the bot reference and with `fast_bot_context`; storing an update in the inbox as
aiogram's model written back and as the JSON Telegram sent; an update passing four outer middlewares or one
(each doing nothing, so only aiogram's wrapping is measured); the button presses of the throughput script
offered to the routers of dialogs/ until a handler takes them, every router and handler in turn and routed
(bot/runtime/routing.py; the handlers themselves replaced by one that does nothing, so that only the choice is
measured); a sendMessage over HTTP to a local server with its answer read at once and left unread until used
(bot/runtime/session.py), and on uvloop when it is installed (the client's CPU only: the server runs in another
process; uvloop was tried and dropped: 0.91, 1.05 and 1.03 of asyncio's CPU in three runs).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import BaseMiddleware, Bot, Dispatcher  # noqa: E402
from aiogram.methods.base import Response  # noqa: E402
from aiogram.types import Message, Update  # noqa: E402

from bot.runtime import speedups  # noqa: E402
from bot.runtime.polling import raw_updates  # noqa: E402

TOKEN = "42:lean-benchmark-token-local-only"
USER = {"id": 5, "is_bot": False, "first_name": "Ольга", "username": "olha", "language_code": "uk"}
CHAT = {"id": 5, "type": "private", "first_name": "Ольга", "username": "olha"}
SENT = {"ok": True, "result": {
    "message_id": 77, "date": 1700000000, "chat": CHAT, "from": {"id": 1, "is_bot": True, "first_name": "Громада"},
    "text": "Ось що є для вас у громаді: гарячі обіди, догляд вдома, соціальне таксі.",
    "entities": [{"type": "bold", "offset": 0, "length": 8}],
    "reply_markup": {"inline_keyboard": [[{"text": f"Послуга {i}", "callback_data": f"n:svc:{i}:0"}]
                                         for i in range(8)]}}}
UPDATE = {"update_id": 1, "message": {"message_id": 3, "date": 1700000000, "chat": CHAT, "from": USER,
                                      "text": "бабуся живе сама, потрібна допомога вдома"}}
BATCH = json.dumps({"ok": True, "result": [{**UPDATE, "update_id": i} for i in range(3)]}, ensure_ascii=False)


def cpu_us(action: Callable[[], Any], number: int, repeat: int) -> float:
    """Median CPU microseconds of one call."""
    rounds = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(number):
            action()
        rounds.append((time.process_time() - started) / number * 1e6)
    return statistics.median(rounds)


def line(what: str, before: float, after: float) -> str:
    return f"| {what} | {before:.1f} | {after:.1f} | {after / before:.2f} |"


def validation(number: int, repeat: int) -> list[str]:
    bot = Bot(TOKEN)
    sent_type, batch_type = Response[Message], Response[list[Update]]
    sent, batch = json.dumps(SENT, ensure_ascii=False), BATCH

    def read_sent() -> Any:
        return sent_type.model_validate(json.loads(sent), context={"bot": bot})

    def read_batch() -> Any:
        return batch_type.model_validate(json.loads(batch), context={"bot": bot})

    before = cpu_us(read_sent, number, repeat), cpu_us(read_batch, number, repeat)
    speedups.fast_bot_context()
    after = cpu_us(read_sent, number, repeat), cpu_us(read_batch, number, repeat)
    assert read_sent().result.reply_markup.inline_keyboard[0][0].bot is bot
    return [line("a sent message with 8 buttons, read (Response[Message])", before[0], after[0]),
            line("a getUpdates batch of 3 messages, read", before[1], after[1])]


def inbox_payload(number: int, repeat: int) -> list[str]:
    updates = Response[list[Update]].model_validate(json.loads(BATCH)).result

    def dumped() -> Any:
        return [(u.update_id, u.model_dump_json(exclude_none=True, exclude_unset=True)) for u in updates]

    def kept() -> Any:
        raw = raw_updates(BATCH)
        return [(u.update_id, raw[u.update_id]) for u in updates]

    return [line("a batch of 3 updates as the inbox's rows", cpu_us(dumped, number, repeat),
                 cpu_us(kept, number, repeat))]


class Nothing(BaseMiddleware):
    async def __call__(self, handler: Any, event: Any, data: dict[str, Any]) -> Any:
        return await handler(event, data)


def middlewares(number: int, repeat: int) -> list[str]:
    bot = Bot(TOKEN)
    update = Update.model_validate(UPDATE, context={"bot": bot})

    def dispatcher(outer: int) -> Dispatcher:
        dp = Dispatcher()
        for _ in range(outer):
            dp.update.outer_middleware(Nothing())

        @dp.message()
        async def handled(message: Message) -> None:
            return None

        return dp

    loop = asyncio.new_event_loop()
    figures = []
    for outer in (4, 1):
        dp = dispatcher(outer)

        async def feed(count: int = number) -> None:
            for _ in range(count):
                await dp.feed_update(bot, update)

        rounds = []
        for _ in range(repeat):
            started = time.process_time()
            loop.run_until_complete(feed())
            rounds.append((time.process_time() - started) / number * 1e6)
        figures.append(statistics.median(rounds))
    loop.close()
    return [line("an update through the dispatcher, 4 outer middlewares → 1", *figures)]


PRESSES = ("p:lang:uk", "p:comm:pervomaiskyi", "n:sits::0", "n:sit:lonely_elderly:0", "n:svc:hot_meals:0",
           "n:found:1a2b3c4d:0", "n:menu::0")


def callback_routing(number: int, repeat: int) -> list[str]:
    from aiogram.types import CallbackQuery

    from bot.runtime.routing import route_updates
    from dialogs import setup_routers

    bot = Bot(TOKEN)
    queries = [CallbackQuery.model_validate({"id": "q", "from": USER, "chat_instance": "c", "data": data,
                                             "message": {**UPDATE["message"], "text": "Меню"}}, context={"bot": bot})
               for data in PRESSES]
    user, chat = queries[0].from_user, queries[0].message.chat

    async def taken(*args: Any, **kwargs: Any) -> str:
        return "taken"

    def dispatcher(routed: bool) -> Dispatcher:
        dp = Dispatcher()
        setup_routers(dp)
        for router in dp.chain_tail:
            for handler in router.callback_query.handlers:
                handler.call = taken  # type: ignore[method-assign]
        if routed:
            route_updates(dp)
        return dp

    loop = asyncio.new_event_loop()
    figures = []
    for routed in (False, True):
        dp = dispatcher(routed)

        async def feed(count: int = max(1, number // len(queries))) -> None:
            for _ in range(count):
                for query in queries:
                    assert await dp.propagate_event("callback_query", query, event_from_user=user, event_chat=chat,
                                                    raw_state=None) == "taken"

        rounds = []
        for _ in range(repeat):
            started = time.process_time()
            loop.run_until_complete(feed())
            rounds.append((time.process_time() - started) / (max(1, number // len(queries)) * len(queries)) * 1e6)
        figures.append(statistics.median(rounds))
    loop.close()
    return [line("a button press of the throughput script routed to its handler, every filter → by callback data",
                 *figures)]


def serve(port: int) -> None:
    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text=json.dumps(SENT, ensure_ascii=False), content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def http_calls(number: int, repeat: int) -> list[str]:
    """A sendMessage through the bot's own session (JSON body, the answer read) to a local server: the answer read
    at once (as aiogram does) and left unread until used (bot/runtime/session.py), in alternate rounds; asyncio's
    loop and uvloop when it is installed."""
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.methods import SendMessage

    from bot.runtime import session as json_session
    from bot.runtime.polling import TolerantSession

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port,), daemon=True)
    server.start()
    unread = json_session.UNREAD

    async def calls(variants: list[tuple[Any, ...]]) -> list[float]:
        session = TolerantSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}"))
        bot = Bot(TOKEN, session=session)
        method = SendMessage(chat_id=5, text="Ось меню")
        for _ in range(200):  # the server is up and the connections are open
            try:
                await bot(method)
            except Exception:  # noqa: BLE001 - not listening yet
                await asyncio.sleep(0.05)
        rounds: list[list[float]] = [[] for _ in variants]
        for _ in range(repeat):
            for i, kept in enumerate(variants):
                json_session.UNREAD = kept
                started = time.process_time()
                for _ in range(number // 5):
                    await bot(method)
                rounds[i].append((time.process_time() - started) / (number // 5) * 1e6)
        json_session.UNREAD = unread
        await session.close()
        return [statistics.median(r) for r in rounds]

    try:
        loop = asyncio.new_event_loop()
        out = [line("a sendMessage over HTTP (client CPU), the answer read at once → left unread",
                    *loop.run_until_complete(calls([(), unread])))]
        loop.close()
        try:
            import uvloop
        except ImportError:
            return out + ["| a sendMessage over HTTP, asyncio's loop → uvloop | uvloop is not installed | | |"]
        figures = []
        for factory in (asyncio.new_event_loop, uvloop.new_event_loop):
            loop = factory()
            figures += loop.run_until_complete(calls([unread]))
            loop.close()
        return out + [line("a sendMessage over HTTP (client CPU), asyncio's loop → uvloop", *figures)]
    finally:
        server.terminate()
        server.join(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per round (default 2000)")
    parser.add_argument("--repeat", type=int, default=7, help="rounds; the median is shown (default 7)")
    args = parser.parse_args()
    print(f"machine: load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPU(s); "
          f"median of {args.repeat} rounds")
    print("| piece | before µs CPU | after µs CPU | after / before |")
    print("|---|---|---|---|")
    # validation last but one: fast_bot_context cannot be undone
    for piece in (inbox_payload, middlewares, callback_routing, validation, http_calls):
        for row in piece(args.number, args.repeat):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
