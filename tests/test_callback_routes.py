"""bot/runtime/callback_routes.py: a handler or router left out of a press is one whose filter refuses it."""
from __future__ import annotations

import asyncio

from aiogram import Dispatcher, F, Router
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.runtime.callback_routes import CallbackIndex, needs_of, route_callbacks
from dialogs import setup_routers


class Thing(CallbackData, prefix="t"):
    kind: str
    page: int = 0


class Numbered(CallbackData, prefix="num"):
    number: int


def press(data):
    user = User(id=5, is_bot=False, first_name="Ольга")
    message = Message(message_id=1, date=1700000000, chat=Chat(id=5, type="private"), text="Меню")
    return CallbackQuery(id="q", from_user=user, chat_instance="c", data=data, message=message)


def presses(index: CallbackIndex) -> list:
    """Every kind of press the index tells apart, and forged ones around them."""
    out = [None, "", ":", "n", "n:", "n::", "zzz:menu:x:0", "n:menu:" + "x" * 80, "n:menu:a:b:c:d", "n:nope:1:0",
           "n:menu:\u0000:0"]
    for separator, prefixes in index.known.items():
        for prefix, values in prefixes.items():
            out += [prefix, prefix + separator, f"{prefix}{separator}{separator}"]
            for value in values:
                out += [f"{prefix}{separator}{value}", f"{prefix}{separator}{value}{separator}1{separator}0",
                        f"{prefix}{separator}{value}{separator}{separator}", f"{prefix}{separator}{value}x:0:0"]
    return out


async def refuses(handler, query) -> bool:
    checks = [item.callback for item in handler.filters or () if isinstance(item.callback, CallbackQueryFilter)]
    for check in checks:
        if await check(query) is False:
            return True
    return False


def test_left_out_handlers_refuse_the_press_in_the_real_dialogs():
    dp = Dispatcher()
    setup_routers(dp)
    index = CallbackIndex()
    routers = list(dp.chain_tail)
    assert sum(index.add(router) for router in routers) > 60
    assert {"n", "p"} <= set(index.known[":"])

    async def check() -> int:
        left_out = 0
        for data in presses(index):
            query = press(data)
            key = index.key(data)
            for router in routers:
                observer = router.callback_query
                offered = index.handlers_for(observer, key)
                for handler in observer.handlers:
                    if handler not in offered:
                        left_out += 1
                        assert await refuses(handler, query), (data, handler.callback.__name__)
                if not index.may_handle(router, key):
                    assert not any(index.handlers_for(below.callback_query, key) for below in router.chain_tail)
        return left_out

    assert asyncio.run(check()) > 1000


def test_plain_rules_are_read_and_others_always_tried():
    router = Router()

    @router.callback_query(Thing.filter(F.kind == "a"))
    async def one(query):
        return "one"

    @router.callback_query(Thing.filter(F.kind.in_({"b", "c"})))
    async def two(query):
        return "two"

    @router.callback_query(Thing.filter(F.page == 2))
    async def three(query):
        return "three"

    @router.callback_query(Numbered.filter(F.number == 1))
    async def four(query):
        return "four"

    @router.callback_query()
    async def last(query):
        return "last"

    needs = [needs_of(handler) for handler in router.callback_query.handlers]
    assert [n.values if n else "none" for n in needs] == [frozenset("a"), frozenset("bc"), None, None, "none"]
    assert [n.prefix for n in needs if n] == ["t", "t", "t", "num"]


def test_a_routed_dispatcher_answers_as_before():
    def build(routed: bool) -> Dispatcher:
        dp, first, second = Dispatcher(), Router(), Router()

        @first.callback_query(Thing.filter(F.kind == "a"))
        async def one(query, callback_data: Thing):
            return f"one {callback_data.page}"

        @first.callback_query(Thing.filter(F.page == 2))
        async def page_two(query):
            return "page two"

        @second.callback_query(Numbered.filter(F.number == 1))
        async def four(query):
            return "four"

        @second.callback_query(F.data.startswith("t:b"))
        async def by_text(query):
            return "by text"

        @second.callback_query()
        async def last(query):
            return "last"

        dp.include_router(first)
        dp.include_router(second)
        if routed:
            route_callbacks(dp)
        return dp

    async def answers(dp: Dispatcher) -> list:
        out = []
        for data in ("t:a:1", "t:a:x", "t:b:2", "t:c:2", "t:b:0", "num:1", "num:01", "num:x", "x", "", "t:a",
                     "t:a:1:2", "num:1:1"):
            out.append(await dp.propagate_event("callback_query", press(data)))
        return out

    plain, routed = asyncio.run(answers(build(False))), asyncio.run(answers(build(True)))
    assert routed == plain
    assert plain[:3] == ["one 1", "last", "page two"]
