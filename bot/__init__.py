"""Resident help bot of a territorial community.

Importing `bot` (before aiogram's types) has aiogram build each Telegram type's validator when the type is first
used instead of all of them when `aiogram.types` is imported. aiogram declares its types `defer_build` and then
rebuilds every one of them at import (about 400 classes) to resolve their forward references; each class built
alone holds its own copy of everything it refers to, which is most of the 150 MB an aiogram 3.31 bot is. Here that
import records the namespace of the forward references on each class instead, and pydantic builds a class on its
first validation with it: an update's validator is built once and takes in every type an update may hold. The
objects, their validation and their errors are the library's (tests/test_lazy_types.py). When pydantic or aiogram
does not have what this relies on, or a type then fails to build, every type is built at once as before.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any

_TYPES = "aiogram.types"
DEFERRED: dict[type, Any] = {}  # the classes whose build waits for first use, with their types' namespace


class _DeferTelegramTypes(importlib.abc.MetaPathFinder):
    """Finds `aiogram.types` as usual and runs it with aiogram's rebuild of every class recorded, not done."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != _TYPES:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            from pydantic import BaseModel

            rebuild = BaseModel.__dict__["model_rebuild"]

            def record(cls: type, *args: Any, _types_namespace: Any = None, **kwargs: Any) -> Any:
                if _types_namespace is None or args or kwargs or not cls.__module__.startswith(_TYPES + "."):
                    return rebuild.__func__(cls, *args, _types_namespace=_types_namespace, **kwargs)
                DEFERRED[cls] = _types_namespace
                return None

            BaseModel.model_rebuild = classmethod(record)  # type: ignore[method-assign, assignment]
            try:
                run(module)
            finally:
                BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
            _settle(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _settle(module: Any) -> None:
    """Each recorded class resolves its forward references in the namespace aiogram gave: its own, and its module's
    (a type built inside another's validator, a Bot API method's, is looked up there), where a name only imported
    for type checkers is added; if an update cannot be read so, everything is built now with it, as aiogram does."""
    for cls, namespace in DEFERRED.items():
        cls.__pydantic_parent_namespace__ = namespace  # type: ignore[attr-defined]
        names = vars(sys.modules[cls.__module__])
        for name, value in namespace.items():
            names.setdefault(name, value)
    if DEFERRED:
        _subclasses_resolve_in(module.base.TelegramObject, next(iter(DEFERRED.values())))
    try:
        update = module.Update.model_validate({"update_id": 1, "message": {
            "message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "/start"}})
        if update.message.chat.id != 1:
            raise ValueError("an update read wrongly")
    except Exception:
        for cls, namespace in DEFERRED.items():
            cls.model_rebuild(_types_namespace=namespace)  # type: ignore[attr-defined]
        DEFERRED.clear()


def _subclasses_resolve_in(base: Any, namespace: Any) -> None:
    """A type made later from one of aiogram's (bot/runtime/session.py `UnreadMessage`) is built on first use as
    well, and finds the names its fields refer to in the same namespace."""
    inherited = base.__dict__.get("__pydantic_init_subclass__")

    def init_subclass(cls: Any, **kwargs: Any) -> None:
        if inherited is not None:
            inherited.__func__(cls, **kwargs)
        cls.__pydantic_parent_namespace__ = {**namespace, **(cls.__pydantic_parent_namespace__ or {})}

    base.__pydantic_init_subclass__ = classmethod(init_subclass)


if _TYPES not in sys.modules and not any(isinstance(f, _DeferTelegramTypes) for f in sys.meta_path):
    sys.meta_path.insert(0, _DeferTelegramTypes())
