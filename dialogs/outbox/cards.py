"""How the cards in staff groups read when the outbox posts them: a request's card (the erased card once its data
are deleted), the line on top of a card posted again, the erased consultation card."""
from __future__ import annotations

from typing import Optional

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.privacy import RETENTION
from bot.requests.models import Request
from bot.services import Services
from dialogs.common import N_
from dialogs.requests_view import Staff, staff_card, staff_keyboard, status_label

# The short line on top of a card posted again, by what happened to the earlier one.
AGAIN = {
    "topic": N_("The earlier topic was deleted, so the card is posted again here."),
    "card": N_("The earlier card was deleted, so it is posted again here."),
    "group": N_("The earlier group cannot be reached any more, so the card is posted again here."),
}
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


def why_of(value: Optional[str]) -> str:
    return RETENTION if value == RETENTION else "resident"


def posted_again(again: Optional[str], text: str) -> str:
    """The card, with a line on top on why it is posted again when `again` says why."""
    return "⚠️ <i>" + _(AGAIN[again]) + "</i>\n\n" + text if again else text


def request_card(services: Services, request: Request, files: int) -> tuple[str, Optional[InlineKeyboardMarkup]]:
    """The staff card and its buttons; once the request's data are deleted, the erased card, with only «Close»
    while it is open (nobody can answer the resident any more)."""
    if not request.purged_at:
        markup = staff_keyboard(request)
        if request.status.open:  # dialogs/staff/handover.py
            markup.inline_keyboard.insert(-1, [InlineKeyboardButton(
                text=_("👥 Hand over to a colleague"), callback_data=Staff(action="handover", rid=request.id).pack())])
        card = staff_card(services.catalogue, request, files, services.settings.tz, services.requests.clock())
        return card, markup
    text = "\n".join(["🗑 <b>" + _("Request No. {number}").format(number=request.public_id) + "</b>",
                      _("Status: {status}").format(status=status_label(request.status)), "",
                      "<i>" + _(ERASED[("r", why_of(request.purged_why))]) + "</i>"])
    markup = None
    if request.status.open:
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=_("☑️ Close"), callback_data=Staff(action="close", rid=request.id).pack())]])
    return text, markup


def erased_consultation_card(number: int, why: str) -> str:
    return "\n".join(["🗑 <b>" + _("Online consultation No. {number}").format(number=number) + "</b>", "",
                      "<i>" + _(ERASED[("c", why)]) + "</i>"])
