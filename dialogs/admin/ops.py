"""Administrators' commands for running the bot: /reload_data."""
from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.ops.catalogue import reload_catalogue
from bot.services import Services
from dialogs.common import Routes, h

router = Routes("admin.ops", chats=None)
PROBLEMS_SHOWN = 5


def admin_place(message: Message, services: Services) -> bool:
    """A private chat with the bot, or the administrators' chat."""
    return message.chat.type == "private" or message.chat.id == services.settings.admin_chat_id


@router.message(Command("reload_data"))
async def reload_data(message: Message, services: Services) -> None:
    user_id = message.from_user.id if message.from_user else None
    if not services.is_admin(user_id):
        if message.chat.type == "private":
            await message.answer(_("This command is for the community's administrators."))
        return
    if not admin_place(message, services):
        await message.answer(_("Please use this command in a private chat with the bot."))
        return
    result = await reload_catalogue(services)
    if result.ok:
        await message.answer("✅ " + _("Data reloaded: communities {communities}, services {services}. Residents see "
                                      "the changes from their next step.").format(
            communities=result.communities, services=result.services))
        return
    lines = ["❌ " + _("Data not reloaded: the bot keeps using the previous data. Problems found: {count}. The first "
                      "ones:").format(count=len(result.problems))]
    shown = [f"• <code>{h(problem[:300])}</code>" for problem in result.problems[:PROBLEMS_SHOWN]]
    end = _("Fix the files and send /reload_data again. All problems: <code>python -m bot check-data</code> "
            "on the server.")
    while shown and len("\n".join(lines + shown + [end])) > 4096:
        shown.pop()
    await message.answer("\n".join(lines + shown + [end]))


def build():
    return router.build()
