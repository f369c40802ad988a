"""Outbox handler of the kind 'card_erased' (bot.privacy): a request's or a consultation's data were deleted at
the resident's request or after the retention period, and its place in the staff group must stop showing them."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import Item
from bot.privacy import ERASED_KIND, RETENTION
from bot.requests.models import Request
from dialogs.common import N_
from dialogs.requests_view import Staff, staff_card, staff_keyboard, status_label

if TYPE_CHECKING:
    from dialogs.delivery import TelegramSender

log = logging.getLogger("bot.delivery")
# What an erased card says, by whose card it is and why the data went.
ERASED = {
    ("r", "resident"): N_("The data were deleted at the resident's request: the description, contacts, files and "
                          "messages. The resident can no longer be reached through the bot."),
    ("r", "retention"): N_("The data were deleted after the retention period: the description, contacts, files "
                           "and messages."),
    ("c", "resident"): N_("The data were deleted at the resident's request: the conversation and files."),
    ("c", "retention"): N_("The data were deleted after the retention period: the conversation and files."),
}
# Under a card Telegram would not let the bot edit.
ERASED_NOTICE = {
    "resident": N_("🗑 The data of {subject} were deleted at the resident's request. The card could not be "
                   "changed: please disregard what it shows."),
    "retention": N_("🗑 The data of {subject} were deleted after the retention period. The card could not be "
                    "changed: please disregard what it shows."),
}
DELETE_AT_ONCE = 100  # deleteMessages takes up to 100 ids


def why_of(value: Optional[str]) -> str:
    return RETENTION if value == RETENTION else "resident"


def request_card(sender: "TelegramSender", request: Request, files: int) -> tuple[str, Optional[InlineKeyboardMarkup]]:
    """The staff card and its buttons; once the request's data are deleted, the erased card, with only «Close»
    while it is open (nobody can answer the resident any more)."""
    if not request.purged_at:
        return staff_card(sender.services.catalogue, request, files, sender.services.settings.tz), \
            staff_keyboard(request)
    text = "\n".join(["🗑 <b>" + _("Request No. {number}").format(number=request.public_id) + "</b>",
                      _("Status: {status}").format(status=status_label(request.status)), "",
                      "<i>" + _(ERASED[("r", why_of(request.purged_why))]) + "</i>"])
    markup = None
    if request.status.open:
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=_("☑️ Close"), callback_data=Staff(action="close", rid=request.id).pack())]])
    return text, markup


def erased_handlers(sender: "TelegramSender") -> dict[str, Callable[[Item], Awaitable[None]]]:
    services = sender.services

    async def delete_topic(chat_id: int, thread_id: int) -> bool:
        """Delete the forum topic the bot made for the card; True when it is gone (now or before)."""
        from dialogs.delivery import lost_in_group

        try:
            await sender.bot.delete_forum_topic(chat_id, thread_id)
        except TelegramBadRequest as exc:
            if lost_in_group(exc) == "topic":
                return True
            log.info("the topic %s in group %s stays: %s", thread_id, chat_id, exc)
            return False
        return True

    async def repost(request: Request, chat_id: int, thread_id: int) -> None:
        """An open request whose topic went with the resident's data: its erased card in a new topic, so that
        the staff can still close it."""
        group = await services.groups.group_for(request.community, request.institution_id)
        if group is None or group.chat_id != chat_id:
            return
        async with sender.lock("r", request.id):
            fresh = await services.requests.get(request.id)
            if fresh is not None and fresh.group_chat_id == chat_id and fresh.thread_id == thread_id:
                await sender._post_card(fresh, group, None)

    async def delete_shown(kind: str, subject_id: int, chat_id: int, known: list[int]) -> None:
        """Remove the group messages that carried the resident's words (relays, files) where the bot may."""
        shown = {int(i) for i in known}
        if kind == "r":
            shown |= set(await services.requests.shown_in_group(subject_id, chat_id))
        ids = sorted(shown)
        for start in range(0, len(ids), DELETE_AT_ONCE):
            part = ids[start:start + DELETE_AT_ONCE]
            try:
                await sender.bot.delete_messages(chat_id, part)
            except TelegramBadRequest as exc:  # too old, or no right to delete: the edited card still says it
                log.info("%d message(s) with deleted data stay in group %s: %s", len(part), chat_id, exc)
        if kind == "r":
            await services.requests.forget_shown(subject_id, chat_id)

    async def edit(text: str, chat_id: int, message_id: int, markup: Optional[InlineKeyboardMarkup]) -> bool:
        """Edit the card; True when it says so now or is gone, False when Telegram refuses the edit for good."""
        try:
            await sender.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except TelegramBadRequest as exc:
            message = str(exc).lower()
            if "not modified" in message or "message to edit not found" in message:
                return True
            log.info("the card %s in group %s could not be edited: %s", message_id, chat_id, exc)
            return False
        return True

    async def card_erased(item: Item) -> None:
        """The forum topic the bot made for the card goes where the bot may (an open request's card is then
        posted anew, without the data, so that the staff can close it); otherwise the messages that carried the
        resident's words go where the bot may and the card is edited to say the data were deleted, or, when
        Telegram refuses the edit, a short notice under it says so. A card already deleted or already edited
        counts as done. Nothing here holds the row: a group that is gone or a right the bot lacks leaves nothing
        more to do (network errors and flood waits are tried again by the outbox)."""
        p = item.payload
        kind = "c" if "consultation_id" in p else "r"
        subject = (await services.consult.get(p["consultation_id"]) if kind == "c"
                   else await services.requests.get(p.get("request_id", -1)))
        if subject is None:
            return
        chat_id, message_id, thread_id = int(p["chat_id"]), int(p["message_id"]), p.get("thread_id")
        why = why_of(p.get("why"))
        with sender._speaking(services.settings.default_locale):
            try:
                if thread_id and p.get("current") and await delete_topic(chat_id, int(thread_id)):
                    if kind == "r" and subject.status.open:
                        await repost(subject, chat_id, int(thread_id))
                    return
                await delete_shown(kind, subject.id, chat_id, p.get("messages") or [])
                if kind == "r":
                    text, markup = request_card(sender, subject, 0)
                else:
                    text = "\n".join(["🗑 <b>" + _("Online consultation No. {number}").format(number=subject.id)
                                      + "</b>", "", "<i>" + _(ERASED[("c", why)]) + "</i>"])
                    markup = None
                if not await edit(text, chat_id, message_id, markup):
                    name = (_("request No. {number}").format(number=subject.public_id) if kind == "r"
                            else _("online consultation No. {number}").format(number=subject.id))
                    await sender.bot.send_message(chat_id, _(ERASED_NOTICE[why]).format(subject=name),
                                                  message_thread_id=thread_id or None,
                                                  reply_to_message_id=message_id, allow_sending_without_reply=True)
            except (TelegramBadRequest, TelegramForbiddenError) as exc:
                log.warning("the card of %s %s in group %s does not say its data were deleted: %s",
                            "request" if kind == "r" else "consultation", subject.id, chat_id, exc)

    return {ERASED_KIND: card_erased}
