"""Bot API calls as JSON bodies.

aiogram posts every call as an urlencoded form: each nested object (a keyboard, say) is first walked
in Python to resolve its defaults, turned into a JSON string, and then percent-encoded byte by byte,
which for Ukrainian text is every letter. Measured under load that was about a tenth of the bot's CPU.
The Bot API takes `application/json` bodies as well, so a call with no file to upload goes as one JSON
document built by the json module's C encoder. Anything this path does not expect (a file, a date, a
default left inside a nested object) goes the library's own way, unchanged.

A message sent or edited comes back as Telegram's copy of it, and aiogram reads every answer into its models at
once (a message with a keyboard of eight buttons about 35 µs), though most handlers never look at what they sent.
Such an answer is returned as an `UnreadMessage`: a `Message` that keeps Telegram's JSON and is read the first
time anything is asked of it (a field, a method, its dump, its repr), with the same result as reading it at
once. An answer that is not `ok` goes aiogram's way and raises as before.
"""
from __future__ import annotations

import asyncio
import json
from enum import Enum
from typing import TYPE_CHECKING, Any, Optional, cast

from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendMessage
from aiogram.methods.base import TelegramType
from aiogram.types import Message, TelegramObject
from aiohttp import ClientError

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod

JSON_HEADERS = {"Content-Type": "application/json"}
UNREAD = (SendMessage, EditMessageText, EditMessageReplyMarkup)  # answered with a message (or True, when edited)
_PENDING = "\x00unread"  # the key of Telegram's JSON in an unread message's __dict__ (no field is named so)


class UnreadMessage(Message):
    """A message as Telegram sent it back, read into aiogram's model on first use (see the module's docstring)."""

    def __getattribute__(self, name: str) -> Any:
        state = object.__getattribute__(self, "__dict__")
        if _PENDING in state:
            _read(self, state[_PENDING])
        return object.__getattribute__(self, name)


def _read(message: UnreadMessage, pending: tuple[dict[str, Any], Any]) -> None:
    raw, bot = pending
    read = Message.model_validate(raw, context={"bot": bot})
    for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"):
        object.__setattr__(message, name, object.__getattribute__(read, name))


def unread_message(raw: dict[str, Any], bot: Any) -> UnreadMessage:
    message = object.__new__(UnreadMessage)
    object.__setattr__(message, "__dict__", {_PENDING: (raw, bot)})
    object.__setattr__(message, "__pydantic_fields_set__", set())
    object.__setattr__(message, "__pydantic_extra__", None)
    object.__setattr__(message, "__pydantic_private__", None)
    return message


class _NotPlain(Exception):
    """A value the JSON path leaves to aiogram's form encoding."""


def _nested(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    raise _NotPlain(type(value).__name__)


def _default(bot: Bot, value: Any) -> Any:
    """A bot-wide default, filled in; an object default (link preview options) may hold defaults of its own."""
    while isinstance(value, Default):
        value = bot.default[value.name]
    if isinstance(value, TelegramObject):
        value = value.model_dump(warnings=False, exclude_none=True)
    if isinstance(value, dict):
        value = {key: item for key, item in ((key, _default(bot, item)) for key, item in value.items())
                 if item is not None}
    return value


def json_body(bot: Bot, method: TelegramMethod[Any]) -> Optional[bytes]:
    """The call as a JSON document, or None when it needs aiogram's form (files and other rare values).
    The same fields as aiogram's form: None and empty strings left out, bot-wide defaults filled in."""
    payload: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False, exclude_none=True).items():
        if isinstance(value, Default):
            value = _default(bot, value)
        if value is None or value == "":
            continue
        payload[key] = value
    try:
        return json.dumps(payload, ensure_ascii=False, default=_nested).encode()
    except (_NotPlain, TypeError, ValueError):
        return None


class JsonSession(AiohttpSession):
    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType],
                           timeout: Optional[int] = None) -> TelegramType:
        body = json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(url, data=body, headers=JSON_HEADERS,
                                    timeout=self.timeout if timeout is None else timeout) as response:
                raw_result = await response.text()
        except asyncio.TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
        return self.read_answer(bot, method, response.status, raw_result)

    def read_answer(self, bot: Bot, method: TelegramMethod[TelegramType], status: int, content: str) -> TelegramType:
        """Telegram's answer to a call: a message sent or edited stays unread until used, a plain `true` is True;
        the rest (and every refusal) goes aiogram's way."""
        if status == 200 and (isinstance(method, UNREAD) or getattr(method, "__returning__", None) is bool):
            result = _ok_result(content)
            if isinstance(result, dict) and isinstance(method, UNREAD):
                return cast(TelegramType, unread_message(result, bot))
            if result is True:  # answerCallbackQuery, sendChatAction, deleteMessage…: nothing more to read
                return cast(TelegramType, True)
        answer = self.check_response(bot=bot, method=method, status_code=status, content=content)
        return cast(TelegramType, answer.result)


def _ok_result(content: str) -> Any:
    """The `result` of an answer that says `ok`, or None (aiogram reads the rest and raises what it must)."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    return data.get("result") if isinstance(data, dict) and data.get("ok") is True else None
