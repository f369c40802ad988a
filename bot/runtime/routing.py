"""Updates routed by what their handlers need of them instead of trying every handler in turn.

aiogram offers a message or a button press to each router in order and, in each, to each handler until one's
filters pass. A handler of `Nav.filter(F.screen == "found")` unpacks the callback data into a `Nav` object (a
pydantic model) and only then compares the screen, so a press on the last of some seventy handlers was unpacked
dozens of times; a message met every router's chat filter and each handler's command and state filters (under
load aiogram's filters were about a tenth of the bot's CPU, a button press 264 µs to route).

Here each handler is indexed once, when the dispatcher is built, by what its filters need at the least:
- a callback-data filter: the prefix (`n`), and the first field's value when the rule is a plain
  `F.screen == "found"` or `F.screen.in_({...})` on a string field;
- a state filter: one of its states (the conversation's state is in the handler data as `raw_state`);
- a command filter: a text or caption whose first word starts with its prefix, and is one of its commands when
  they are plain strings;
- a filter that says which texts it accepts (`texts(i18n)`, the reply keyboard's `MenuButton` of dialogs/common.py):
  a message whose text, stripped, is one of them, in the languages of the `i18n` the handlers are given (read from
  the first update that carries it; before that, or without one, such a handler is never left out).
An update is offered, in the same order as before, only to the handlers that could accept it; a filter the index
cannot read (any other kind) never leaves a handler out. Routers with no such handler are not entered (their
own filters only look at the chat). The handlers' own filters still run in full on what is offered to them, so
forged data meets the same checks as before; a handler left out is one whose filter would have refused.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from types import MethodType
from typing import Any, Hashable, Optional

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from magic_filter.operations import ComparatorOperation, FunctionOperation, GetAttributeOperation

ROUTED = ("message", "callback_query")
OTHER = ("other",)  # a state no handler names
ANY_TEXT = ("any text",)  # the texts filters accept are not known yet (no i18n in the handler data)


@dataclass(frozen=True)
class Key:
    """An update as far as the handlers' needs tell updates apart (finitely many, whatever is sent)."""

    data: Optional[tuple[tuple[Optional[str], Optional[str]], ...]]  # per separator: (known prefix, known value)
    state: Hashable
    command: Optional[tuple[str, Optional[str], Optional[str]]]  # (prefix, the name, casefolded) when known
    text: Any = None  # a message's text, stripped, when a filter accepts it; ANY_TEXT when that is not known


@dataclass(frozen=True)
class Data:
    """A callback-data filter: its prefix, and one of `values` as the first field (None: any)."""

    separator: str
    prefix: str
    values: Optional[frozenset[str]]


@dataclass(frozen=True)
class States:
    names: frozenset[Optional[str]]


@dataclass(frozen=True, eq=False)
class Texts:
    """A filter that accepts the message texts its `texts(i18n)` gives (compared stripped)."""

    source: Any


@dataclass(frozen=True)
class Commands:
    prefixes: str
    names: Optional[frozenset[str]]  # None: a pattern among them
    ignore_case: bool


def _first_values(data_class: Any, rule: Any) -> Optional[frozenset[str]]:
    """The values of the first field the rule can accept, when it says so plainly; None otherwise."""
    fields = list(data_class.model_fields.items())
    if rule is None or not fields:
        return None
    name, info = fields[0]
    operations = getattr(rule, "_operations", ())
    if info.annotation is not str or not info.is_required() or len(operations) != 2:
        return None
    attribute, test = operations
    if type(attribute) is not GetAttributeOperation or attribute.name != name:
        return None
    if type(test) is ComparatorOperation and test.comparator is operator.eq and type(test.right) is str:
        return frozenset((test.right,))
    if (type(test) is FunctionOperation and getattr(test.function, "__name__", "") == "in_op"
            and len(test.args) == 1 and not test.kwargs and isinstance(test.args[0], (set, frozenset, tuple, list))
            and all(type(value) is str for value in test.args[0])):
        return frozenset(test.args[0])
    return None


def _state_names(allowed: Any) -> Optional[set[Optional[str]]]:
    """The raw states one of a state filter's states accepts; None for any."""
    if allowed is None or isinstance(allowed, str):
        return None if allowed == "*" else {allowed}
    if isinstance(allowed, State):
        return None if allowed.state == "*" else {allowed.state}
    group = type(allowed) if isinstance(allowed, StatesGroup) else allowed
    if isinstance(group, type) and issubclass(group, StatesGroup):
        return set(group.__all_states_names__)
    return None


def _states(filter_: Any) -> Optional[States]:
    states = filter_.states if isinstance(filter_, StateFilter) else (filter_,)
    names: set[Optional[str]] = set()
    for allowed in states:
        found = _state_names(allowed)
        if found is None:
            return None
        names |= found
    return States(frozenset(names))


def needs_of(handler: HandlerObject) -> tuple[Any, ...]:
    """What the handler's filters need, each readable filter once (an empty tuple: nothing known)."""
    out: list[Any] = []
    for item in handler.filters or ():
        check = item.callback
        if isinstance(check, CallbackQueryFilter):
            data_class = check.callback_data
            out.append(Data(data_class.__separator__, data_class.__prefix__, _first_values(data_class, check.rule)))
        elif isinstance(check, (StateFilter, State, StatesGroup)):
            states = _states(check)
            if states is not None:
                out.append(states)
        elif isinstance(check, Command):
            plain = all(isinstance(name, str) for name in check.commands)
            names = frozenset(check.commands) if plain else None
            out.append(Commands(check.prefix, names, check.ignore_case))
        elif callable(getattr(check, "texts", None)):
            out.append(Texts(check))
    return tuple(out)


@dataclass
class RouteIndex:
    """The handlers of every router of one dispatcher with what each needs, and the choices made, by key."""

    needs: dict[int, list[tuple[HandlerObject, tuple[Any, ...]]]] = field(default_factory=dict)
    prefixes: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # separator → prefix → first values
    states: set[Optional[str]] = field(default_factory=set)
    commands: tuple[set[str], set[str], set[str]] = field(default_factory=lambda: (set(), set(), set()))
    texts: list[Texts] = field(default_factory=list)
    accepted: dict[int, frozenset[str]] = field(default_factory=dict)  # id of a Texts → its texts, for `i18n`
    known_texts: frozenset[str] = frozenset()
    i18n: Any = None
    offered: dict[tuple[int, Key], tuple[HandlerObject, ...]] = field(default_factory=dict)
    entered: dict[tuple[int, str, Key], bool] = field(default_factory=dict)
    last: tuple[Any, Any, Any, Optional[Key]] = (None, None, None, None)  # what the key was last made of

    def key(self, event: Any, raw_state: Any, i18n: Any = None) -> Key:
        """The update's key (each router and observer asks again: the last answer is kept)."""
        last_event, last_state, last_i18n, last_key = self.last
        if event is last_event and raw_state == last_state and i18n is last_i18n and last_key is not None:
            return last_key
        if i18n is not None and i18n is not self.i18n:
            self._read_texts(i18n)
        data = event.data if isinstance(event, CallbackQuery) else None
        text = (event.text or event.caption) if isinstance(event, Message) else None
        key = Key(self._data(data), raw_state if raw_state in self.states else OTHER, self._command(text),
                  self._text(event))
        self.last = (event, raw_state, i18n, key)
        return key

    def _read_texts(self, i18n: Any) -> None:
        """What each text filter accepts in `i18n`'s languages; the choices made before are forgotten."""
        self.i18n = i18n
        self.accepted = {id(need): frozenset(need.source.texts(i18n)) for need in self.texts}
        self.known_texts = frozenset().union(*self.accepted.values())
        self.offered.clear()
        self.entered.clear()

    def _text(self, event: Any) -> Any:
        if not self.texts or not isinstance(event, Message):
            return None
        if self.i18n is None:
            return ANY_TEXT
        text = event.text.strip() if event.text else None
        return text if text in self.known_texts else None

    def _data(self, data: Optional[str]) -> Any:
        if not data:
            return None
        out = []
        for separator, prefixes in self.prefixes.items():
            parts = data.split(separator, 2)
            values = prefixes.get(parts[0])
            if values is None:
                out.append((None, None))
            else:
                out.append((parts[0], parts[1] if len(parts) > 1 and parts[1] in values else None))
        return tuple(out)

    def _command(self, text: Optional[str]) -> Any:
        words = text.split(maxsplit=1) if text else None
        prefixes, names, folded = self.commands
        if not words or words[0][0] not in prefixes:
            return None
        name = words[0][1:].partition("@")[0]
        return words[0][0], name if name in names else None, name.casefold() if name.casefold() in folded else None

    def admits(self, need: Any, key: Key) -> bool:
        if isinstance(need, Data):
            if key.data is None:
                return False  # no callback data: every callback-data filter refuses
            prefix, value = key.data[list(self.prefixes).index(need.separator)]
            return prefix == need.prefix and (need.values is None or value in need.values)
        if isinstance(need, States):
            return key.state in need.names
        if isinstance(need, Commands):
            if key.command is None or key.command[0] not in need.prefixes:
                return False
            return need.names is None or key.command[2 if need.ignore_case else 1] in need.names
        if isinstance(need, Texts):
            return key.text is ANY_TEXT or key.text in self.accepted.get(id(need), ())
        return True

    def handlers_for(self, observer: TelegramEventObserver, key: Key) -> tuple[HandlerObject, ...]:
        memo = (id(observer), key)
        found = self.offered.get(memo)
        if found is None:
            found = self.offered[memo] = tuple(handler for handler, needs in self.needs[id(observer)]
                                               if all(self.admits(need, key) for need in needs))
        return found

    def may_handle(self, router: Router, update_type: str, key: Key) -> bool:
        """Whether the router or one below it has a handler the update could reach (or a middleware around it)."""
        memo = (id(router), update_type, key)
        found = self.entered.get(memo)
        if found is None:
            observer = router.observers[update_type]
            found = self.entered[memo] = (bool(observer.outer_middleware) or bool(self.handlers_for(observer, key))
                                          or any(self.may_handle(sub, update_type, key) for sub in router.sub_routers))
        return found

    def add(self, observer: TelegramEventObserver) -> int:
        entries = [(handler, needs_of(handler)) for handler in observer.handlers]
        self.needs[id(observer)] = entries
        for need in (need for _, needs in entries for need in needs):
            if isinstance(need, Data):
                values = self.prefixes.setdefault(need.separator, {}).setdefault(need.prefix, set())
                values.update(need.values or ())
            elif isinstance(need, States):
                self.states.update(need.names)
            elif isinstance(need, Commands):
                self.commands[0].update(need.prefixes)
                self.commands[1].update(need.names or ())
                self.commands[2].update(name.casefold() for name in need.names or ())
            elif isinstance(need, Texts):
                self.texts.append(need)
        return sum(bool(needs) for _, needs in entries)


async def _offer(index: RouteIndex, observer: TelegramEventObserver, event: Any, **kwargs: Any) -> Any:
    """The observer's handlers in their order, only those that could accept this update; the first whose filters
    pass handles it (through the observer's middlewares), as aiogram does with all of them."""
    for handler in index.handlers_for(observer, index.key(event, kwargs.get("raw_state"), kwargs.get("i18n"))):
        kwargs["handler"] = handler
        passed, data = await handler.check(event, **kwargs)
        if not passed:
            continue
        kwargs.update(data)
        try:
            call = observer.outer_middleware.wrap_middlewares(observer._resolve_middlewares(), handler.call)
            return await call(event, kwargs)
        except SkipHandler:
            continue
    return UNHANDLED


def _routed(index: RouteIndex, router: Router):
    original = router.propagate_event

    async def propagate_event(self: Router, update_type: str, event: Any, **kwargs: Any) -> Any:
        if update_type in ROUTED and not index.may_handle(
                self, update_type, index.key(event, kwargs.get("raw_state"), kwargs.get("i18n"))):
            return UNHANDLED
        return await original(update_type=update_type, event=event, **kwargs)

    return propagate_event


def route_updates(root: Router) -> int:
    """Index the message and callback handlers of `root` and every router below it, and route by the index from
    now on; how many handlers have a filter the index reads. Handlers must be registered before (the index is
    not updated later)."""
    index = RouteIndex()
    routers = list(root.chain_tail)
    indexed = sum(index.add(router.observers[name]) for router in routers for name in ROUTED)
    for router in routers:
        for name in ROUTED:
            observer = router.observers[name]
            observer.trigger = MethodType(  # type: ignore[method-assign]
                lambda observer, event, **kwargs: _offer(index, observer, event, **kwargs), observer)
        if router is not root:  # the dispatcher's own middlewares (the language) always run
            router.propagate_event = MethodType(_routed(index, router), router)  # type: ignore[method-assign]
    return indexed

