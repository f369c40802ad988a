"""Drive the real Dispatcher with real Update objects; Bot API calls are answered and recorded in memory."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User

from bot.app import App


@dataclass
class Sent:
    """A message as the user sees it after the bot's sends and edits."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: Any = None

    @property
    def buttons(self) -> list[str]:
        markup = self.reply_markup
        if isinstance(markup, InlineKeyboardMarkup):
            return [b.text for row in markup.inline_keyboard for b in row]
        if markup is not None and hasattr(markup, "keyboard"):
            return [b.text for row in markup.keyboard for b in row]
        return []

    def callback(self, text_part: str) -> str:
        for row in self.reply_markup.inline_keyboard:
            for b in row:
                if text_part in b.text:
                    return b.callback_data
        raise AssertionError(f"no button with {text_part!r} in {self.buttons}")


class RecordingSession(BaseSession):
    """Answers like Telegram would for the methods the bot uses and keeps what each chat shows."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod] = []
        self.chats: dict[int, dict[int, Sent]] = {}
        self.callback_answers: list[Any] = []
        self.not_modified = False  # answer edits of an unchanged screen as Telegram does
        self._ids = itertools.count(1000)

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any):  # pragma: no cover - not used
        raise NotImplementedError

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType], timeout: Optional[int] = None) -> Any:
        self.calls.append(method)
        name = type(method).__name__
        if name == "SendMessage":
            chat_id = int(method.chat_id)
            assert 1 <= len(method.text) <= 4096, "Telegram refuses empty or over-long texts"
            sent = Sent(next(self._ids), chat_id, method.text, method.reply_markup)
            self.chats.setdefault(chat_id, {})[sent.message_id] = sent
            return self._message(bot, sent)
        if name == "EditMessageText":
            chat_id = int(method.chat_id)
            sent = self.chats[chat_id][method.message_id]
            if self.not_modified and (sent.text, sent.reply_markup) == (method.text, method.reply_markup):
                from aiogram.exceptions import TelegramBadRequest

                raise TelegramBadRequest(method, "Bad Request: message is not modified")
            sent.text, sent.reply_markup = method.text, method.reply_markup
            return self._message(bot, sent)
        if name == "AnswerCallbackQuery":
            self.callback_answers.append(method)
            return True
        if name == "GetMe":
            return User(id=bot.id, is_bot=True, first_name="Bot", username="test_bot")
        return True

    def _message(self, bot: Bot, sent: Sent) -> Message:
        return Message(
            message_id=sent.message_id,
            date=datetime.now(timezone.utc),
            chat=Chat(id=sent.chat_id, type="private"),
            from_user=User(id=bot.id, is_bot=True, first_name="Bot"),
            text=sent.text,
            reply_markup=sent.reply_markup if isinstance(sent.reply_markup, InlineKeyboardMarkup) else None,
        ).as_(bot)


@dataclass
class Person:
    """A resident in a private chat with the bot."""

    harness: "Harness"
    user: User
    seen: int = 0

    async def say(self, text: str) -> list[Sent]:
        return await self.harness.send_text(self, text)

    async def tap(self, message: Sent, button_text: str) -> list[Sent]:
        return await self.harness.press(self, message, message.callback(button_text))

    async def press_data(self, message: Sent, data: str) -> list[Sent]:
        return await self.harness.press(self, message, data)


@dataclass
class Harness:
    app: App
    bot: Bot
    session: RecordingSession
    _update_ids: Any = field(default_factory=lambda: itertools.count(1))
    _message_ids: Any = field(default_factory=lambda: itertools.count(1))

    def person(self, user_id: int = 500, language_code: Optional[str] = "uk", first_name: str = "Олена") -> Person:
        return Person(self, User(id=user_id, is_bot=False, first_name=first_name, language_code=language_code))

    def shown(self, chat_id: int) -> list[Sent]:
        return list(self.session.chats.get(chat_id, {}).values())

    async def _feed(self, person: Person, update: Update) -> list[Sent]:
        before = {mid: (s.text, s.reply_markup) for mid, s in self.session.chats.get(person.user.id, {}).items()}
        await self.app.dispatcher.feed_update(self.bot, update)
        after = self.session.chats.get(person.user.id, {})
        return [s for mid, s in after.items() if before.get(mid) != (s.text, s.reply_markup)]

    async def send_text(self, person: Person, text: str) -> list[Sent]:
        entities = None
        if text.startswith("/"):
            from aiogram.types import MessageEntity

            entities = [MessageEntity(type="bot_command", offset=0, length=len(text.split()[0]))]
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(timezone.utc),
            chat=Chat(id=person.user.id, type="private"),
            from_user=person.user,
            text=text,
            entities=entities,
        )
        return await self._feed(person, Update(update_id=next(self._update_ids), message=message))

    async def press(self, person: Person, message: Sent, data: str) -> list[Sent]:
        shown = self._message(message, person)
        query = CallbackQuery(
            id=str(next(self._update_ids)), from_user=person.user, chat_instance="ci", message=shown, data=data
        )
        return await self._feed(person, Update(update_id=next(self._update_ids), callback_query=query))

    def _message(self, sent: Sent, person: Person) -> Message:
        return Message(
            message_id=sent.message_id,
            date=datetime.now(timezone.utc),
            chat=Chat(id=person.user.id, type="private"),
            from_user=User(id=self.bot.id, is_bot=True, first_name="Bot"),
            text=sent.text,
            reply_markup=sent.reply_markup if isinstance(sent.reply_markup, InlineKeyboardMarkup) else None,
        )


async def started(harness: Harness, user_id: int = 500, community: str = "lutsk", lang: str = "uk"):
    person = harness.person(user_id, language_code=lang)
    [greeting] = await person.say("/start")
    label = "Українська" if lang == "uk" else "English"
    answers = await person.tap(greeting, label)
    choice = answers[-1]
    assert "громаді" in choice.text or "community" in choice.text
    short = {"lutsk": "Луцьк", "druzhkivka": "Дружків", "kakhovka": "Каховськ", "volodymyr": "Володимир",
             "pervomaiskyi": "Первомайськ"}[community]
    answers = await person.tap(choice, short)
    return person, answers
