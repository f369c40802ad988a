"""A group's first minutes: when the bot is added to a group it says in two lines what it is and how the group is
bound, and /help in a group explains the staff commands (whether the group is bound or not yet); a staff command sent
in a private chat says where it works. While a staff member writes an answer, a note, a reason or a ready answer,
/cancel stops it, and another command is not taken for the text (it would have reached the resident, or been kept as
the reason or the ready answer)."""
from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import BaseFilter, Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.services import Services
from dialogs.common import h, in_loop

log = logging.getLogger("bot.staff")
GROUPS = {"group", "supergroup"}
OUTSIDE = {"left", "kicked"}
INSIDE = {"member", "administrator", "restricted"}


def greeting(name: str) -> str:
    return "\n".join([
        _("👋 I am «{name}», the community's bot: residents' requests and consultations for an institution arrive "
          "in its staff group, and the staff answer them here.").format(name=h(name)),
        _("To make this the group of an institution, send <code>/bind CODE</code>. The code is given by an "
          "administrator of the community (they get it with /bind_code)."),
    ])


async def added(event: ChatMemberUpdated, bot: Bot, services: Services, i18n: I18n) -> None:
    """The bot was added to a group (not a change of its rights there): it introduces itself, in the deployment's
    language, since the whole group reads it. The administrators' chat is not a staff group: nothing is said there."""
    if event.chat.id == services.settings.admin_chat_id:
        return
    try:
        me = await bot.me()
        with i18n.use_locale(services.settings.default_locale):
            text = greeting(me.first_name)
        await bot.send_message(event.chat.id, text)
    except Exception as exc:  # added without the right to write: nothing to do, /help still works later
        log.info("could not greet group %s: %s", event.chat.id, type(exc).__name__)


def commands_text() -> str:
    return "\n".join([
        _("<b>Commands of a staff group</b>"),
        _("/open: the open requests of the institution, urgent first"),
        _("/queue: residents waiting for a consultation"),
        _("/role ROLE: how your answers to residents are signed, e.g. <code>/role соціальний працівник</code> "
          "(never with your name or account)"),
        _("/templates: answers the institution writes often"),
        _("/cancel: stop writing an answer, a note or a reason"),
        _("/bind CODE: make this the group of an institution (the code from an administrator, /bind_code)"),
        _("On a request's card: 🙋 Take, 💬 Answer, 📝 Note (never sent to the resident), ↪️ Redirect, "
          "✅ Resolved, ☑️ Close. Writing in a request's topic, or replying to its card, sends the message to the "
          "resident."),
    ])


async def group_help(message: Message, services: Services) -> None:
    group = await services.groups.group(message.chat.id)
    if group is not None and group.active:
        view = services.catalogue.communities.get(group.community)
        inst = view.institutions.get(group.institution_id) if view else None
        name = inst.name.get(services.settings.default_locale) if inst else group.institution_id
        lead = _("This group receives the requests and consultations of {institution}.").format(institution=h(name))
    else:
        lead = _("This group is not bound to an institution yet: send <code>/bind CODE</code> with the code an "
                 "administrator of the community gives (/bind_code).")
    await message.answer(lead + "\n\n" + commands_text())


STAFF_COMMANDS = ("open", "queue", "role", "templates", "bind")
HEARD_IN_A_STATE = {*STAFF_COMMANDS, "help", "cancel"}  # the group's commands that answer while a text is awaited


class CommandForText(BaseFilter):
    """A command other than the group's own, sent while the bot waits for a text from this person (an answer, a
    note, a reason, a ready answer)."""

    async def __call__(self, message: Message, raw_state: str | None = None) -> bool:
        text = message.text or ""
        if raw_state is None or not text.startswith("/"):
            return False
        words = text[1:].split(maxsplit=1)
        return not words or words[0].split("@")[0].lower() not in HEARD_IN_A_STATE


async def group_cancel(message: Message, state: FSMContext) -> None:
    """/cancel in a group: whatever this person was writing is dropped, nothing is sent."""
    if await state.get_state() is None:
        await message.reply(_("There is nothing to cancel."))
        return
    await state.clear()
    await message.reply(_("Cancelled."))


async def command_for_text(message: Message) -> None:
    await message.reply(_("Nothing was sent or saved: this is a command. Write the text in your next message, or "
                          "send /cancel to stop."))


async def staff_command_in_private(message: Message) -> None:
    """A staff group's command sent to the bot in a private chat: say where it works (nothing of any group is
    shown here), and keep whatever dialog the person is in."""
    await message.answer(_("This command works in the staff group of an institution, where the bot is a member. "
                           "Here, in a private chat: /menu, /help."))


def build() -> Router:
    router = Router(name="staff.onboarding")
    router.my_chat_member.register(added, *in_loop((
        F.chat.type.in_(GROUPS), F.old_chat_member.status.in_(OUTSIDE), F.new_chat_member.status.in_(INSIDE))))
    group = in_loop((F.chat.type.in_(GROUPS),))
    router.message.register(group_help, Command("help"), *group, StateFilter("*"))
    router.message.register(group_cancel, Command("cancel"), *group, StateFilter("*"))
    router.message.register(command_for_text, *group, StateFilter("*"), CommandForText())
    router.message.register(staff_command_in_private, Command(*STAFF_COMMANDS),
                            *in_loop((F.chat.type == "private",)), StateFilter("*"))
    return router
