"""The bot's own membership in staff groups: removed from a bound group, it stops sending there at once."""
from __future__ import annotations

import logging

from aiogram.types import ChatMemberUpdated

from bot.services import Services

log = logging.getLogger("bot.staff")
GONE_STATUSES = {"left", "kicked"}


async def bot_membership(event: ChatMemberUpdated, services: Services) -> None:
    """The bot was removed from a group (or left it): when it was an institution's group in use, what is sent
    to the institution waits from now on and the administrators are told at once what to do."""
    if event.new_chat_member.status not in GONE_STATUSES:
        return
    if await services.groups.group_lost(event.chat.id, "removed"):
        log.warning("the bot was removed from group %s; its institution's rows wait for a new group", event.chat.id)
        services.wake_outbox()
