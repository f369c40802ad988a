"""The web chat as a channel under aiogram: what a resident does in the browser becomes a Telegram-shaped update
fed to the same Dispatcher with the web bot (bot/webchat/session.py), so every middleware and dialog runs as it
does for Telegram. The resident's own messages are kept too, so the page shows the whole conversation."""
from __future__ import annotations

import html
import re
import secrets
from datetime import datetime, timezone
from typing import Any, Optional

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    Document,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
    User,
)

from bot.links import community_payload
from bot.webchat.files import FILE_PREFIX, KIND
from bot.webchat.session import SplitSession, WebSession
from bot.webchat.store import Shown, WebStore

TAGS = re.compile(r"<[^>]*>")
RESIDENT_NAME = "🌐"  # Telegram always has a first name; a web resident has none, and staff never see this one


def make_web_bot(store: WebStore, telegram: Optional[Bot]) -> Bot:
    """The web bot (same id as the Telegram bot, so the dialogs' states and links read the same) and, when there is
    a Telegram bot, its session split so that whatever it is asked to send to a web resident comes here."""
    token = telegram.token if telegram is not None else "1:web-chat-without-telegram"
    web = Bot(token=token, session=WebSession(store, telegram),
              default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True))
    if telegram is not None and not isinstance(telegram.session, SplitSession):
        telegram.session = SplitSession(telegram.session, web, store)
    return web


class WebChannel:
    def __init__(self, store: WebStore, bot: Bot, dispatcher: Dispatcher):
        self.store = store
        self.bot = bot
        self.dispatcher = dispatcher

    @property
    def session(self) -> WebSession:
        session = self.bot.session
        assert isinstance(session, WebSession)
        return session

    async def chosen_locale(self, user_id: int) -> Optional[str]:
        """The language the resident chose in the dialogs, if they have."""
        resident = await self.dispatcher["services"].residents.get(user_id)
        return resident.locale if resident is not None else None

    async def new_resident(self, community: Optional[str], locale: Optional[str]) -> int:
        return await self.store.new_user(community, locale)

    async def start(self, user_id: int) -> None:
        """The first /start: with the community the embed names, as a link to it would open in Telegram."""
        user = await self.store.user(user_id)
        payload = community_payload(user.community) if user is not None and user.community else ""
        await self.say(user_id, f"/start {payload}".strip(), shown=False)

    async def say(self, user_id: int, text: str, *, shown: bool = True) -> None:
        """A text typed (or a reply keyboard button pressed) by the resident."""
        entities = None
        if text.startswith("/"):
            entities = [MessageEntity(type="bot_command", offset=0, length=len(text.split()[0]))]
        mine = await self.store.add_message(user_id, False, html.escape(text, quote=False)) if shown else None
        await self._feed(user_id, message_id=mine.message_id if mine else 0, text=text, entities=entities)

    async def contact(self, user_id: int, phone: str) -> None:
        """The phone number the resident typed where Telegram would share the account's: a contact card without a
        user id, which the dialogs read as a number typed by hand."""
        mine = await self.store.add_message(user_id, False, "☎️ " + html.escape(phone, quote=False))
        user = await self._user(user_id)
        await self._feed(user_id, message_id=mine.message_id,
                         contact=Contact(phone_number=phone, first_name=user.first_name))

    async def upload(self, user_id: int, content: bytes, content_type: str, caption: str = "",
                     file_name: Optional[str] = None) -> None:
        """A photo (JPEG, PNG) or a PDF the resident attached; its type was read from its bytes by the caller."""
        file_id = FILE_PREFIX + secrets.token_urlsafe(18)
        kind = KIND[content_type]
        await self.store.add_file(file_id, user_id, content_type, content)
        mine = await self.store.add_message(user_id, False, html.escape(caption, quote=False), None,
                                            (file_id, kind, file_name))
        unique = file_id[-16:]
        fields: dict[str, Any] = {"caption": caption or None}
        if kind == "photo":
            fields["photo"] = [PhotoSize(file_id=file_id, file_unique_id=unique, width=1, height=1,
                                         file_size=len(content))]
        else:
            fields["document"] = Document(file_id=file_id, file_unique_id=unique, file_name=file_name or "document.pdf",
                                          mime_type=content_type, file_size=len(content))
        await self._feed(user_id, message_id=mine.message_id, **fields)

    async def press(self, user_id: int, message_id: int, data: str) -> Optional[str]:
        """A press of an inline button on a bot message the resident sees; returns the pop-up text, if any.
        A button that is not on that message (made up by the page) is refused."""
        shown = await self.store.message(user_id, message_id)
        if shown is None or not shown.from_bot or data not in _callbacks(shown):
            return None
        update_id = await self.store.next_update_id(user_id)
        query = CallbackQuery(id=str(update_id), from_user=await self._user(user_id), chat_instance=str(user_id),
                              message=_as_message(shown, user_id, self.bot), data=data)
        await self.dispatcher.feed_update(self.bot, Update(update_id=update_id, callback_query=query))
        return self.session.answers.pop(str(update_id), None)

    async def _user(self, user_id: int) -> User:
        user = await self.store.user(user_id)
        return User(id=user_id, is_bot=False, first_name=RESIDENT_NAME, language_code=user.locale if user else None)

    async def _feed(self, user_id: int, message_id: int, **fields: Any) -> None:
        update_id = await self.store.next_update_id(user_id)
        message = Message(message_id=message_id, date=datetime.now(timezone.utc), chat=Chat(id=user_id, type="private"),
                          from_user=await self._user(user_id), **fields)
        await self.dispatcher.feed_update(self.bot, Update(update_id=update_id, message=message))


def _callbacks(shown: Shown) -> set[str]:
    rows = (shown.markup or {}).get("inline_keyboard", [])
    return {button.get("callback_data") for row in rows for button in row if button.get("callback_data")}


def _as_message(shown: Shown, user_id: int, bot: Bot) -> Message:
    """The bot's message a button is on, as Telegram puts it into the press: plain text, the inline keyboard."""
    markup = InlineKeyboardMarkup.model_validate(shown.markup) if shown.markup else None
    return Message(message_id=shown.message_id, date=datetime.now(timezone.utc), chat=Chat(id=user_id, type="private"),
                   from_user=User(id=bot.id, is_bot=True, first_name="Bot"),
                   text=html.unescape(TAGS.sub("", shown.text)) or "…", reply_markup=markup)
