"""bot/runtime/speedups.py: the one-step bot hook leaves every aiogram object as the library's hook does."""
from __future__ import annotations

from aiogram import Bot
from aiogram.client.context_controller import BotContextController
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.runtime import speedups

RAW = {
    "update_id": 7,
    "callback_query": {
        "id": "q1", "chat_instance": "c", "data": "n:sit:1:0",
        "from": {"id": 42, "is_bot": False, "first_name": "Ольга", "language_code": "uk"},
        "message": {
            "message_id": 5, "date": 1700000000, "text": "Меню",
            "chat": {"id": 42, "type": "private", "first_name": "Ольга"},
            "from": {"id": 1, "is_bot": True, "first_name": "Бот"},
            "entities": [{"type": "bold", "offset": 0, "length": 4}],
            "reply_markup": {"inline_keyboard": [[{"text": "Так", "callback_data": "y"}]]},
        },
    },
}


def objects(value):
    """Every aiogram object inside `value`, itself included."""
    if isinstance(value, BotContextController):
        yield value
        for name in type(value).model_fields:
            yield from objects(getattr(value, name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from objects(item)


def test_every_class_gets_the_hook_and_objects_carry_the_bot():
    assert speedups.fast_bot_context() >= 0
    assert speedups.fast_bot_context() == 0  # once is enough
    assert Update.model_post_init is speedups._bot_context
    bot = Bot("42:TEST")
    update = Update.model_validate(RAW, context={"bot": bot})
    found = list(objects(update))
    assert len(found) >= 8  # the update, the press, two users, the message, its chat, an entity, the keyboard...
    assert all(item.__pydantic_private__ == {"_bot": bot} and item.bot is bot for item in found)
    assert update.callback_query.message.chat.bot is bot
    # without a context (objects built in code), as the library: no bot
    built = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Так", callback_data="y")]])
    assert all(item.__pydantic_private__ == {"_bot": None} for item in objects(built))
    assert Update.model_construct(update_id=1).__pydantic_private__ == {"_bot": None}
    assert built.as_(bot).bot is bot


def test_same_private_state_as_the_library_hook():
    speedups.fast_bot_context()
    bot = Bot("42:TEST")
    for context in ({"bot": bot}, {}, None):
        for item in objects(Update.model_validate(RAW, context={"bot": bot})):
            object.__setattr__(item, "__pydantic_private__", None)
            speedups.LIBRARY_HOOK(item, context)
            theirs = dict(item.__pydantic_private__)
            object.__setattr__(item, "__pydantic_private__", None)
            speedups._bot_context(item, context)
            assert item.__pydantic_private__ == theirs
