"""Turns outbox rows into Bot API calls, and Telegram's errors into the outbox's error kinds."""
from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
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

from bot.delivery.outbox import (
    Defer,
    GroupUnreachable,
    Item,
    NoGroup,
    Permanent,
    RecipientBlocked,
    RetryAfter,
    Transient,
)
from bot.requests.clean import clean_text
from bot.groups.models import Group
from bot.requests.models import Attachment, Event, Request, Status
from bot.services import Services
from dialogs.common import N_, Entry, h, html_messages, pack
from dialogs.erased_delivery import request_card
from dialogs.requests_view import (
    EVENT,
    Req,
    _when,
    clip,
    institution_name,
    staff_card,
    status_label,
    topic_name,
)

log = logging.getLogger("bot.delivery")
GONE = ("chat not found", "bot was kicked", "not enough rights", "have no rights", "group chat was upgraded",
        "bot is not a member", "chat_write_forbidden")
# Lost inside a group that is still there: the request's topic (deleted by hand), or its card.
TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_id_invalid")
CARD_GONE = ("message to edit not found", "message to be replied not found", "replied message not found")
# The short line on top of a card posted again, by what happened to the earlier one.
AGAIN = {
    "topic": N_("The earlier topic was deleted, so the card is posted again here."),
    "card": N_("The earlier card was deleted, so it is posted again here."),
    "group": N_("The earlier group cannot be reached any more, so the card is posted again here."),
}
STAFF_EVENT = {
    "taken": EVENT["taken"],
    "reply": N_("Answer to the resident"),
    "resident_message": N_("The resident wrote"),
    "note": EVENT["note"],
    "redirected": EVENT["redirected"],
    "resolved": EVENT["resolved"],
    "closed": EVENT["closed"],
    "reopened": EVENT["reopened"],
    "withdrawn": N_("The resident withdrew the request"),
    "rated": N_("The resident rated the help"),
    "resident_message_withdrawn": N_("The resident took back a message sent here by mistake"),
}
HISTORY_LINES = 10
_CHAT: ContextVar[Optional[int]] = ContextVar("delivery_chat", default=None)


def lost_in_group(exc: TelegramBadRequest) -> Optional[str]:
    """What of a request's or a consultation's place in its group is gone: "topic", "closed" (a topic closed
    by hand), "card", or None when the error is about something else."""
    message = str(exc).lower()
    if any(word in message for word in TOPIC_GONE):
        return "topic"
    if "topic_closed" in message:
        return "closed"
    if any(word in message for word in CARD_GONE):
        return "card"
    return None


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
        if not private and lost_in_group(exc):
            raise Transient(str(exc)) from exc  # posted again and lost again at once: try later, never drop
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
            "relay_withdrawn": self._relay_withdrawn,
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
        self.handlers.update({"group_lost": self._group_lost_notice, "lost_notice": self._lost_notice,
                              "regroup": self._regroup, "group_bound": self._group_bound,
                              "admins_changed": self._admins_changed})
        from dialogs.erased_delivery import erased_handlers

        self.handlers.update(erased_handlers(self))
        self._locks: defaultdict[tuple[str, int], asyncio.Lock] = defaultdict(asyncio.Lock)
        from dialogs.consult_delivery import consult_handlers

        self.handlers.update(consult_handlers(self))

    # ----- entry points the outbox calls ------------------------------------------------------------------------

    async def deliver(self, item: Item) -> None:
        handler = self.handlers.get(item.kind)
        if handler is None:
            raise Permanent(f"unknown outbox kind {item.kind}")
        self._chat = None  # the group a handler is sending to, for the error's sake
        private = item.target.startswith("resident:")
        with telegram_errors(private, lambda: self._chat):
            try:
                await handler(item)
            except TelegramBadRequest as exc:
                lost = None if private else lost_in_group(exc)
                if lost is None or not await self._post_again(item, lost):
                    raise
                await handler(item)  # now into the new topic, or under the new card

    @property
    def _chat(self) -> Optional[int]:
        """The group the current row is sent to (each conversation of the outbox is a task of its own)."""
        return _CHAT.get()

    @_chat.setter
    def _chat(self, chat_id: Optional[int]) -> None:
        _CHAT.set(chat_id)

    def lock(self, kind: str, subject: int) -> asyncio.Lock:
        """One card posted at a time per request or consultation, so that it is never posted twice."""
        return self._locks[(kind, subject)]

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
                await self.services.groups.group_lost(chat_id)  # the administrators are told once per group
                return
            if item.request_id is not None:
                await self.services.requests.notify_admins_once(item.request_id, item.target, reason)

    async def on_blocked(self, item: Item) -> None:
        resident_id = int(item.target.split(":", 1)[1])
        await self.services.residents.mark_blocked(resident_id)

    # ----- helpers ----------------------------------------------------------------------------------------------

    def _speaking(self, locale: str) -> Iterator[None]:
        return speaking(self.i18n, locale)

    async def edit_quietly(self, text: str, chat_id: int, message_id: int,
                           markup: Optional[InlineKeyboardMarkup], *, missing_ok: bool = False) -> None:
        """Edit a card; an unchanged card is not an error. A deleted one is, unless `missing_ok`: the caller
        posts it again (see `deliver`)."""
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" in str(exc) or (missing_ok and "message to edit not found" in str(exc)):
                return
            raise

    async def regroup_waits(self, item: Item) -> None:
        """A newly bound group gets the waiting cards first, in order; everything else for it waits for that."""
        if item.kind != "regroup" and await self.services.groups.regroup_waiting(item.target):
            raise Defer(1.0, "the cards for the new group go first")

    async def pending_relays(self, kind: str, subject_key: str, subject: int) -> list[dict[str, Any]]:
        rows = await self.services.db.fetchall(
            f"SELECT payload FROM outbox WHERE kind = ? AND status IN ('pending', 'held') "
            f"AND json_extract(payload, '$.{subject_key}') = ?", (kind, subject))
        return [json.loads(row["payload"]) for row in rows]

    def _locale_of_group(self) -> str:
        return self.services.settings.default_locale

    async def _resident_locale(self, resident_id: int) -> str:
        resident = await self.services.residents.get(resident_id)
        return resident.locale if resident and resident.locale else self.services.settings.default_locale

    async def _group(self, request: Request, item: Item) -> tuple[int, Optional[int], Request]:
        """The institution's group with the request's card in it: when the card is not there yet (a new request,
        a group bound instead of a lost one) it is posted first. Returns the chat, the topic, the request."""
        group = await self.services.groups.group_for(request.community, request.institution_id)
        if group is None:
            raise NoGroup()
        self._chat = group.chat_id
        if request.group_chat_id == group.chat_id and request.card_message_id:
            return group.chat_id, request.thread_id, request
        await self.regroup_waits(item)
        request = await self._place(request, group)
        return group.chat_id, request.thread_id, request

    async def _place(self, request: Request, group: Group) -> Request:
        """Post the request's card in `group` unless it is there already; return the request as stored."""
        async with self.lock("r", request.id):
            fresh = await self.services.requests.get(request.id) or request
            if fresh.group_chat_id == group.chat_id and fresh.card_message_id:
                return fresh
            elsewhere = fresh.group_chat_id is not None
            await self._post_card(fresh, group, "group" if elsewhere else None, history=elsewhere)
            return await self.services.requests.get(request.id) or fresh

    async def _post_card(self, request: Request, group: Group, again: Optional[str], *,
                         thread_id: Optional[int] = None, history: bool = False) -> None:
        """The full current card with its buttons and files (in a new topic in a forum, unless `thread_id`);
        posted again, with a line on why (`again`) and the recent history that is not still on its way."""
        files = await self.services.requests.files(request.id)
        catalogue = self.services.catalogue
        self._chat = group.chat_id
        with self._speaking(self._locale_of_group()):
            if group.is_forum and thread_id is None:
                topic = await self.bot.create_forum_topic(group.chat_id, topic_name(catalogue, request),
                                                          icon_color=0xFF93B2 if request.urgent else 0x6FB9F0)
                thread_id = topic.message_thread_id
            text, markup = request_card(self, request, len(files))  # the erased card once the data are deleted
            if again:
                text = "⚠️ <i>" + _(AGAIN[again]) + "</i>\n\n" + text
            sent = await self.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                               reply_markup=markup)
            await self.services.requests.set_card(request.id, group.chat_id, thread_id, sent.message_id)
            reply_to = None if thread_id else sent.message_id
            if files:  # kept, so that they can be removed when the data are deleted
                shown = await self._send_files(group.chat_id, files, thread_id, reply_to=reply_to)
                await self.services.requests.remember_messages(group.chat_id, shown, request.id)
            if history:
                for text in await self._recent_history(request):
                    await self.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                                reply_to_message_id=reply_to)

    async def _recent_history(self, request: Request) -> list[str]:
        """The latest entries of the request's history (notes included: the group is the institution's own),
        without the resident's messages still waiting to be relayed, which follow on their own."""
        waiting = [p.get("event_id") for p in await self.pending_relays("relay_to_group", "request_id", request.id)]
        before = min((e for e in waiting if e), default=None)
        events: list[Event] = [e for e in await self.services.requests.history(request.id, public_only=False)
                               if e.kind in STAFF_EVENT and (before is None or e.id < before)]
        if not events:
            return []
        tz = self.services.settings.tz
        entries = []
        for event in events[-HISTORY_LINES:]:
            who = f" ({h(event.actor_label)})" if event.actor == "staff" and event.actor_label else ""
            line = f"• {_when(event.at, tz)} — {_(STAFF_EVENT[event.kind])}{who}"
            if event.files:
                line += f" 📎{len(event.files)}"
            entries.append(Entry(line + (":" if event.text else ""), clip(event.text, 300) if event.text else ""))
        # split between entries, never inside one (a cut after escaping could break the message's HTML)
        return pack(entries, head="🗂 <b>" + _("Recent history") + "</b>")

    async def _post_again(self, item: Item, lost: str) -> bool:
        """The row failed because the card or its topic was deleted (or the topic closed) by hand: post the card
        again (a new topic when the old one is gone), tell the administrators once, and let the row go on.
        False when the row is not about a card that can be posted again."""
        if item.kind in ("card_moved", "consult_card_moved", "regroup"):
            return False
        if "consultation_id" in item.payload:
            from dialogs.consult_delivery import post_again

            return await post_again(self, item, lost)
        request = await self.services.requests.get(item.payload.get("request_id") or -1)
        if request is None:
            return False
        return await self.post_lost_card(
            "r", request, self.services.requests.get, lost,
            lambda group, again, thread_id: self._post_card(request, group, again, thread_id=thread_id, history=True))

    async def post_lost_card(self, kind: str, subject: Any, reread: Callable[[int], Awaitable[Any]], lost: str,
                             post: Callable[[Group, str, Optional[int]], Awaitable[None]]) -> bool:
        """Post again the card of a request ("r") or a consultation ("c") that was deleted, or whose topic was
        deleted or closed, in its group; `post(group, why, thread_id)` posts the card. False when the subject
        is no longer in the institution's group."""
        services = self.services
        group = await services.groups.group_for(subject.community, subject.institution_id)
        if group is None or subject.group_chat_id != group.chat_id:
            return False
        self._chat = group.chat_id
        async with self.lock(kind, subject.id):
            fresh = await reread(subject.id)
            if fresh is None or (fresh.group_chat_id, fresh.thread_id, fresh.card_message_id) != (
                    subject.group_chat_id, subject.thread_id, subject.card_message_id):
                return True  # another row has posted it again meanwhile
            thread_id = subject.thread_id if group.is_forum else None
            if lost == "closed" and thread_id:
                if await self.reopen(group.chat_id, thread_id):
                    return True
                lost = "topic"
            try:
                await post(group, lost, None if lost == "topic" else thread_id)
            except TelegramBadRequest as exc:
                if lost_in_group(exc) != "topic" or lost == "topic":
                    raise
                lost = "topic"  # the card was gone because its whole topic was
                await post(group, lost, None)
        log.warning("%s %s: its %s was deleted in group %s; posted again",
                    "request" if kind == "r" else "consultation", subject.id, lost, group.chat_id)
        await services.groups.notify_lost_card(
            subject.id if kind == "r" else None, subject.id if kind == "c" else None, group.chat_id, lost,
            subject.thread_id if lost == "topic" else subject.card_message_id)
        services.wake_outbox()
        return True

    async def reopen(self, chat_id: int, thread_id: int) -> bool:
        """Open again a topic that staff closed by hand, so that a resident's message still reaches it."""
        try:
            await self.bot.reopen_forum_topic(chat_id, thread_id)
        except TelegramBadRequest as exc:
            return "not_modified" in str(exc).lower()
        return True

    async def _send_files(self, chat_id: int, files: list[Attachment], thread_id: Optional[int] = None,
                          reply_to: Optional[int] = None, caption: Optional[str] = None) -> list[int]:
        """Send the files one by one; return the ids of the messages they became."""
        sent = []
        for index, item in enumerate(files):
            extra: dict[str, Any] = {"message_thread_id": thread_id}
            if reply_to:
                extra["reply_to_message_id"] = reply_to
            if caption and index == 0:
                extra["caption"] = caption
            if item.kind == "photo":
                message = await self.bot.send_photo(chat_id, item.file_id, **extra)
            elif item.kind == "voice":
                message = await self.bot.send_voice(chat_id, item.file_id, **extra)
            else:
                message = await self.bot.send_document(chat_id, item.file_id, **extra)
            sent.append(message.message_id)
        return sent

    # ----- to the institution's group ---------------------------------------------------------------------------

    async def _card(self, item: Item, request: Request) -> None:
        await self._group(request, item)  # posts it unless it is in the institution's group already

    async def _card_update(self, item: Item, request: Request) -> None:
        if not request.card_message_id or not request.group_chat_id:
            return  # the card will show the current state when it is delivered
        group = await self.services.groups.group_for(request.community, request.institution_id)
        if group is None or group.chat_id != request.group_chat_id:
            if not request.status.open:
                return  # a finished request's card stays as it was in a group no longer in use
            await self._group(request, item)  # an open one is posted, as it is now, in the group in use
            return
        self._chat = group.chat_id
        files = await self.services.requests.files(request.id)
        with self._speaking(self._locale_of_group()):
            text, markup = request_card(self, request, len(files))
            await self.edit_quietly(text, group.chat_id, request.card_message_id, markup)

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
            await self.mark_moved(text, chat_id, message_id)

    async def mark_moved(self, text: str, chat_id: int, message_id: int) -> None:
        """The card left behind in the old group: a courtesy, never worth holding anything for."""
        try:
            await self.edit_quietly(text, chat_id, message_id, None, missing_ok=True)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("the card left in group %s was not marked as passed on: %s", chat_id, exc)

    async def _relay_to_group(self, item: Item, request: Request) -> None:
        event = await self.services.requests.event(item.payload["event_id"])
        if event.kind != "resident_message":
            return  # the resident took it back before it went out: the staff never see it
        chat_id, thread_id, request = await self._group(request, item)
        sent: list[int] = []
        try:
            with self._speaking(self._locale_of_group()):
                header = "💬 " + _("The resident wrote about request No. {number}:").format(number=request.public_id)
                reply_to = None if thread_id else request.card_message_id
                for text in html_messages(event.text or "", head=header):  # split first, then escaped
                    message = await self.bot.send_message(chat_id, text, message_thread_id=thread_id,
                                                          reply_to_message_id=reply_to)
                    sent.append(message.message_id)
                sent += await self._send_files(chat_id, list(event.files), thread_id, reply_to)
        finally:  # what reached the group, so that a message the resident takes back can be removed there
            await self.services.requests.remember_messages(chat_id, sent, request.id, event.id)

    async def _relay_withdrawn(self, item: Item, request: Request) -> None:
        """The resident took back a message the bot had added to the request on its own («Це був пошук?»). This
        row comes after the message's own relay (one request's rows go out in order), so the relay has either
        reached the group (its messages are known) or was skipped. When it reached the group: remove it there
        where the bot may, and leave a short note either way, so that nobody answers a search meant for the
        bot."""
        event_id = item.payload["event_id"]
        group = await self.services.groups.group_for(request.community, request.institution_id)
        if group is None or request.group_chat_id != group.chat_id:
            return  # not in the institution's group in use (held, lost, passed on): nothing to take back there
        shown = await self.services.requests.messages_of_event(event_id, group.chat_id)
        if not shown:
            return  # it never reached the group
        self._chat = group.chat_id
        removed = True
        try:
            await self.bot.delete_messages(group.chat_id, shown)
        except TelegramBadRequest as exc:  # too old, or no right to delete: the note alone says it
            log.info("a message taken back by a resident stays in group %s: %s", group.chat_id, exc)
            removed = False
        chat_id, thread_id, request = await self._group(request, item)
        with self._speaking(self._locale_of_group()):
            when = _when(item.payload.get("at"), self.services.settings.tz)
            if removed:
                text = _("The resident took back their message about request No. {number} ({when}): it was meant "
                         "as a search in the bot, not for you. It is removed from here.")
            else:
                text = _("The resident says their message about request No. {number} ({when}) was sent here by "
                         "mistake: it was meant as a search in the bot. Please disregard it.")
            text = "↩️ " + text.format(number=request.public_id, when=when)
            reply_to = None if thread_id else request.card_message_id
            await self.bot.send_message(chat_id, text, message_thread_id=thread_id, reply_to_message_id=reply_to)

    async def _group_notice(self, item: Item, request: Request) -> None:
        if not request.status.open:
            group = await self.services.groups.group_for(request.community, request.institution_id)
            if group is not None and request.group_chat_id != group.chat_id:
                return  # about a finished request whose card is in a group no longer in use
        chat_id, thread_id, request = await self._group(request, item)
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
            reply_to = request.card_message_id if not thread_id else None
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
        await self._admins(text)

    async def _regroup(self, item: Item) -> None:
        """A group was bound instead of a lost one (or for an institution whose rows waited): post the cards that
        wait for it, oldest first, each once; the rows that waited in each of them follow."""
        community, _slash, institution_id = item.target.removeprefix("institution:").partition("/")
        group = await self.services.groups.group_for(community, institution_id)
        if group is None:
            raise NoGroup()
        self._chat = group.chat_id
        from dialogs.consult_delivery import place_consultation

        for kind, subject in item.payload.get("cards", []):
            if kind == "r":
                request = await self.services.requests.get(subject)
                if request is not None and (request.community, request.institution_id) == (community, institution_id):
                    await self._place(request, group)
            else:
                consultation = await self.services.consult.get(subject)
                if consultation is not None and (consultation.community, consultation.institution_id) == (
                        community, institution_id):
                    await place_consultation(self, consultation, group)

    async def _admins(self, text: str, besides: Optional[int] = None) -> None:
        settings = self.services.settings
        targets = ([settings.admin_chat_id] if settings.admin_chat_id else
                   [i for i in self.services.admin_ids() if i != besides])
        if not targets:
            log.warning("no administrators configured for a notice")
            return
        for chat_id in targets:
            try:
                await self.bot.send_message(chat_id, text)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.warning("an administrator's chat is unreachable: %s", type(exc).__name__)

    def _institution(self, community: str, institution_id: str) -> str:
        view = self.services.catalogue.communities.get(community)
        institution = view.institutions.get(institution_id) if view else None
        return institution.name.get(self._locale_of_group()) if institution else institution_id

    async def _group_lost_notice(self, item: Item) -> None:
        p = item.payload
        with self._speaking(self._locale_of_group()):
            text = "⚠️ " + _(
                "The Telegram group «{group}» of {institution} is unreachable: it was deleted, or the bot was removed "
                "from it or lost its rights. New requests, messages and consultations for the institution wait; "
                "nothing is lost.\nTo go on: send /bind_code {community} {code_name}, add the bot to a group (a new "
                "one or the same) as an administrator and send /bind CODE there. Everything that waits is posted "
                "there at once."
            ).format(group=h(p.get("title") or str(p.get("chat_id"))),
                     institution=h(self._institution(p["community"], p["institution_id"])),
                     community=h(p["community"]), code_name=h(p["institution_id"]))
        await self._admins(text)

    async def _group_bound(self, item: Item) -> None:
        """A group was bound: the administrators are told, and so is a group that loses the institution while
        the bot can still write there (a binding nobody meant is seen at once)."""
        p = item.payload
        with self._speaking(self._locale_of_group()):
            institution = h(self._institution(p["community"], p["institution_id"]))
            group = h(clean_text(p.get("title") or "") or str(p.get("chat_id")))
            text = "🔗 " + _("The group «{group}» ({chat}) now receives the requests of {institution}; bound by "
                            "{by}.").format(group=group, chat=p.get("chat_id"), institution=institution,
                                            by=p.get("by") or "—")
            for old in p.get("losing") or []:
                text += "\n" + _("It replaces the group «{group}» ({chat}) of {institution}.").format(
                    group=h(clean_text(old.get("title") or "") or str(old["chat_id"])), chat=old["chat_id"],
                    institution=h(self._institution(old["community"], old["institution_id"])))
        await self._admins(text)
        for old in p.get("losing") or []:
            if old["chat_id"] == p.get("chat_id"):
                continue  # the group that was bound again is told by the answer to its /bind
            with self._speaking(self._locale_of_group()):
                notice = "⚠️ " + _("This group no longer receives the requests of {institution}: another group was "
                                  "bound to it. If nobody here meant this, tell the administrator at once.").format(
                    institution=h(self._institution(old["community"], old["institution_id"])))
            try:
                await self.bot.send_message(old["chat_id"], notice)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.warning("a group that lost its binding is unreachable: %s", type(exc).__name__)

    async def _admins_changed(self, item: Item) -> None:
        p = item.payload
        with self._speaking(self._locale_of_group()):
            if p.get("change") == "added":
                text = "👤 " + _("{id} is now an administrator of the bot (added by {by}).")
            else:
                text = "👤 " + _("{id} is no longer an administrator of the bot (removed by {by}).")
            text = text.format(id=p.get("user_id"), by=p.get("by") or "—")
        await self._admins(text, besides=p.get("user_id"))  # the one added may not have opened the bot yet

    async def _lost_notice(self, item: Item) -> None:
        p = item.payload
        group = await self.services.groups.group(int(p.get("chat_id") or 0))
        title = h(group.title if group and group.title else str(p.get("chat_id")))
        with self._speaking(self._locale_of_group()):
            if p.get("request_id") is not None:
                request = await self.services.requests.get(p["request_id"])
                if request is None:
                    return
                subject = _("request No. {number}").format(number=request.public_id)
            else:
                subject = _("online consultation No. {number}").format(number=p.get("consultation_id"))
            if p.get("what") == "topic":
                text = _("In the group «{group}» the topic of {subject} was deleted. Its card is posted again in a "
                         "new topic, with what is still on its way; nothing is lost.")
            else:
                text = _("In the group «{group}» the card of {subject} was deleted. It is posted again; nothing is "
                         "lost.")
            text = "⚠️ " + text.format(group=title, subject=subject)
        await self._admins(text)

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
            sent = await self.bot.send_message(resident_id, text, reply_markup=markup)
        # a quote-reply to it goes to the request (dialogs/resident/follow_ups.py)
        await self.services.requests.remember_messages(resident_id, [sent.message_id], request.id)

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
            texts = html_messages(event.text or "", head=f"{header}\n<i>{signature}</i>")  # split first, then escaped
            sent: list[int] = []
            try:
                for index, text in enumerate(texts):
                    last = index == len(texts) - 1
                    message = await self.bot.send_message(resident_id, text, reply_markup=markup if last else None)
                    sent.append(message.message_id)
                sent += await self._send_files(resident_id, list(event.files))
            finally:  # a quote-reply to the answer goes to the request (dialogs/resident/follow_ups.py)
                await self.services.requests.remember_messages(resident_id, sent, request.id, event.id)

