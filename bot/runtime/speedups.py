"""Library work the bot does not need, left out; the results are the same.

Response models. aiogram builds `Response[<returned type>]` for every Bot API answer. pydantic caches
parametrised generic models only weakly, so under load the class is collected and built again and again,
which was measured at about a quarter of the bot's CPU. Holding one reference for each method the bot calls
stops that.

The bot reference of every object. Each aiogram object (an update, its message, the message's sender, each
button of a keyboard) keeps the bot it came from in one private attribute, `_bot`, set after validation by
`model_post_init`. pydantic wraps that hook so that it first fills every private attribute with its default
(there is none for `_bot`) in a Python loop, then the hook assigns `_bot` through the model's own
`__setattr__`. Every nested object pays that, which a profile of the bot under load put at about a twentieth of
its CPU. `fast_bot_context` puts one hook in its place that writes the same private dictionary at once. It is
installed only while `_bot` is the only private attribute aiogram's objects have, and checked by
tests/test_speedups.py against the library's own result.
"""
from __future__ import annotations

from typing import Any

from aiogram import methods
from aiogram.client.context_controller import BotContextController
from aiogram.methods.base import Response

USED = (
    methods.GetUpdates, methods.GetMe, methods.DeleteWebhook, methods.SetMyCommands, methods.SendMessage,
    methods.EditMessageText, methods.EditMessageReplyMarkup, methods.AnswerCallbackQuery, methods.SendPhoto,
    methods.SendDocument, methods.SendVoice, methods.CreateForumTopic, methods.GetChatMember,
)
_KEPT: list[type] = []
LIBRARY_HOOK = BotContextController.__dict__["model_post_init"]  # kept for the test that compares the two


def keep_response_types() -> int:
    if not _KEPT:
        _KEPT.extend(Response[method.__returning__] for method in USED)  # type: ignore[index]
    return len(_KEPT)


def _bot_context(self: Any, context: Any) -> None:
    """What the library's wrapped hook leaves: the private dictionary with `_bot` alone."""
    object.__setattr__(self, "__pydantic_private__", {"_bot": context.get("bot") if context else None})


def _subclasses(cls: type) -> list[type]:
    found, queue = [], [cls]
    while queue:
        for sub in queue.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                queue.append(sub)
    return found


def fast_bot_context() -> int:
    """Put the one-step hook in place of the library's on every aiogram object class (pydantic gives each class
    a wrapped hook of its own); how many were changed. None is while any of them has a private attribute other
    than `_bot`: the library's hooks stay. A class made later wraps this hook again, with the same result."""
    classes = [BotContextController, *_subclasses(BotContextController)]
    if any(set(cls.__private_attributes__) != {"_bot"} for cls in classes):  # type: ignore[attr-defined]
        return 0
    changed = 0
    for cls in classes:
        if cls.__dict__.get("model_post_init") not in (None, _bot_context):
            cls.model_post_init = _bot_context  # type: ignore[attr-defined]
            changed += 1
    return changed
