"""The web chat's Bot API: an aiogram session that keeps what the bot "sends" to a web resident in the web chat's
tables (bot/webchat/store.py) and answers as Telegram would, so that the dialogs run unchanged for them.

A call addressed to a chat that is not a web resident's (a staff group, an administrator in Telegram) and the
calls about the bot itself go to the Telegram bot; `SplitSession` is the other half: on the Telegram bot, a call
addressed to a web resident goes here, and a web resident's file on its way to a staff group is uploaded."""
from __future__ import annotations

import html
import logging
import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, AsyncGenerator, Optional

from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteMessages,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendVoice,
    TelegramMethod,
)
from aiogram.types import (
    BufferedInputFile,
    Chat,
    Document,
    File,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    PhotoSize,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    User,
    Voice,
)

from bot.delivery.outbox import before_call
from bot.storage.residents import is_web
from bot.webchat.files import FILE_PREFIX, sniff
from bot.webchat.store import UNSET, Shown, WebStore

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger("bot.webchat")
MESSAGE_LIMIT, CAPTION_LIMIT, CALLBACK_DATA_LIMIT = 4096, 1024, 64
ACCEPTED = ("SetMyCommands", "DeleteMyCommands", "SendChatAction", "SetChatMenuButton", "DeleteWebhook")
FILE_FIELDS = {SendPhoto: ("photo", "photo"), SendDocument: ("document", "document"), SendVoice: ("voice", "voice")}


def addressed_to_web(method: Any) -> bool:
    return is_web(getattr(method, "chat_id", None))


class WebSession(BaseSession):
    """In-process Bot API for web residents. `telegram` is the Telegram bot: what is not for a web resident goes
    there. `answers` keeps the pop-up text of a button press until the page that pressed it reads it."""

    def __init__(self, store: WebStore, telegram: Optional["Bot"] = None):
        super().__init__()
        self.store = store
        self.telegram = telegram
        self.answers: dict[str, str] = {}

    async def close(self) -> None:
        pass

    async def stream_content(self, url: str, headers: Optional[dict[str, Any]] = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError("web chat files are read from the store")
        yield b""  # pragma: no cover

    async def __call__(self, bot: "Bot", method: TelegramMethod[Any], timeout: Optional[int] = None) -> Any:
        chat_id = getattr(method, "chat_id", None)
        if self.telegram is not None and (isinstance(method, GetMe) or (chat_id is not None and not is_web(chat_id))):
            return await self.telegram(method, request_timeout=timeout)
        return await super().__call__(bot, method, timeout)

    async def make_request(self, bot: "Bot", method: TelegramMethod[Any], timeout: Optional[int] = None) -> Any:
        calling = before_call.get()
        if calling is not None:  # an outbox row: marked as on its way, as the Telegram side does
            await calling()
        name = type(method).__name__
        if isinstance(method, SendMessage):
            return await self._send(bot, method)
        if isinstance(method, (EditMessageText, EditMessageCaption, EditMessageReplyMarkup)):
            return await self._edit(bot, method)
        if isinstance(method, (DeleteMessage, DeleteMessages)):
            ids = method.message_ids if isinstance(method, DeleteMessages) else [method.message_id]
            await self.store.delete(int(method.chat_id), ids)
            return True
        if isinstance(method, AnswerCallbackQuery):
            if method.text:
                self.answers[method.callback_query_id] = method.text
            return True
        if isinstance(method, (SendPhoto, SendDocument, SendVoice)):
            return await self._send_file(bot, method)
        if isinstance(method, SendMediaGroup):
            return [await self._send_media(bot, int(method.chat_id), item) for item in method.media]
        if isinstance(method, GetFile):
            return await self._file(method.file_id)
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="Bot", username="webchat")
        if name in ACCEPTED:
            return True
        raise TelegramBadRequest(method=method, message=f"Bad Request: {name} is not available in the web chat")

    # ----- messages ---------------------------------------------------------------------------------------------

    async def _send(self, bot: "Bot", method: SendMessage) -> Message:
        chat_id = int(method.chat_id)
        text = _html(bot, method.text, method.parse_mode)
        if not method.text.strip() or len(method.text) > MESSAGE_LIMIT:
            raise TelegramBadRequest(method=method, message="Bad Request: message text is empty or too long")
        try:
            inline = await self._markup(chat_id, method.reply_markup, method)
            shown = await self.store.add_message(chat_id, True, text, inline)
        except LookupError:
            raise TelegramBadRequest(method=method, message="Bad Request: chat not found") from None
        return _message(bot, chat_id, shown, method.reply_markup)

    async def _markup(self, chat_id: int, markup: Any, method: Any) -> Optional[dict]:
        """The inline keyboard to keep with the message; a reply keyboard goes under the input instead."""
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for button in row:
                    if button.callback_data is not None and len(button.callback_data.encode()) > CALLBACK_DATA_LIMIT:
                        raise TelegramBadRequest(method=method, message="Bad Request: BUTTON_DATA_INVALID")
            return markup.model_dump(mode="json", exclude_none=True)
        if isinstance(markup, ReplyKeyboardMarkup):
            await self.store.set_keyboard(chat_id, markup.model_dump(mode="json", exclude_none=True))
        elif isinstance(markup, ReplyKeyboardRemove):
            await self.store.set_keyboard(chat_id, None)
        return None

    async def _edit(self, bot: "Bot", method: Any) -> Any:
        chat_id, message_id = int(method.chat_id), int(method.message_id)
        before = await self.store.message(chat_id, message_id, erased=True)
        if before is None or not before.from_bot:
            raise TelegramBadRequest(method=method, message="Bad Request: message to edit not found")
        text: Any = UNSET
        if isinstance(method, EditMessageText):
            text = _html(bot, method.text, method.parse_mode)
        elif isinstance(method, EditMessageCaption):
            text = _html(bot, method.caption or "", method.parse_mode)
        markup = method.reply_markup.model_dump(mode="json", exclude_none=True) if method.reply_markup else None
        if (before.text if text is UNSET else text, markup) == (before.text, before.markup):
            raise TelegramBadRequest(method=method, message="Bad Request: message is not modified")
        shown = await self.store.edit(chat_id, message_id, text, markup)
        assert shown is not None
        return _message(bot, chat_id, shown, method.reply_markup)

    # ----- files ------------------------------------------------------------------------------------------------

    async def _send_file(self, bot: "Bot", method: Any) -> Message:
        chat_id = int(method.chat_id)
        field, kind = FILE_FIELDS[type(method)]
        file_id, name = await self._keep_file(bot, chat_id, getattr(method, field))
        caption = _html(bot, method.caption or "", method.parse_mode)
        if len(method.caption or "") > CAPTION_LIMIT:
            raise TelegramBadRequest(method=method, message="Bad Request: message caption is too long")
        inline = await self._markup(chat_id, method.reply_markup, method)
        try:
            shown = await self.store.add_message(chat_id, True, caption, inline, (file_id, kind, name))
        except LookupError:
            raise TelegramBadRequest(method=method, message="Bad Request: chat not found") from None
        return _message(bot, chat_id, shown, method.reply_markup)

    async def _send_media(self, bot: "Bot", chat_id: int, item: Any) -> Message:
        kind = "photo" if item.type == "photo" else "document"
        file_id, name = await self._keep_file(bot, chat_id, item.media)
        shown = await self.store.add_message(chat_id, True, _html(bot, item.caption or "", item.parse_mode), None,
                                             (file_id, kind, name))
        return _message(bot, chat_id, shown, None)

    async def _keep_file(self, bot: "Bot", chat_id: int, value: Any) -> tuple[str, Optional[str]]:
        """A file id the page can show: a web file or a Telegram file id as it is (read through the Telegram bot
        when the page asks), or bytes the bot made (an export, a QR code), kept as a web file."""
        if isinstance(value, str):
            return value, None
        if not isinstance(value, InputFile):
            raise TelegramBadRequest(method=GetFile(file_id="?"), message="Bad Request: wrong file")
        content = b"".join([chunk async for chunk in value.read(bot)])
        file_id = FILE_PREFIX + secrets.token_urlsafe(18)
        await self.store.add_file(file_id, chat_id, sniff(content) or "application/octet-stream", content)
        return file_id, value.filename

    async def _file(self, file_id: str) -> File:
        if file_id.startswith(FILE_PREFIX):
            found = await self.store.file(file_id)
            if found is None:
                raise TelegramBadRequest(method=GetFile(file_id=file_id), message="Bad Request: file not found")
            return File(file_id=file_id, file_unique_id=file_id[len(FILE_PREFIX):], file_size=len(found[2]),
                        file_path=file_id)
        if self.telegram is None:
            raise TelegramBadRequest(method=GetFile(file_id=file_id), message="Bad Request: file not found")
        return await self.telegram.get_file(file_id)


def _html(bot: "Bot", text: str, parse_mode: Any) -> str:
    """The text as Telegram HTML (what the page renders through its allow-list)."""
    if isinstance(parse_mode, Default):
        parse_mode = bot.default[parse_mode.name]
    return text if (parse_mode or "").upper() == "HTML" else html.escape(text, quote=False)


def _message(bot: "Bot", chat_id: int, shown: Shown, markup: Any) -> Message:
    """What Telegram answers a send or an edit with."""
    extra: dict[str, Any] = {}
    if shown.file_kind == "photo":
        extra["photo"] = [PhotoSize(file_id=shown.file_id, file_unique_id=shown.file_id[-16:], width=1, height=1)]
    elif shown.file_kind == "voice":
        extra["voice"] = Voice(file_id=shown.file_id, file_unique_id=shown.file_id[-16:], duration=1)
    elif shown.file_kind == "document":
        extra["document"] = Document(file_id=shown.file_id, file_unique_id=shown.file_id[-16:],
                                     file_name=shown.file_name)
    if shown.file_kind:
        extra["caption"] = shown.text or None
    else:
        extra["text"] = shown.text
    return Message(
        message_id=shown.message_id, date=datetime.now(timezone.utc), chat=Chat(id=chat_id, type="private"),
        from_user=User(id=bot.id, is_bot=True, first_name="Bot"),
        reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None, **extra,
    ).as_(bot)


class SplitSession(BaseSession):
    """Put on the Telegram bot in place of its session: a call addressed to a web resident goes to the web bot; a
    web resident's file sent to Telegram (a request's photo on its way to the staff group) is uploaded from the
    web chat's store. Everything else (middlewares, the API's address) is the Telegram session's own."""

    def __init__(self, telegram: BaseSession, web: "Bot", store: WebStore):  # the inner session keeps the state
        self.__dict__.update(inner=telegram, web=web, store=store)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["inner"], name)

    async def __call__(self, bot: "Bot", method: TelegramMethod[Any], timeout: Optional[int] = None) -> Any:
        if addressed_to_web(method):
            return await self.web(method, request_timeout=timeout)
        return await self.inner(bot, await self._uploaded(method), timeout)

    async def _uploaded(self, method: Any) -> Any:
        field = FILE_FIELDS.get(type(method), (None,))[0]
        value = getattr(method, field, None) if field else None
        if not (isinstance(value, str) and value.startswith(FILE_PREFIX)):
            return method
        found = await self.store.file(value)
        if found is None:
            return method  # Telegram answers "wrong file identifier", as for any file id it does not know
        _, content_type, content = found
        name = "photo.jpg" if field == "photo" else ("document.pdf" if content_type == "application/pdf" else "file")
        return method.model_copy(update={field: BufferedInputFile(content, filename=name)})

    async def make_request(self, bot: "Bot", method: TelegramMethod[Any], timeout: Optional[int] = None) -> Any:
        return await self.inner.make_request(bot, method, timeout)

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        async for chunk in self.inner.stream_content(*args, **kwargs):
            yield chunk

    async def close(self) -> None:
        await self.inner.close()
