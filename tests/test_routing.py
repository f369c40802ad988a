"""bot/runtime/routing.py: a handler or router left out of an update is one whose filter refuses it."""
from __future__ import annotations

import asyncio

from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.runtime.routing import OTHER, Commands, Data, RouteIndex, States, needs_of, route_updates
from dialogs import setup_routers

BOT = Bot("42:routing-test-token-local-only")
USER = User(id=5, is_bot=False, first_name="Ольга")


class Thing(CallbackData, prefix="t"):
    kind: str
    page: int = 0


class Numbered(CallbackData, prefix="num"):
    number: int


class Form(StatesGroup):
    one = State()
    two = State()


def message(text=None, caption=None):
    return Message(message_id=1, date=1700000000, chat=Chat(id=5, type="private"), from_user=USER, text=text,
                   caption=caption)


def press(data):
    return CallbackQuery(id="q", from_user=USER, chat_instance="c", data=data, message=message("Меню"))


def presses(index: RouteIndex) -> list:
    """Every kind of press the index tells apart, and forged ones around them."""
    out = [None, "", ":", "n", "n:", "n::", "zzz:menu:x:0", "n:menu:" + "x" * 80, "n:menu:a:b:c:d", "n:nope:1:0",
           "n:menu:\u0000:0"]
    for separator, prefixes in index.prefixes.items():
        for prefix, values in prefixes.items():
            out += [prefix, prefix + separator, f"{prefix}{separator}{separator}"]
            for value in values:
                out += [f"{prefix}{separator}{value}", f"{prefix}{separator}{value}{separator}1{separator}0",
                        f"{prefix}{separator}{value}{separator}{separator}", f"{prefix}{separator}{value}x:0:0"]
    return [press(data) for data in out]


def messages(index: RouteIndex) -> list:
    """Commands the handlers know, in other cases and with arguments, unknown ones, texts, captions, nothing."""
    out = [message(), message(""), message("   "), message("/"), message("/ start"), message("привіт"),
           message("/nope"), message(caption="/start"), message(caption="фото"), message("!start"),
           message("бабуся живе сама, потрібна допомога вдома")]
    for name in index.commands[1] | index.commands[2]:
        out += [message(f"/{name}"), message(f"/{name.upper()}"), message(f"/{name} 123 x"), message(f"{name}"),
                message(f"/{name}x"), message(f" /{name}\n")]
    return out


async def refuses(handler, event, raw_state) -> bool:
    """Whether one of the handler's filters the index reads refuses the event (called as aiogram calls it)."""
    for item in handler.filters or ():
        check = item.callback
        if isinstance(check, CallbackQueryFilter):
            verdict = await check(event)
        elif isinstance(check, StateFilter):
            verdict = await check(event, raw_state=raw_state)
        elif isinstance(check, Command):
            verdict = await check(event, bot=BOT)
        else:
            continue
        if verdict is False:
            return True
    return False


def test_left_out_handlers_refuse_the_update_in_the_real_dialogs():
    dp = Dispatcher()
    setup_routers(dp)
    index = RouteIndex()
    routers = list(dp.chain_tail)
    assert sum(index.add(router.observers[name]) for router in routers for name in ("message", "callback_query")) > 80
    assert {"n", "p"} <= set(index.prefixes[":"]) and {"start", "menu"} <= index.commands[1]
    states = sorted(index.states - {None}) + [None, "nobody:knows", "*"]

    async def check() -> int:
        left_out = 0
        for update_type, events in (("callback_query", presses(index)), ("message", messages(index))):
            for event in events:
                for raw_state in states:
                    key = index.key(event, raw_state)
                    for router in routers:
                        observer = router.observers[update_type]
                        offered = index.handlers_for(observer, key)
                        for handler in observer.handlers:
                            if handler not in offered:
                                left_out += 1
                                assert await refuses(handler, event, raw_state), (key, handler.callback.__name__)
                        if not index.may_handle(router, update_type, key):
                            assert not any(index.handlers_for(below.observers[update_type], key)
                                           for below in router.chain_tail)
        return left_out

    assert asyncio.run(check()) > 10000


def test_what_is_read_and_what_is_always_tried():
    router = Router()

    @router.callback_query(Thing.filter(F.kind == "a"))
    async def one(query):
        return "one"

    @router.callback_query(Thing.filter(F.kind.in_({"b", "c"})), Form.one)
    async def two(query):
        return "two"

    @router.callback_query(Thing.filter(F.page == 2), StateFilter(Form))
    async def three(query):
        return "three"

    @router.message(Command("go", "Stop", ignore_case=True), StateFilter(None, Form.two))
    async def four(message):
        return "four"

    @router.message(CommandStart(), StateFilter("*"))
    async def five(message):
        return "five"

    @router.callback_query(F.data == "x")
    async def last(query):
        return "last"

    needs = [needs_of(handler) for observer in (router.callback_query, router.message) for handler in observer.handlers]
    assert needs == [
        (Data(":", "t", frozenset("a")),),
        (Data(":", "t", frozenset("bc")), States(frozenset({"Form:one"}))),
        (Data(":", "t", None), States(frozenset({"Form:one", "Form:two"}))),
        (),
        (Commands("/", frozenset({"go", "stop"}), True), States(frozenset({None, "Form:two"}))),
        (Commands("/", frozenset({"start"}), False),),
    ]


def build(routed: bool) -> Dispatcher:
    dp, first, second = Dispatcher(), Router(), Router()

    @first.callback_query(Thing.filter(F.kind == "a"))
    async def one(query, callback_data: Thing):
        return f"one {callback_data.page}"

    @first.callback_query(Thing.filter(F.page == 2))
    async def page_two(query):
        return "page two"

    @first.message(Command("go", ignore_case=True), Form.one)
    async def go_in_one(message):
        return "go in one"

    @first.message(Form.two)
    async def in_two(message):
        return "in two"

    @second.callback_query(Numbered.filter(F.number == 1))
    async def four(query):
        return "four"

    @second.callback_query(F.data.startswith("t:b"))
    async def by_text(query):
        return "by text"

    @second.callback_query()
    async def last(query):
        return "last"

    @second.message(Command("go"))
    async def go(message):
        return "go"

    @second.message(StateFilter(None), F.text)
    async def text(message):
        return "text"

    dp.include_router(first)
    dp.include_router(second)
    if routed:
        route_updates(dp)
    return dp


def test_a_routed_dispatcher_answers_as_before():
    async def answers(dp: Dispatcher) -> list:
        out = []
        for data in ("t:a:1", "t:a:x", "t:b:2", "t:c:2", "t:b:0", "num:1", "num:01", "num:x", "x", "", "t:a",
                     "t:a:1:2", "num:1:1"):
            out.append(await dp.propagate_event("callback_query", press(data)))
        for text in ("/go", "/GO", "/go now", "go", "/gone", "привіт", None):
            for raw_state in (None, "Form:one", "Form:two", "Other:x"):
                out.append(await dp.propagate_event("message", message(text), raw_state=raw_state, bot=BOT))
        return out

    plain, routed = asyncio.run(answers(build(False))), asyncio.run(answers(build(True)))
    assert routed == plain
    assert plain[:3] == ["one 1", "last", "page two"]
    assert plain[13:17] == ["go", "go in one", "in two", "go"]


def test_a_state_no_handler_names_is_one_key():
    index = RouteIndex()
    index.states.update({None, "Form:one"})
    assert index.key(message("a"), "Elsewhere:x").state is OTHER
    assert index.key(message("a"), "Form:one").state == "Form:one"
