"""Pieces every dialog uses: callback data, keyboards, menu buttons in any language."""
from __future__ import annotations

from html import escape
from typing import Any, Iterable, Optional, Sequence

from aiogram import F, Router
from aiogram.filters import BaseFilter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import I18n, get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from magic_filter import MagicFilter

PAGE_SIZE = 8



def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated where it is shown."""
    return message


def too_long(limit: int) -> str:
    """A resident's text is over `limit` characters."""
    return ngettext("This is longer than {limit} character. Please write it shorter, the specialist will ask about "
                    "the details.",
                    "This is longer than {limit} characters. Please write it shorter, the specialist will ask about "
                    "the details.", limit).format(limit=limit)


# Main menu buttons: message ids, translated when shown and matched in every language.
BTN_FIND = N_("🧭 Find help")
BTN_SEARCH = N_("🔎 Search")
BTN_EMERGENCY = N_("🆘 Emergency help")
BTN_SETTINGS = N_("⚙️ Settings")
BTN_HELP = N_("❓ How to use")
BTN_ASK = N_("📝 Ask for help")
BTN_MY = N_("📂 My requests")
BTN_REPORT = N_("🙋 Report a person in need")
BTN_CONSULT = N_("💬 Online consultation")


class DeleteForm(StatesGroup):
    """The resident is looking at «Delete my data?»; a text they write instead leaves it (resident/search.py)."""

    confirm = State()


class Nav(CallbackData, prefix="n"):
    """Where a button leads: a screen, an item on it and a page."""

    screen: str
    item: str = ""
    page: int = 0


class Pick(CallbackData, prefix="p"):
    """A choice in settings or at the start: language or community."""

    what: str
    value: str


def locale() -> str:
    return get_i18n().current_locale


def h(text: Any) -> str:
    """Escape any text that goes into an HTML message."""
    return escape(str(text), quote=False)


class MenuButton(BaseFilter):
    """Matches a reply-keyboard button's text in any language we speak."""

    def __init__(self, *message_ids: str):
        self.ids = message_ids

    async def __call__(self, message: Message, i18n: I18n) -> bool:
        if not message.text:
            return False
        text = message.text.strip()
        for msgid in self.ids:
            for loc in i18n.available_locales:
                if text == i18n.gettext(msgid, locale=loc):
                    return True
        return False


def main_menu() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(BTN_FIND)), KeyboardButton(text=_(BTN_SEARCH))],
            [KeyboardButton(text=_(BTN_ASK)), KeyboardButton(text=_(BTN_MY))],
            [KeyboardButton(text=_(BTN_CONSULT))],
            [KeyboardButton(text=_(BTN_EMERGENCY))],
            [KeyboardButton(text=_(BTN_REPORT))],
            [KeyboardButton(text=_(BTN_SETTINGS)), KeyboardButton(text=_(BTN_HELP))],
        ],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Write what happened, in your own words"),
    )


def button(text: str, screen: str, item: str = "", page: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=Nav(screen=screen, item=item, page=page).pack())


def nav_row(back: Optional[tuple[str, str, int]] = None) -> list[InlineKeyboardButton]:
    row = []
    if back is not None:
        row.append(button(_("◀️ Back"), *back))
    row.append(button(_("🏠 Menu"), "menu"))
    return row


def paged(
    items: Sequence[tuple[str, str, str]],
    screen: str,
    item: str,
    page: int,
    back: Optional[tuple[str, str, int]],
) -> tuple[InlineKeyboardMarkup, int, int]:
    """A keyboard of one button per row for (text, screen, item) items, one page of them, with paging."""
    pages = max(1, (len(items) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    rows = [[button(text, target, key)] for text, target, key in items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]]
    if pages > 1:
        paging = []
        if page > 0:
            paging.append(button(_("⬅️ Previous"), screen, item, page - 1))
        if page < pages - 1:
            paging.append(button(_("Next ➡️"), screen, item, page + 1))
        rows.append(paging)
    rows.append(nav_row(back))
    return InlineKeyboardMarkup(inline_keyboard=rows), page, pages


def keyboard(rows: Iterable[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


class Magic(BaseFilter):
    """A magic filter (`F.text`, `F.chat.type == ...`) checked in the event loop. aiogram runs a bare magic
    filter in a worker thread, which costs a thread switch per filter per update."""

    def __init__(self, magic: MagicFilter):
        self.magic = magic

    async def __call__(self, event: Any) -> Any:
        return self.magic.resolve(event)


def in_loop(filters: Iterable[Any]) -> tuple[Any, ...]:
    """Filters aiogram would run in a worker thread (magic filters, bare states) as event-loop filters."""
    out = []
    for item in filters:
        if isinstance(item, MagicFilter):
            item = Magic(item)
        elif isinstance(item, (State, StatesGroup)) or (isinstance(item, type) and issubclass(item, StatesGroup)):
            item = StateFilter(item)
        out.append(item)
    return tuple(out)


class Routes:
    """Handlers collected by decorators at import time; `build()` gives a fresh Router for each app."""

    def __init__(self, name: str, *, chats: Optional[tuple[str, ...]] = ("private",)):
        self.name = name
        self.chats = chats
        self.entries: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = []

    def _collect(self, observer: str, filters: tuple[Any, ...], kwargs: dict[str, Any]):
        def decorator(handler):
            self.entries.append((observer, handler, filters, kwargs))
            return handler

        return decorator

    def message(self, *filters: Any, **kwargs: Any):
        return self._collect("message", filters, kwargs)

    def callback_query(self, *filters: Any, **kwargs: Any):
        return self._collect("callback_query", filters, kwargs)

    def build(self) -> Router:
        router = Router(name=self.name)
        if self.chats:
            router.message.filter(Magic(F.chat.type.in_(self.chats)))
            router.callback_query.filter(Magic(F.message.chat.type.in_(self.chats)))
        for observer, handler, filters, kwargs in self.entries:
            getattr(router, observer).register(handler, *in_loop(filters), **kwargs)
        return router
