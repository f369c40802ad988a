"""Pieces every dialog uses: callback data, keyboards, menu buttons in any language."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html import escape, unescape
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

from bot.msgid import N_

PAGE_SIZE = 8


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
BTN_MORE = N_("☰ More")  # the less used items on a second keyboard (dialogs/resident/menu.py)
BTN_MENU_BACK = N_("⬅️ Back")  # from that keyboard to the main one


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


# ----- long texts in HTML messages --------------------------------------------------------------------------------
#
# Telegram refuses a message whose text is longer than MESSAGE_LIMIT once its entities are parsed, and refuses the
# whole message when its HTML is broken. A text is therefore never cut after it was escaped (a cut can fall inside
# `&amp;` or between `<b>` and `</b>`): the plain text is split first, at paragraph, line or word ends, each piece
# is escaped on its own, and the budget leaves room for the markup around it. Lengths are counted as Telegram
# counts them, in UTF-16 code units (an emoji outside the basic plane counts twice).

MESSAGE_LIMIT = 4096
_TAG = re.compile(r"<[^<>]*>")
# where a plain text is best split, best first: (separator, how much of it stays with the piece before)
_BREAKS = (("\n\n", 0), ("\n", 0), (". ", 1), ("! ", 1), ("? ", 1), (" ", 0))
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}


def units(text: str) -> int:
    """The length of a plain text as Telegram counts it."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def shown_length(markup: str) -> int:
    """The length of our own HTML once Telegram has parsed it: tags take no room, an entity one character."""
    return units(unescape(_TAG.sub("", markup)))


def _fitting(text: str, size: int) -> int:
    """How many characters from the start of `text` fit in `size` units."""
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > size:
            return index
    return len(text)


def _glued(left: str, right: str) -> bool:
    """Whether a cut between these two characters would tear one visible sign (an accent from its letter, an
    emoji from its skin tone, variation or joiner)."""
    return (right in _JOINERS or left == "\u200d" or unicodedata.category(right) in ("Mn", "Me", "Mc")
            or 0x1F3FB <= ord(right) <= 0x1F3FF or 0xE0020 <= ord(right) <= 0xE007F)


def _cut(text: str, limit: int) -> int:
    """Where to end the first piece of `text`, whose first `limit` characters fit: at the last paragraph, line,
    sentence or word end in the second half of them, else at `limit` without tearing a visible sign."""
    for separator, kept in _BREAKS:
        at = text.rfind(separator, 1, limit + len(separator) - kept)
        if at >= limit // 2:
            return at + kept
    cut = limit
    for _step in range(16):
        if cut <= 1 or not _glued(text[cut - 1], text[cut]):
            break
        cut -= 1
    return cut if cut >= 1 and not _glued(text[cut - 1], text[cut]) else limit


def split_plain(text: str, size: int) -> list[str]:
    """A plain text in pieces of at most `size` units, split at paragraph, line, sentence or word ends where
    possible. Nothing is lost but the blanks where it was split (Telegram drops those at a message's ends)."""
    if size < 1:
        raise ValueError("no room for text")
    pieces: list[str] = []
    rest = (text or "").strip()
    while rest:
        limit = _fitting(rest, size)
        if limit == len(rest):
            pieces.append(rest)
            break
        cut = _cut(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return pieces


def clip_plain(text: str, size: int) -> str:
    """A plain text shortened to `size` units with «…» (for a card that must stay one message); escape after."""
    text = text or ""
    if units(text) <= size:
        return text
    return text[:_fitting(text, size - 1)] + "…"


def html_messages(text: str, *, head: str = "", tail: str = "", joiner: str = "\n\n", each: bool = False,
                  limit: int = MESSAGE_LIMIT) -> list[str]:
    """A plain text as HTML messages: split first, then each piece escaped. `head` (our own HTML, user text in
    it already escaped) goes before the first piece, or before every piece when `each`; `tail` after the last
    one; `joiner` between them and the text. An empty text gives the head and tail alone (or nothing)."""
    room = limit - shown_length(head) - shown_length(tail) - 2 * units(joiner)
    if room < limit // 8:
        raise ValueError("the markup around the text leaves no room for it")
    pieces = split_plain(text, room)
    if not pieces:
        alone = joiner.join(part for part in (head, tail) if part)
        return [alone] if alone.strip() else []
    out = []
    for index, piece in enumerate(pieces):
        parts = [head] if head and (index == 0 or each) else []
        parts.append(h(piece))
        if tail and index == len(pieces) - 1:
            parts.append(tail)
        out.append(joiner.join(parts))
    return out


@dataclass(frozen=True)
class Entry:
    """One item of a list sent in HTML: `markup` is our own HTML (user text in it already escaped), `text` a
    plain text shown after it on the next line (escaped here; split only when it cannot fit one message) and
    `tail` our own HTML on the line after the text."""

    markup: str
    text: str = ""
    tail: str = ""


def pack(entries: Iterable[Entry | str], *, head: str = "", sep: str = "\n", limit: int = MESSAGE_LIMIT) -> list[str]:
    """A list as few HTML messages as it takes: split between items, never inside one, unless one item alone
    is longer than a message (then its text is split before escaping, its markup staying with the first part).
    `head` opens the first message; an entry that is a plain `str` is markup only."""
    messages: list[str] = []
    current: list[str] = [head] if head else []
    used = shown_length(head)
    gap = units(sep)

    def flush() -> None:
        nonlocal current, used
        if current:
            messages.append(sep.join(current))
        current, used = [], 0

    for entry in entries:
        if isinstance(entry, str):
            entry = Entry(entry)
        piece = "\n".join(part for part in (entry.markup, h(entry.text) if entry.text else "", entry.tail) if part)
        size = shown_length(piece)
        if current and used + gap + size <= limit:
            current.append(piece)
            used += gap + size
            continue
        flush()
        if size <= limit:
            current, used = [piece], size
            continue
        parts = html_messages(entry.text, head=entry.markup, tail=entry.tail, joiner="\n", limit=limit)
        messages.extend(parts[:-1])
        current, used = [parts[-1]], shown_length(parts[-1])
    flush()
    return messages


class MenuButton(BaseFilter):
    """Matches a reply-keyboard button's text in any language we speak."""

    def __init__(self, *message_ids: str):
        self.ids = message_ids

    def texts(self, i18n: I18n) -> frozenset[str]:
        """The texts it accepts (bot/runtime/routing.py offers it only messages with one of them)."""
        return frozenset(i18n.gettext(msgid, locale=loc) for msgid in self.ids for loc in i18n.available_locales)

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
    """Three rows, so that most of a phone's screen stays for the conversation; the rest under «☰ More»."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(BTN_FIND)), KeyboardButton(text=_(BTN_SEARCH))],
            [KeyboardButton(text=_(BTN_ASK)), KeyboardButton(text=_(BTN_MY))],
            [KeyboardButton(text=_(BTN_EMERGENCY)), KeyboardButton(text=_(BTN_MORE))],
        ],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Write what happened, in your own words"),
    )


def more_menu() -> ReplyKeyboardMarkup:
    """What «☰ More» opens: the items the main keyboard leaves out, and the way back to it. Each button sends the
    same text as the old nine-button keyboard did, so the same handlers answer it."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(BTN_CONSULT))],
            [KeyboardButton(text=_(BTN_REPORT))],
            [KeyboardButton(text=_(BTN_SETTINGS)), KeyboardButton(text=_(BTN_HELP))],
            [KeyboardButton(text=_(BTN_MENU_BACK))],
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
