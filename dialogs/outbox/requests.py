"""Outbox rows about a request: its card in the institution's group (posted, updated, marked as passed on,
posted again), the resident's messages and notices there, and the notices and answers the resident gets."""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Awaitable, Callable, Optional

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup

from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Item, NoGroup, Permanent
from bot.groups.models import Group
from bot.requests.models import Event, Request, Status
from dialogs.common import html_messages
from dialogs.outbox.cards import posted_again
from dialogs.outbox.telegram import Courier
from dialogs.requests_view import clip, staff_card, topic_name, when_text
from dialogs.requests_view import group as to_group
from dialogs.requests_view import resident as to_resident
from dialogs.resident.confirmation import desk, question_markup

log = logging.getLogger("bot.delivery")


def words_of(event: Optional[Event]) -> Optional[str]:
    """What a staff member wrote for the resident in a history entry (a redirect's reason, the words of "other")."""
    return clip(event.text, 1000) if event is not None and event.text else None


class RequestDelivery:
    def __init__(self, courier: Courier):
        self.out = courier
        self.bot = courier.bot
        self.services = courier.services

    def handlers(self) -> dict[Kind, Callable[[Item], Awaitable[None]]]:
        about_request = {
            Kind.CARD: self.card,
            Kind.CARD_UPDATE: self.card_update,
            Kind.CARD_MOVED: self.card_moved,
            Kind.RELAY_TO_GROUP: self.relay_to_group,
            Kind.RELAY_WITHDRAWN: self.relay_withdrawn,
            Kind.GROUP_NOTICE: self.group_notice,
            Kind.STATUS: self.resident_notice,
            Kind.REPLY: self.resident_reply,
            Kind.REDIRECTED: self.resident_notice,
            Kind.FINISHED: self.resident_notice,
            Kind.CONFIRMATION: self.confirmation,
        }
        return {kind: self.about_request(handler) for kind, handler in about_request.items()}

    def about_request(self, handler: Callable[[Item, Request], Awaitable[None]]) -> Callable[[Item], Awaitable[None]]:
        async def run(item: Item) -> None:
            await handler(item, await self.subject(item))

        return run

    async def subject(self, item: Item) -> Request:
        request = await self.services.requests.get(item.payload.get("request_id", -1))
        if request is None:
            raise Permanent("the request no longer exists")
        return request

    async def post_again(self, item: Item, lost: str) -> Optional[str]:
        """The request's topic or card was deleted (or its topic closed) by hand: see `Courier.post_lost_card`."""
        request = await self.services.requests.get(item.payload.get("request_id") or -1)
        if request is None:
            return None
        return await self.out.post_lost_card(
            "r", request, self.services.requests.get, lost,
            lambda group, again, thread_id: self.post_card(request, group, again, thread_id=thread_id, history=True))

    async def placed(self, request: Request, item: Item) -> tuple[int, Optional[int], Request]:
        """The institution's group with the request's card in it: when the card is not there yet (a new request,
        a group bound instead of a lost one) it is posted first. Returns the chat, the topic, the request."""
        group = await self.services.groups.group_for(request.community, request.institution_id)
        if group is None:
            raise NoGroup()
        self.out.chat = group.chat_id
        if request.group_chat_id == group.chat_id and request.card_message_id:
            return group.chat_id, request.thread_id, request
        await self.out.regroup_waits(item)
        request = await self.place(request, group)
        return group.chat_id, request.thread_id, request

    async def place(self, request: Request, group: Group) -> Request:
        """Post the request's card in `group` unless it is there already; return the request as stored."""
        async with self.out.lock("r", request.id):
            fresh = await self.services.requests.get(request.id) or request
            if fresh.group_chat_id == group.chat_id and fresh.card_message_id:
                return fresh
            elsewhere = fresh.group_chat_id is not None
            await self.post_card(fresh, group, "group" if elsewhere else None, history=elsewhere)
            return await self.services.requests.get(request.id) or fresh

    async def post_card(self, request: Request, group: Group, again: Optional[str], *,
                        thread_id: Optional[int] = None, history: bool = False) -> None:
        """The full current card with its buttons and files (in a new topic in a forum, unless `thread_id`);
        posted again, with a line on why (`again`) and the recent history that is not still on its way."""
        files = await self.services.requests.files(request.id)
        catalogue = self.services.catalogue
        self.out.chat = group.chat_id
        with self.out.speaking(self.out.group_locale):
            if group.is_forum and thread_id is None:
                title = topic_name(catalogue, request)
                topic = await self.bot.create_forum_topic(group.chat_id, title,
                                                          icon_color=0xFF93B2 if request.urgent else 0x6FB9F0)
                thread_id = topic.message_thread_id
                await self.services.requests.set_topic_title(request.id, title)
            text, markup = self.card_of(request, len(files))  # erased once the data are deleted
            text = posted_again(again, text)
            sent = await self.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                               reply_markup=markup)
            await self.services.requests.set_card(request.id, group.chat_id, thread_id, sent.message_id)
            reply_to = None if thread_id else sent.message_id
            if files:  # kept, so that they can be removed when the data are deleted
                shown = await self.out.send_files(group.chat_id, files, thread_id, reply_to=reply_to)
                await self.services.requests.remember_messages(group.chat_id, shown, request.id)
            if history:
                for text in await self.recent_history(request):
                    await self.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                                reply_to_message_id=reply_to)

    async def recent_history(self, request: Request) -> list[str]:
        """The latest entries of the request's history (notes included: the group is the institution's own),
        without the resident's messages still waiting to be relayed, which follow on their own."""
        relays = await self.out.pending_relays(Kind.RELAY_TO_GROUP, "request_id", request.id)
        waiting = [p.get("event_id") for p in relays]
        before = min((e for e in waiting if e), default=None)
        events: list[Event] = [e for e in await self.services.requests.history(request.id, public_only=False)
                               if e.kind in to_group.STAFF_EVENT and (before is None or e.id < before)]
        return to_group.recent_history(events, self.services.settings.tz)

    def card_of(self, request: Request, files: int) -> tuple[str, Optional[InlineKeyboardMarkup]]:
        """The card as it reads now, with its buttons (dialogs/requests_view/group.py)."""
        return to_group.request_card(self.services.catalogue, request, files, self.services.settings.tz,
                                     self.services.requests.clock())

    async def card(self, item: Item, request: Request) -> None:
        await self.placed(request, item)  # posts it unless it is in the institution's group already

    async def card_update(self, item: Item, request: Request) -> None:
        if not request.card_message_id or not request.group_chat_id:
            return  # the card will show the current state when it is delivered
        group = await self.services.groups.group_for(request.community, request.institution_id)
        if group is None or group.chat_id != request.group_chat_id:
            if not request.status.open:
                return  # a finished request's card stays as it was in a group no longer in use
            await self.placed(request, item)  # an open one is posted, as it is now, in the group in use
            return
        self.out.chat = group.chat_id
        files = await self.services.requests.files(request.id)
        with self.out.speaking(self.out.group_locale):
            text, markup = self.card_of(request, len(files))
            await self.out.edit_quietly(text, group.chat_id, request.card_message_id, markup)
            await self.retitle(request, group)

    async def retitled(self, item: Item) -> None:
        """After a card was posted again in its old topic: the topic's title may still show an older status."""
        request = await self.services.requests.get(item.payload.get("request_id") or -1)
        if request is None:
            return
        group = await self.services.groups.group_for(request.community, request.institution_id)
        if group is not None and group.chat_id == request.group_chat_id:
            self.out.chat = group.chat_id
            with self.out.speaking(self.out.group_locale):
                await self.retitle(request, group)

    async def retitle(self, request: Request, group: Group) -> None:
        """The request's forum topic carries its status in the title: edited when the status changes it (the
        title last given is kept, so an unchanged one is never sent again); a refusal only costs the title."""
        if not group.is_forum or not request.thread_id or request.purged_at:
            return
        title = topic_name(self.services.catalogue, request)
        if title == request.topic_title:
            return
        try:
            await self.bot.edit_forum_topic(group.chat_id, request.thread_id, name=title)
        except TelegramBadRequest as exc:
            if "NOT_MODIFIED" not in str(exc).upper():
                log.info("the topic of request %s in group %s keeps its title: %s", request.id, group.chat_id, exc)
                return
        await self.services.requests.set_topic_title(request.id, title)

    async def card_moved(self, item: Item, request: Request) -> None:
        """The card in the group the request left: the same card, marked as passed on, without buttons."""
        chat_id, message_id = item.payload.get("chat_id"), item.payload.get("message_id")
        if not chat_id or not message_id:
            return
        self.out.chat = chat_id
        view = self.services.catalogue.communities[request.community]
        target = view.institutions.get(item.payload.get("to", ""))
        files = await self.services.requests.files(request.id)
        with self.out.speaking(self.out.group_locale):
            text = staff_card(self.services.catalogue, request, len(files), self.services.settings.tz,
                              self.services.requests.clock())
            text = to_group.passed_on(text, target.name.get(self.out.group_locale) if target else "—")
            await self.out.mark_moved(text, chat_id, message_id)

    async def relay_to_group(self, item: Item, request: Request) -> None:
        event = await self.services.requests.event(item.payload["event_id"])
        if event.kind != "resident_message":
            return  # the resident took it back before it went out: the staff never see it
        chat_id, thread_id, request = await self.placed(request, item)
        sent: list[int] = []
        try:
            with self.out.speaking(self.out.group_locale):
                header = to_group.resident_wrote(request)
                reply_to = None if thread_id else request.card_message_id
                for text in html_messages(event.text or "", head=header):  # split first, then escaped
                    message = await self.bot.send_message(chat_id, text, message_thread_id=thread_id,
                                                          reply_to_message_id=reply_to)
                    sent.append(message.message_id)
                sent += await self.out.send_files(chat_id, list(event.files), thread_id, reply_to)
        finally:  # what reached the group, so that a message the resident takes back can be removed there
            await self.services.requests.remember_messages(chat_id, sent, request.id, event.id)

    async def relay_withdrawn(self, item: Item, request: Request) -> None:
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
        self.out.chat = group.chat_id
        removed = True
        try:
            await self.bot.delete_messages(group.chat_id, shown)
        except TelegramBadRequest as exc:  # too old, or no right to delete: the note alone says it
            log.info("a message taken back by a resident stays in group %s: %s", group.chat_id, exc)
            removed = False
        chat_id, thread_id, request = await self.placed(request, item)
        with self.out.speaking(self.out.group_locale):
            when = when_text(item.payload.get("at"), self.services.settings.tz)
            text = to_group.message_taken_back(request, when, removed)
            reply_to = None if thread_id else request.card_message_id
            await self.bot.send_message(chat_id, text, message_thread_id=thread_id, reply_to_message_id=reply_to)

    async def group_notice(self, item: Item, request: Request) -> None:
        if not request.status.open:
            group = await self.services.groups.group_for(request.community, request.institution_id)
            if group is not None and request.group_chat_id != group.chat_id:
                return  # about a finished request whose card is in a group no longer in use
        chat_id, thread_id, request = await self.placed(request, item)
        notice = item.payload.get("notice")
        if notice not in to_group.NOTICES:
            raise Permanent(f"unknown notice {notice}")
        if notice in ("reminder", "due_soon", "taker_left", "handed_over") and not request.status.open:
            return
        with self.out.speaking(self.out.group_locale):
            if notice == "handed_over":
                text = to_group.handed_over(request, int(item.payload["to_id"]), item.payload.get("to") or "—",
                                            item.payload.get("by") or "—")
            else:
                text = to_group.notice(request, notice, int(item.payload.get("rating", 0)),
                                       self.services.requests.clock(), self.services.settings.tz)
            reply_to = request.card_message_id if not thread_id else None
            await self.bot.send_message(chat_id, text, message_thread_id=thread_id, reply_to_message_id=reply_to)

    async def resident_notice(self, item: Item, request: Request) -> None:
        resident_id = Target.parse(item.target).resident_id
        markup = None
        catalogue = self.services.catalogue
        with self.out.speaking(await self.out.resident_locale(resident_id)):
            if item.kind == Kind.REDIRECTED:
                event = await self.entry(item, request, ("redirected",))
                if event is not None and event.institution_id:  # where this redirect sent it, even if moved on
                    request = replace(request, institution_id=event.institution_id)
                text = to_resident.passed_on(catalogue, request, words_of(event))
            elif item.kind == Kind.FINISHED:
                text, markup = await self.finished_text(item, request)
            else:
                text = to_resident.taken(catalogue, request)
            sent = await self.bot.send_message(resident_id, text, reply_markup=markup)
        # a quote-reply to it goes to the request (dialogs/resident/follow_ups.py)
        await self.services.requests.remember_messages(resident_id, [sent.message_id], request.id)

    async def finished_text(self, item: Item, request: Request) -> tuple[str, Optional[InlineKeyboardMarkup]]:
        """Resolved or closed, and why, in plain words; the rating is asked only of a resident who had an answer
        (rows queued before the reasons existed have none of these keys: they read as before)."""
        reason = item.payload.get("reason")
        words = words_of(await self.entry(item, request, ("resolved", "closed"))) if reason == "other" else None
        return to_resident.finished(self.services.catalogue, request,
                                    item.payload.get("status") == Status.resolved.value, reason, words,
                                    item.payload.get("answered", True))

    async def entry(self, item: Item, request: Request, kinds: tuple[str, ...]) -> Optional[Event]:
        """The public history entry a notice is about: the one its row names (a redirect or a finish followed
        quickly by another keeps its own reason), else, for rows queued before they named it, the latest of these
        kinds; None when there is none (erased)."""
        events = [e for e in await self.services.requests.history(request.id, public_only=True) if e.kind in kinds]
        named = item.payload.get("event")
        if named is not None:
            return next((e for e in events if e.id == named), None)
        return events[-1] if events else None

    async def resident_reply(self, item: Item, request: Request) -> None:
        resident_id = Target.parse(item.target).resident_id
        event = await self.services.requests.event(item.payload["event_id"])
        with self.out.speaking(await self.out.resident_locale(resident_id)):
            head = to_resident.answer_head(self.services.catalogue, request, event.actor_label)
            markup = to_resident.answer_markup(request)
            texts = html_messages(event.text or "", head=head)  # split first, then escaped
            sent: list[int] = []
            try:
                for index, text in enumerate(texts):
                    last = index == len(texts) - 1
                    message = await self.bot.send_message(resident_id, text, reply_markup=markup if last else None)
                    sent.append(message.message_id)
                sent += await self.out.send_files(resident_id, list(event.files))
            finally:  # a quote-reply to the answer goes to the request (dialogs/resident/follow_ups.py)
                await self.services.requests.remember_messages(resident_id, sent, request.id, event.id)

    async def confirmation(self, item: Item, request: Request) -> None:
        """Whether the help came (bot/requests/confirmation.py): the question to the resident, while it still waits
        for its answer; «partly» or «no» in the card's topic; the resident's few words there, unless erased."""
        what, payload = item.payload.get("what"), item.payload
        if what == "ask":
            found = await desk(self.services).get(int(payload.get("confirmation_id") or 0))
            if found is None or found.answer is not None or not found.waiting or found.resident_id is None:
                return  # answered, reopened or erased meanwhile: nothing to ask
            with self.out.speaking(await self.out.resident_locale(found.resident_id)):
                text = to_resident.help_question(self.services.catalogue, request)
                await self.bot.send_message(found.resident_id, text, reply_markup=question_markup(found.id))
            return
        words = None
        if what == "words":
            words = (await self.services.requests.event(int(payload.get("event_id") or 0))).text
            if not words:
                return  # erased before it went out
        chat_id, thread_id, request = await self.placed(request, item)
        reply_to = None if thread_id else request.card_message_id
        with self.out.speaking(self.out.group_locale):
            if words is None:
                texts = [to_group.help_did_not_come(request, payload.get("answer"))]
            else:
                texts = html_messages(words, head=to_group.help_words_head(request))  # split first, then escaped
            for text in texts:
                await self.bot.send_message(chat_id, text, message_thread_id=thread_id, reply_to_message_id=reply_to)
