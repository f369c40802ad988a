"""Turns outbox rows into Bot API calls, and Telegram's errors into the outbox's error kinds."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Iterator, Optional

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import GroupUnreachable, Item, NoGroup, Permanent, RecipientBlocked, RetryAfter, Transient
from bot.requests.models import Attachment, Request, Status
from bot.services import Services
from dialogs.common import h
from dialogs.requests_view import Req, institution_name, staff_card, staff_keyboard, status_label, topic_name

log = logging.getLogger("bot.delivery")
GONE = ("chat not found", "bot was kicked", "not enough rights", "have no rights", "group chat was upgraded",
        "bot is not a member", "chat_write_forbidden", "topic_closed", "message thread not found")


@contextmanager
def speaking(i18n: I18n, locale: str) -> Iterator[None]:
    """Translations outside handlers too: the outbox and the campaign engine run on their own."""
    with i18n.context(), i18n.use_locale(locale):
        yield


@contextmanager
def telegram_errors(private: bool, chat: Callable[[], Optional[int]] = lambda: None) -> Iterator[None]:
    """Turn the Bot API's errors into the outbox's: what to retry, what to hold, what to drop."""
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RetryAfter(exc.retry_after) from exc
    except TelegramForbiddenError as exc:
        if private:
            raise RecipientBlocked(str(exc)) from exc
        raise GroupUnreachable(chat() or 0, str(exc)) from exc
    except TelegramBadRequest as exc:
        message = str(exc).lower()
        if not private and any(word in message for word in GONE):
            raise GroupUnreachable(chat() or 0, str(exc)) from exc
        if private and ("chat not found" in message or "user is deactivated" in message):
            raise RecipientBlocked(str(exc)) from exc
        raise Permanent(str(exc)) from exc
    except (TelegramNetworkError, TelegramServerError, TelegramNotFound) as exc:
        raise Transient(str(exc)) from exc


class TelegramSender:
    def __init__(self, bot: Bot, services: Services, i18n: I18n):
        self.bot = bot
        self.services = services
        self.i18n = i18n
        about_request = {
            "card": self._card,
            "card_update": self._card_update,
            "card_moved": self._card_moved,
            "relay_to_group": self._relay_to_group,
            "group_notice": self._group_notice,
            "status": self._resident_notice,
            "reply": self._resident_reply,
            "redirected": self._resident_notice,
            "finished": self._resident_notice,
            "admin_notice": self._admin_notice,
        }
        self.handlers: dict[str, Callable[[Item], Awaitable[None]]] = {
            kind: self._about_request(handler) for kind, handler in about_request.items()
        }
        from dialogs.consult_delivery import consult_handlers

        self.handlers.update(consult_handlers(self))

    # ----- entry points the outbox calls ------------------------------------------------------------------------

    async def deliver(self, item: Item) -> None:
        handler = self.handlers.get(item.kind)
        if handler is None:
            raise Permanent(f"unknown outbox kind {item.kind}")
        self._chat: Optional[int] = None  # the group a handler is sending to, for the error's sake
        with telegram_errors(item.target.startswith("resident:"), lambda: self._chat):
            await handler(item)

    def _about_request(self, handler: Callable[[Item, Request], Awaitable[None]]):
        async def run(item: Item) -> None:
            request = await self.services.requests.get(item.payload.get("request_id", -1))
            if request is None:
                raise Permanent("the request no longer exists")
            await handler(item, request)

        return run

    async def on_held(self, item: Item, reason: str, chat_id: Optional[int]) -> None:
        if item.target.startswith("institution:"):
            if reason == "unreachable" and chat_id:
                await self.services.requests.mark_group_unreachable(chat_id)
            if item.request_id is not None:
                await self.services.requests.notify_admins_once(item.request_id, item.target, reason)

    async def on_blocked(self, item: Item) -> None:
        resident_id = int(item.target.split(":", 1)[1])
        await self.services.residents.mark_blocked(resident_id)

    # ----- helpers ----------------------------------------------------------------------------------------------

    def _speaking(self, locale: str) -> Iterator[None]:
        return speaking(self.i18n, locale)

    async def edit_quietly(self, text: str, chat_id: int, message_id: int,
                           markup: Optional[InlineKeyboardMarkup]) -> None:
        """Edit a card; an unchanged or deleted card is not an error worth retrying."""
        try:
            await self.bot.edit_message_text(text[:4096], chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" in str(exc) or "message to edit not found" in str(exc):
                return
            raise

    def _locale_of_group(self) -> str:
        return self.services.settings.default_locale

    async def _resident_locale(self, resident_id: int) -> str:
        resident = await self.services.residents.get(resident_id)
        return resident.locale if resident and resident.locale else self.services.settings.default_locale

    async def _group(self, request: Request) -> tuple[int, Optional[int], bool]:
        group = await self.services.requests.group_for(request.community, request.institution_id)
        if group is None:
            raise NoGroup()
        self._chat = group.chat_id
        return group.chat_id, request.thread_id if request.group_chat_id == group.chat_id else None, group.is_forum

    async def _send_files(self, chat_id: int, files: list[Attachment], thread_id: Optional[int] = None,
                          reply_to: Optional[int] = None, caption: Optional[str] = None) -> None:
        for index, item in enumerate(files):
            extra: dict[str, Any] = {"message_thread_id": thread_id}
            if reply_to:
                extra["reply_to_message_id"] = reply_to
            if caption and index == 0:
                extra["caption"] = caption
            if item.kind == "photo":
                await self.bot.send_photo(chat_id, item.file_id, **extra)
            elif item.kind == "voice":
                await self.bot.send_voice(chat_id, item.file_id, **extra)
            else:
                await self.bot.send_document(chat_id, item.file_id, **extra)

    # ----- to the institution's group ---------------------------------------------------------------------------

    async def _card(self, item: Item, request: Request) -> None:
        group = await self.services.requests.group_for(request.community, request.institution_id)
        if group is None:
            raise NoGroup()
        if request.card_message_id and request.group_chat_id == group.chat_id:
            return  # already delivered to this group
        self._chat = group.chat_id
        catalogue = self.services.catalogue
        tz = self.services.settings.tz
        files = await self.services.requests.files(request.id)
        with self._speaking(self._locale_of_group()):
            thread_id = None
            if group.is_forum:
                topic = await self.bot.create_forum_topic(group.chat_id, topic_name(catalogue, request),
                                                          icon_color=0xFF93B2 if request.urgent else 0x6FB9F0)
                thread_id = topic.message_thread_id
            text = staff_card(catalogue, request, len(files), tz)
            sent = await self.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                               reply_markup=staff_keyboard(request))
            await self.services.requests.set_card(request.id, group.chat_id, thread_id, sent.message_id)
            if files:
                await self._send_files(group.chat_id, files, thread_id, reply_to=None if thread_id else sent.message_id)

    async def _card_update(self, item: Item, request: Request) -> None:
        if not request.card_message_id or not request.group_chat_id:
            return  # the card will show the current state when it is delivered
        files = await self.services.requests.files(request.id)
        chat_id = item.payload.get("chat_id", request.group_chat_id)
        with self._speaking(self._locale_of_group()):
            text = staff_card(self.services.catalogue, request, len(files), self.services.settings.tz)
            await self.edit_quietly(text, chat_id, request.card_message_id, staff_keyboard(request))

    async def _card_moved(self, item: Item, request: Request) -> None:
        """The card in the group the request left: the same card, marked as passed on, without buttons."""
        chat_id, message_id = item.payload.get("chat_id"), item.payload.get("message_id")
        if not chat_id or not message_id:
            return
        self._chat = chat_id
        view = self.services.catalogue.communities[request.community]
        target = view.institutions.get(item.payload.get("to", ""))
        files = await self.services.requests.files(request.id)
        with self._speaking(self._locale_of_group()):
            text = staff_card(self.services.catalogue, request, len(files), self.services.settings.tz)
            name = target.name.get(self._locale_of_group()) if target else "—"
            text = "↪️ <b>" + _("Passed to: {institution}").format(institution=h(name)) + "</b>\n\n" + text
            await self.edit_quietly(text, chat_id, message_id, None)

    async def _relay_to_group(self, item: Item, request: Request) -> None:
        chat_id, thread_id, _forum = await self._group(request)
        if request.group_chat_id != chat_id or not request.card_message_id:
            raise NoGroup()  # the card has not reached the group yet: keep the order
        event = await self.services.requests.event(item.payload["event_id"])
        with self._speaking(self._locale_of_group()):
            header = "💬 " + _("The resident wrote about request No. {number}:").format(number=request.public_id)
            reply_to = None if thread_id else request.card_message_id
            chunks = split_text(event.text or "", 3500) or [""]
            for index, chunk in enumerate(chunks):
                text = (header + "\n\n" if index == 0 else "") + h(chunk)
                await self.bot.send_message(chat_id, text.strip(), message_thread_id=thread_id,
                                            reply_to_message_id=reply_to)
            await self._send_files(chat_id, list(event.files), thread_id, reply_to)

    async def _group_notice(self, item: Item, request: Request) -> None:
        chat_id, thread_id, _forum = await self._group(request)
        notice = item.payload.get("notice")
        with self._speaking(self._locale_of_group()):
            if notice == "withdrawn":
                text = "↩️ " + _("The resident withdrew request No. {number}.").format(number=request.public_id)
            elif notice == "rated":
                text = "⭐ " + _("The resident rated the help for request No. {number}: {stars}").format(
                    number=request.public_id, stars="⭐" * int(item.payload.get("rating", 0)))
            elif notice == "reminder":
                if not request.status.open:
                    return
                text = "⏰ " + _("Reminder: request No. {number} is waiting. Status: {status}.").format(
                    number=request.public_id, status=status_label(request.status))
            else:
                raise Permanent(f"unknown notice {notice}")
            reply_to = request.card_message_id if request.group_chat_id == chat_id and not thread_id else None
            await self.bot.send_message(chat_id, text, message_thread_id=thread_id, reply_to_message_id=reply_to)

    async def _admin_notice(self, item: Item, request: Request) -> None:
        notice = item.payload.get("notice")
        with self._speaking(self._locale_of_group()):
            if notice == "overdue":
                if not request.status.open:
                    return
                text = "⏰ " + _("Request No. {number} ({institution}) is not answered in time. Status: {status}.")
            elif notice == "no_group":
                text = "⚠️ " + _("{institution} has no bound Telegram group. Request No. {number} waits. "
                                "Create a code with /bind_code and send /bind CODE in the group.")
            elif notice == "unreachable":
                text = "⚠️ " + _("The group of {institution} cannot be reached (the bot was removed or lost rights). "
                                "Request No. {number} waits until the group is bound again.")
            else:
                raise Permanent(f"unknown admin notice {notice}")
            text = text.format(number=request.public_id, status=status_label(request.status),
                               institution=h(institution_name(self.services.catalogue, request, short=False)))
        settings = self.services.settings
        targets = [settings.admin_chat_id] if settings.admin_chat_id else self.services.admin_ids()
        if not targets:
            log.warning("no administrators configured for a notice")
            return
        for chat_id in targets:
            try:
                await self.bot.send_message(chat_id, text)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.warning("an administrator's chat is unreachable: %s", type(exc).__name__)

    # ----- to the resident --------------------------------------------------------------------------------------

    async def _resident_notice(self, item: Item, request: Request) -> None:
        resident_id = int(item.target.split(":", 1)[1])
        markup = None
        with self._speaking(await self._resident_locale(resident_id)):
            number = request.public_id
            institution = h(institution_name(self.services.catalogue, request, short=False))
            if item.kind == "redirected":
                text = "↪️ " + _("Your request No. {number} was passed to {institution}, which handles such "
                                 "questions. You do not need to do anything.").format(number=number,
                                                                                      institution=institution)
            elif item.kind == "finished":
                if item.payload.get("status") == Status.resolved.value:
                    text = "✅ " + _("{institution} marked your request No. {number} as resolved.")
                else:
                    text = "☑️ " + _("{institution} closed your request No. {number}.")
                text = text.format(number=number, institution=institution)
                text += "\n\n" + _("How did we help? Please rate from 1 to 5:")
                markup = InlineKeyboardMarkup(inline_keyboard=[[
                    InlineKeyboardButton(text=str(n), callback_data=Req(action="rate", rid=request.id,
                                                                        arg=str(n)).pack())
                    for n in range(1, 6)
                ]])
            else:
                text = "🛠 " + _("A specialist of {institution} took your request No. {number} into work.").format(
                    number=number, institution=institution)
            await self.bot.send_message(resident_id, text, reply_markup=markup)

    async def _resident_reply(self, item: Item, request: Request) -> None:
        resident_id = int(item.target.split(":", 1)[1])
        event = await self.services.requests.event(item.payload["event_id"])
        with self._speaking(await self._resident_locale(resident_id)):
            header = "💬 " + _("Answer to your request No. {number}").format(number=request.public_id)
            signature = _("{role}, {institution}").format(
                role=h(event.actor_label or _("specialist")),
                institution=h(institution_name(self.services.catalogue, request)),
            )
            markup = InlineKeyboardMarkup(inline_keyboard=[[
                InlineKeyboardButton(text=_("✍️ Answer"), callback_data=Req(action="write", rid=request.id).pack())
            ]])
            chunks = split_text(event.text or "", 3500) or [""]
            for index, chunk in enumerate(chunks):
                text = h(chunk)
                if index == 0:
                    text = f"{header}\n<i>{signature}</i>" + (f"\n\n{text}" if text else "")
                last = index == len(chunks) - 1
                await self.bot.send_message(resident_id, text, reply_markup=markup if last else None)
            await self._send_files(resident_id, list(event.files))


def split_text(text: str, size: int) -> list[str]:
    """Cut a long plain text into pieces of at most `size` characters, at line or word ends where possible."""
    pieces = []
    rest = text.strip()
    while len(rest) > size:
        cut = rest.rfind("\n", 0, size)
        if cut < size // 2:
            cut = rest.rfind(" ", 0, size)
        if cut < size // 2:
            cut = size
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces
