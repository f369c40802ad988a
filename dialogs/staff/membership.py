"""Membership in staff groups. The bot's own: removed from a bound group, it stops sending there at once. Its
members': one who left or was removed is no longer trusted as staff, nor offered as a colleague to hand over to, and
each open request they had is announced in its topic for a colleague to take over."""
from __future__ import annotations

import logging

from aiogram.types import ChatMemberUpdated

from bot.services import Services
from dialogs.staff.common import MEMBER_STATUSES

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


async def member_changed(event: ChatMemberUpdated, services: Services) -> None:
    """Someone left the group or was removed from it: the trusted "member" answer is dropped at once and they
    are marked as gone (no longer offered by «👥 Hand over to a colleague»); one who is back loses the mark.
    (Telegram tells a bot about others' membership only where the bot is an administrator; elsewhere the
    "member" answer runs out within MEMBER_TTL, and a colleague chosen who has left is refused and marked then.)"""
    new = event.new_chat_member
    key = (event.chat.id, new.user.id)
    if new.status not in MEMBER_STATUSES or (new.status == "restricted" and not getattr(new, "is_member", True)):
        services.members_until.pop(key, None)
        await services.groups.staff_left(*key)
        if await services.requests.taker_left(*key):  # their open requests wait for a colleague
            services.wake_outbox()
    else:
        await services.groups.staff_back(*key)
