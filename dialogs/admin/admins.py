"""Administrators: who may use the administrators' commands, /admin_add, /admin_remove, /admins, and /myid for
anyone."""
from __future__ import annotations

from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services import Services
from dialogs.common import Routes

router = Routes("admin.admins")


def refuse_text() -> str:
    return _("This command is for the community's administrators.")


async def allowed(event: Message | CallbackQuery, services: Services) -> bool:
    if services.is_admin(event.from_user.id if event.from_user else None):
        return True
    if isinstance(event, CallbackQuery):
        await event.answer(refuse_text(), show_alert=True)
    else:
        await event.answer(refuse_text())
    return False


@router.message(Command("admin_add"))
async def admin_add(message: Message, command: CommandObject, services: Services) -> None:
    if not await allowed(message, services):
        return
    argument = (command.args or "").strip()
    if not argument.isdigit() or len(argument) > 15:
        await message.answer(_("Write the person's Telegram ID (a number) like this: /admin_add 123456789. They "
                               "see their ID when they send /myid to this bot."))
        return
    added = await services.admins.add(int(argument), message.from_user.id)
    if added:
        services.wake_outbox()
    await message.answer(_("Done: {id} is an administrator now.").format(id=argument) if added
                         else _("{id} is an administrator already.").format(id=argument))


@router.message(Command("admin_remove"))
async def admin_remove(message: Message, command: CommandObject, services: Services) -> None:
    if not await allowed(message, services):
        return
    argument = (command.args or "").strip()
    if not argument.isdigit() or len(argument) > 15:
        await message.answer(_("Write the Telegram ID of the administrator to remove like this: /admin_remove "
                               "123456789 (/admins lists them)."))
        return
    user_id = int(argument)
    if user_id in services.admins.configured:
        await message.answer(_("{id} is named in the configuration (<code>ADMIN_IDS</code>) and stays an "
                               "administrator until it is removed there.").format(id=argument))
        return
    removed = await services.admins.remove(user_id, message.from_user.id)
    if removed:
        services.wake_outbox()
    await message.answer(_("Done: {id} is no longer an administrator.").format(id=argument) if removed
                         else _("{id} is not an administrator.").format(id=argument))


@router.message(Command("admins"))
async def admins_list(message: Message, services: Services) -> None:
    if not await allowed(message, services):
        return
    configured = services.admins.configured
    lines = [_("<b>Administrators</b>")]
    for user_id in services.admin_ids():
        lines.append(f"• <code>{user_id}</code>" + ("" if user_id in configured else " " + _("(added in the bot)")))
    await message.answer("\n".join(lines))


@router.message(Command("myid"))
async def my_id(message: Message) -> None:
    """Anyone may learn their Telegram ID (an administrator needs it to add them)."""
    await message.answer(_("Your Telegram ID: <code>{id}</code>").format(id=message.from_user.id))
