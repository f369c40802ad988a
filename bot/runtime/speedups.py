"""Keep aiogram's parametrised response models alive.

aiogram builds `Response[<returned type>]` for every Bot API answer. pydantic caches parametrised
generic models only weakly, so under load the class is collected and built again and again, which
was measured at about a quarter of the bot's CPU. Holding one reference for each method the bot
calls stops that.
"""
from __future__ import annotations

from aiogram import methods
from aiogram.methods.base import Response

USED = (
    methods.GetUpdates, methods.GetMe, methods.DeleteWebhook, methods.SetMyCommands, methods.SendMessage,
    methods.EditMessageText, methods.EditMessageReplyMarkup, methods.AnswerCallbackQuery, methods.SendPhoto,
    methods.SendDocument, methods.SendVoice, methods.CreateForumTopic, methods.GetChatMember,
)
_KEPT: list[type] = []


def keep_response_types() -> int:
    if not _KEPT:
        _KEPT.extend(Response[method.__returning__] for method in USED)  # type: ignore[index]
    return len(_KEPT)
