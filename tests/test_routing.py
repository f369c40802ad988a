"""bot/runtime/routing.py: a handler or router left out of an update is one whose filter refuses it."""
from __future__ import annotations

import asyncio

from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Chat, Message, User
from aiogram.utils.i18n import I18n

from bot.i18n import LOCALES_DIR
from bot.runtime.routing import ANY_TEXT, OTHER, Commands, Data, RouteIndex, States, Texts, needs_of, route_updates
from dialogs import setup_routers
from dialogs.common import BTN_FIND, BTN_SEARCH, MenuButton

BOT = Bot("42:routing-test-token-local-only")
USER = User(id=5, is_bot=False, first_name="Ольга")
I18N = I18n(path=LOCALES_DIR, default_locale="uk", domain="messages")


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
    for text in index.known_texts:  # the reply keyboard's buttons, as sent, spaced, changed, as a caption
        out += [message(text), message(f"  {text}\n"), message(text.upper()), message(text[:-1]), message(f"{text}!"),
                message(caption=text), message(f"{text} {text}")]
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
        elif isinstance(check, MenuButton):
            verdict = await check(event, i18n=I18N)
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
    index.key(message("a"), None, I18N)
    assert len(index.texts) > 15 and {"🧭 Знайти допомогу", "🧭 Find help", "🔎 Пошук"} <= index.known_texts
    by_text: set[str] = set()

    async def check() -> int:
        left_out = 0
        for update_type, events in (("callback_query", presses(index)), ("message", messages(index))):
            for event in events:
                for raw_state in states:
                    key = index.key(event, raw_state, I18N)
                    for router in routers:
                        observer = router.observers[update_type]
                        offered = index.handlers_for(observer, key)
                        for handler in observer.handlers:
                            if handler not in offered:
                                left_out += 1
                                if any(isinstance(need, Texts) for need in needs_of(handler)):
                                    by_text.add(handler.callback.__name__)
                                assert await refuses(handler, event, raw_state), (key, handler.callback.__name__)
                        if not index.may_handle(router, update_type, key):
                            assert not any(index.handlers_for(below.observers[update_type], key)
                                           for below in router.chain_tail)
        return left_out

    assert asyncio.run(check()) > 10000
    assert len(by_text) > 10  # the reply keyboard's handlers are left out of what they refuse


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

    button = MenuButton(BTN_FIND)

    @router.message(button, StateFilter("*"))
    async def six(message):
        return "six"

    needs = [needs_of(handler) for observer in (router.callback_query, router.message) for handler in observer.handlers]
    assert [type(need) for need in needs.pop()] == [Texts] and needs_of(router.message.handlers[-1])[0].source is button
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

    @second.message(MenuButton(BTN_SEARCH), StateFilter("*"))
    async def search_button(message):
        return "search button"

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
        for text in ("/go", "/GO", "/go now", "go", "/gone", "привіт", None, "🔎 Пошук", " 🔎 Search ", "🔎 Пошук!"):
            for raw_state in (None, "Form:one", "Form:two", "Other:x"):
                out.append(await dp.propagate_event("message", message(text), raw_state=raw_state, bot=BOT, i18n=I18N))
        return out

    plain, routed = asyncio.run(answers(build(False))), asyncio.run(answers(build(True)))
    assert routed == plain
    assert plain[:3] == ["one 1", "last", "page two"]
    assert plain[13:17] == ["go", "go in one", "in two", "go"]
    assert plain[41:46] == ["search button", "search button", "in two", "search button", "search button"]
    assert plain[49] == "text"  # «🔎 Пошук!» is not the button


def test_texts_are_read_from_the_first_update_that_carries_the_handlers_i18n():
    router = Router()

    @router.message(MenuButton(BTN_SEARCH))
    async def search_button(message):
        return "search button"

    index = RouteIndex()
    index.add(router.message)
    assert index.key(message("🔎 Пошук"), None).text is ANY_TEXT  # not known yet: never left out
    assert index.handlers_for(router.message, index.key(message("привіт"), None))
    assert index.key(message(" 🔎 Пошук "), None, I18N).text == "🔎 Пошук"
    assert index.handlers_for(router.message, index.key(message("🔎 Search"), None, I18N))
    assert not index.handlers_for(router.message, index.key(message("привіт"), None, I18N))
    assert index.key(message("привіт"), None, I18N).text is None


def test_a_state_no_handler_names_is_one_key():
    index = RouteIndex()
    index.states.update({None, "Form:one"})
    assert index.key(message("a"), "Elsewhere:x").state is OTHER
    assert index.key(message("a"), "Form:one").state == "Form:one"
