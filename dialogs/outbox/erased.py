"""Outbox rows of the kind 'card_erased' (bot.privacy): a request's or a consultation's data were deleted at the
resident's request or after the retention period, and its place in the staff group must stop showing them."""
from __future__ import annotations

import logging
from typing import Optional

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import Item
from bot.requests.models import Request
from dialogs.outbox.cards import ERASED_NOTICE, erased_consultation_card
from dialogs.outbox.requests import RequestDelivery
from dialogs.outbox.telegram import Courier, lost_in_group
from dialogs.requests_view.group import why_of

log = logging.getLogger("bot.delivery")
DELETE_AT_ONCE = 100  # deleteMessages takes up to 100 ids


class ErasedCards:
    def __init__(self, courier: Courier, requests: RequestDelivery):
        self.out = courier
        self.bot = courier.bot
        self.services = courier.services
        self.requests = requests  # an open request's erased card is posted anew when its topic goes

    async def card_erased(self, item: Item) -> None:
        """The forum topic the bot made for the card goes where the bot may (an open request's card is then
        posted anew, without the data, so that the staff can close it); otherwise the messages that carried the
        resident's words go where the bot may and the card is edited to say the data were deleted, or, when
        Telegram refuses the edit, a short notice under it says so. A card already deleted or already edited
        counts as done. Nothing here holds the row: a group that is gone or a right the bot lacks leaves nothing
        more to do (network errors and flood waits are tried again by the outbox)."""
        p = item.payload
        kind = "c" if "consultation_id" in p else "r"
        subject = (await self.services.consult.get(p["consultation_id"]) if kind == "c"
                   else await self.services.requests.get(p.get("request_id", -1)))
        if subject is None:
            return
        chat_id, message_id, thread_id = int(p["chat_id"]), int(p["message_id"]), p.get("thread_id")
        with self.out.speaking(self.out.group_locale):
            try:
                if thread_id and p.get("current") and await self.delete_topic(chat_id, int(thread_id)):
                    if kind == "r" and subject.status.open:
                        await self.repost(subject, chat_id, int(thread_id))
                    return
                await self.delete_shown(kind, subject.id, chat_id, p.get("messages") or [])
                await self.say_erased(kind, subject, chat_id, message_id, thread_id, why_of(p.get("why")))
            except (TelegramBadRequest, TelegramForbiddenError) as exc:
                log.warning("the card of %s %s in group %s does not say its data were deleted: %s",
                            "request" if kind == "r" else "consultation", subject.id, chat_id, exc)

    async def say_erased(self, kind: str, subject, chat_id: int, message_id: int, thread_id: Optional[int],
                         why: str) -> None:
        """The card edited to say the data were deleted; a notice under it when Telegram refuses the edit."""
        if kind == "r":
            text, markup = self.requests.card_of(subject, 0)
        else:
            text, markup = erased_consultation_card(subject.id, why), None
        if await self.edit(text, chat_id, message_id, markup):
            return
        name = (_("request No. {number}").format(number=subject.public_id) if kind == "r"
                else _("online consultation No. {number}").format(number=subject.id))
        await self.bot.send_message(chat_id, _(ERASED_NOTICE[why]).format(subject=name),
                                    message_thread_id=thread_id or None,
                                    reply_to_message_id=message_id, allow_sending_without_reply=True)

    async def delete_topic(self, chat_id: int, thread_id: int) -> bool:
        """Delete the forum topic the bot made for the card; True when it is gone (now or before)."""
        try:
            await self.bot.delete_forum_topic(chat_id, thread_id)
        except TelegramBadRequest as exc:
            if lost_in_group(exc) == "topic":
                return True
            log.info("the topic %s in group %s stays: %s", thread_id, chat_id, exc)
            return False
        return True

    async def repost(self, request: Request, chat_id: int, thread_id: int) -> None:
        """An open request whose topic went with the resident's data: its erased card in a new topic, so that
        the staff can still close it."""
        group = await self.services.groups.group_for(request.community, request.institution_id)
        if group is None or group.chat_id != chat_id:
            return
        async with self.out.lock("r", request.id):
            fresh = await self.services.requests.get(request.id)
            if fresh is not None and fresh.group_chat_id == chat_id and fresh.thread_id == thread_id:
                await self.requests.post_card(fresh, group, None)

    async def delete_shown(self, kind: str, subject_id: int, chat_id: int, known: list[int]) -> None:
        """Remove the group messages that carried the resident's words (relays, files) where the bot may."""
        shown = {int(i) for i in known}
        if kind == "r":
            shown |= set(await self.services.requests.shown_in_group(subject_id, chat_id))
        ids = sorted(shown)
        for start in range(0, len(ids), DELETE_AT_ONCE):
            part = ids[start:start + DELETE_AT_ONCE]
            try:
                await self.bot.delete_messages(chat_id, part)
            except TelegramBadRequest as exc:  # too old, or no right to delete: the edited card still says it
                log.info("%d message(s) with deleted data stay in group %s: %s", len(part), chat_id, exc)
        if kind == "r":
            await self.services.requests.forget_shown(subject_id, chat_id)

    async def edit(self, text: str, chat_id: int, message_id: int, markup: Optional[InlineKeyboardMarkup]) -> bool:
        """Edit the card; True when it says so now or is gone, False when Telegram refuses the edit for good."""
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except TelegramBadRequest as exc:
            message = str(exc).lower()
            if "not modified" in message or "message to edit not found" in message:
                return True
            log.info("the card %s in group %s could not be edited: %s", message_id, chat_id, exc)
            return False
        return True
