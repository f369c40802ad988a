"""Button presses routed by their callback data instead of trying every handler in turn.

aiogram offers a button press to each router in order and, in each, to each handler until one's filters pass.
A handler of `Nav.filter(F.screen == "found")` unpacks the callback data into a `Nav` object (a pydantic model)
and only then compares the screen, so a press on the last of some seventy handlers was unpacked dozens of times
(aiogram's filters were about a tenth of the bot's CPU under load).

Here each handler is indexed once, when the dispatcher is built, by what its callback-data filter needs at the
least: the prefix (`n`), and the first field's value when the rule is a plain `F.screen == "found"` or
`F.screen.in_({...})` on a string field. A press is offered, in the same order as before, only to the handlers
that could accept it: those whose prefix and first value match, and every handler the index cannot read (no
callback-data filter, another kind of rule): those are always tried. Routers none of whose handlers could
accept it are not entered. The handlers' own filters still run in full on what is offered to them, so forged
data meets the same checks as before; a handler left out is one whose filter would have refused the press.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from types import MethodType
from typing import Any, Optional

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery
from magic_filter.operations import ComparatorOperation, FunctionOperation, GetAttributeOperation

Key = Optional[tuple[tuple[Optional[str], Optional[str]], ...]]  # per separator: (known prefix, known value)


@dataclass(frozen=True)
class Needs:
    """What a handler's callback-data filter needs of the data: its prefix, and one of `values` as the first
    field (None: any)."""

    separator: str
    prefix: str
    values: Optional[frozenset[str]]


def _in(container: Any, item: Any) -> bool:
    return item in container


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


def needs_of(handler: HandlerObject) -> Optional[Needs]:
    """What the handler's first callback-data filter needs; None when it has none."""
    for item in handler.filters or ():
        callback = item.callback
        if isinstance(callback, CallbackQueryFilter):
            data_class = callback.callback_data
            return Needs(data_class.__separator__, data_class.__prefix__, _first_values(data_class, callback.rule))
    return None


@dataclass
class CallbackIndex:
    """The handlers of every router of one dispatcher, with what each needs; the choices made, by key."""

    needs: dict[int, list[tuple[HandlerObject, Optional[Needs]]]] = field(default_factory=dict)
    known: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # separator → prefix → first values
    offered: dict[tuple[int, Key], tuple[HandlerObject, ...]] = field(default_factory=dict)
    entered: dict[tuple[int, Key], bool] = field(default_factory=dict)

    def key(self, data: Optional[str]) -> Key:
        """The press as far as any handler's needs can tell it apart (finitely many keys, whatever is sent)."""
        if not data:
            return None
        out = []
        for separator, prefixes in self.known.items():
            parts = data.split(separator, 2)
            values = prefixes.get(parts[0])
            if values is None:
                out.append((None, None))
            else:
                out.append((parts[0], parts[1] if len(parts) > 1 and parts[1] in values else None))
        return tuple(out)

    def admits(self, needs: Optional[Needs], key: Key) -> bool:
        if needs is None:
            return True
        if key is None:
            return False  # no data: every callback-data filter refuses
        prefix, value = key[list(self.known).index(needs.separator)]
        return prefix == needs.prefix and (needs.values is None or value in needs.values)

    def handlers_for(self, observer: TelegramEventObserver, key: Key) -> tuple[HandlerObject, ...]:
        memo = (id(observer), key)
        found = self.offered.get(memo)
        if found is None:
            found = self.offered[memo] = tuple(handler for handler, needs in self.needs[id(observer)]
                                               if self.admits(needs, key))
        return found

    def may_handle(self, router: Router, key: Key) -> bool:
        """Whether the router or one below it has a handler the press could reach (or a middleware around it)."""
        memo = (id(router), key)
        found = self.entered.get(memo)
        if found is None:
            observer = router.callback_query
            found = self.entered[memo] = (bool(observer.outer_middleware) or bool(self.handlers_for(observer, key))
                                          or any(self.may_handle(sub, key) for sub in router.sub_routers))
        return found

    def add(self, router: Router) -> int:
        observer = router.callback_query
        entries = [(handler, needs_of(handler)) for handler in observer.handlers]
        self.needs[id(observer)] = entries
        for _, needs in entries:
            if needs is not None:
                values = self.known.setdefault(needs.separator, {}).setdefault(needs.prefix, set())
                values.update(needs.values or ())
        return sum(needs is not None for _, needs in entries)


async def _offer(index: CallbackIndex, observer: TelegramEventObserver, event: Any, **kwargs: Any) -> Any:
    """The observer's handlers in their order, only those that could accept this press; the first whose filters
    pass handles it (through the observer's middlewares), as aiogram does with all of them."""
    key = index.key(event.data) if isinstance(event, CallbackQuery) else None
    handlers = index.handlers_for(observer, key) if isinstance(event, CallbackQuery) else observer.handlers
    for handler in handlers:
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


def _routed(index: CallbackIndex, router: Router):
    original = router.propagate_event

    async def propagate_event(self: Router, update_type: str, event: Any, **kwargs: Any) -> Any:
        if (update_type == "callback_query" and isinstance(event, CallbackQuery)
                and not index.may_handle(self, index.key(event.data))):
            return UNHANDLED
        return await original(update_type=update_type, event=event, **kwargs)

    return propagate_event


def route_callbacks(root: Router) -> int:
    """Index the callback handlers of `root` and every router below it, and route presses by the index from now
    on; how many handlers have a callback-data filter. Handlers must be registered before (the index is not
    updated later)."""
    index = CallbackIndex()
    routers = list(root.chain_tail)
    indexed = sum(index.add(router) for router in routers)
    for router in routers:
        observer = router.callback_query
        observer.trigger = MethodType(lambda observer, event, **kwargs: _offer(index, observer, event, **kwargs),
                                      observer)  # type: ignore[method-assign]
        if router is not root:  # the dispatcher's own middlewares (the language) always run
            router.propagate_event = MethodType(_routed(index, router), router)  # type: ignore[method-assign]
    return indexed
