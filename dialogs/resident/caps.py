"""What a resident is told when a daily cap is reached (bot.requests.service.Caps): politely, with what to do
in an emergency. Words of danger are never held back by a cap: they are passed on and the emergency lines shown."""
from __future__ import annotations

from typing import Optional

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.catalogue.loader import CommunityView
from bot.services import Services
from dialogs.common import BTN_EMERGENCY


def cap_text(services: Services, community: Optional[CommunityView], what: str) -> str:
    """`what`: 'requests', 'reports', 'follow_ups' or 'bookings'."""
    caps = services.requests.caps
    n = getattr(caps, what)
    if what == "requests":
        head = ngettext("You have sent {n} request today: that is as many as one person can send in a day, so that "
                        "the specialists can hear everyone. Please send the next one tomorrow.",
                        "You have sent {n} requests today: that is as many as one person can send in a day, so that "
                        "the specialists can hear everyone. Please send the next one tomorrow.", n)
    elif what == "reports":
        head = ngettext("You have sent {n} report today: that is as many as one person can send in a day. "
                        "Please send the next one tomorrow.",
                        "You have sent {n} reports today: that is as many as one person can send in a day. "
                        "Please send the next one tomorrow.", n)
    elif what == "follow_ups":
        head = ngettext("You have sent {n} message to your requests today: that is as many as the bot passes on "
                        "in a day. The specialists have everything you sent; please wait for their answer or write "
                        "again tomorrow.",
                        "You have sent {n} messages to your requests today: that is as many as the bot passes on "
                        "in a day. The specialists have everything you sent; please wait for their answer or write "
                        "again tomorrow.", n)
    else:
        head = ngettext("You have booked {n} time today: that is as many as one person can book in a day. "
                        "Please try again tomorrow.",
                        "You have booked {n} times today: that is as many as one person can book in a day. "
                        "Please try again tomorrow.", n)
    return (head.format(n=n) + "\n\n🆘 " + _("If you or someone else is in danger right now, call 112, or press "
                                             "«{button}» for the lines that help day and night.").format(
        button=_(BTN_EMERGENCY)))
