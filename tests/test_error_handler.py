"""The apology after a failed handler reaches the resident even when the button press was already answered."""
from __future__ import annotations

from types import SimpleNamespace

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery
from aiogram.utils.i18n import I18n

from bot.config import PROJECT_ROOT
from dialogs import on_error


class Chat:
    type = "private"


class Message:
    chat = Chat()

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def answer(self, text: str, **_: object) -> None:
        self.sent.append(text)


class AnsweredQuery:
    """A press the failing handler already answered: Telegram refuses to answer it again."""

    def __init__(self, message: Message) -> None:
        self.message = message

    async def answer(self, *_: object, **__: object) -> None:
        raise TelegramBadRequest(AnswerCallbackQuery(callback_query_id="1"),
                                 "query is too old and response timeout expired or query ID is invalid")


async def test_apology_survives_a_refused_second_answer() -> None:
    message = Message()
    update = SimpleNamespace(message=None, callback_query=AnsweredQuery(message))
    event = SimpleNamespace(exception=RuntimeError("boom"), update=update)
    i18n = I18n(path=PROJECT_ROOT / "locales", default_locale="uk", domain="messages")
    with i18n.context(), i18n.use_locale("uk"):
        assert await on_error(event) is True
    assert message.sent == ["Вибачте, у нас щось пішло не так. Спробуйте ще раз або відкрийте меню: /menu"]
