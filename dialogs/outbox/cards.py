"""How the cards in staff groups read when the outbox posts them: the line on top of a card posted again, the
erased consultation card, the notice under an erased card Telegram would not let the bot edit. A request's card,
erased or not, is built in dialogs/requests_view/group.py."""
from __future__ import annotations

from typing import Optional

from aiogram.utils.i18n import gettext as _

from dialogs.common import N_

# The short line on top of a card posted again, by what happened to the earlier one.
AGAIN = {
    "topic": N_("The earlier topic was deleted, so the card is posted again here."),
    "card": N_("The earlier card was deleted, so it is posted again here."),
    "group": N_("The earlier group cannot be reached any more, so the card is posted again here."),
}
# What an erased consultation card says, by why the data went (a request's: dialogs/requests_view/group.py).
ERASED = {
    "resident": N_("The data were deleted at the resident's request: the conversation and files."),
    "retention": N_("The data were deleted after the retention period: the conversation and files."),
}
# Under a card Telegram would not let the bot edit.
ERASED_NOTICE = {
    "resident": N_("🗑 The data of {subject} were deleted at the resident's request. The card could not be "
                   "changed: please disregard what it shows."),
    "retention": N_("🗑 The data of {subject} were deleted after the retention period. The card could not be "
                    "changed: please disregard what it shows."),
}


def posted_again(again: Optional[str], text: str) -> str:
    """The card, with a line on top on why it is posted again when `again` says why."""
    return "⚠️ <i>" + _(AGAIN[again]) + "</i>\n\n" + text if again else text


def erased_consultation_card(number: int, why: str) -> str:
    return "\n".join(["🗑 <b>" + _("Online consultation No. {number}").format(number=number) + "</b>", "",
                      "<i>" + _(ERASED[why]) + "</i>"])
