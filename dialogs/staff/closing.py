"""Resolving or closing a request: a reason chosen from a short list (the words of «Other» written in one
message), then a confirmation; a member who did not take the request is asked whether to finish a colleague's.

Every button carries the request and the state it was made for (`Request.version`): once the request changed
(taken, finished, answered, passed on) the button is refused and nothing changes; a second press of the
confirmation finds the request finished and is told by whom."""
from __future__ import annotations

import re
from typing import Optional

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.errors import RequestError
from bot.requests.models import FINISH_REASONS, Request
from bot.services import Services
from dialogs.common import h
from dialogs.requests_view import Staff, finish_sentence, reason_label
from dialogs.staff.common import StaffMember

OTHER_LIMIT = 500  # the most of the words of «Other» (the resident reads them)
ARG = re.compile(r"^([rc])\.([a-z_]+)\.([0-9a-f]{8})$")


class Closing(StatesGroup):
    other = State()  # the words of «Other»


def longer_than(limit: int) -> str:
    """A reason the resident would read is too long: the step waits for a shorter one."""
    return ngettext("This is longer than {limit} character: the resident would not read all of it. Please write "
                    "it shorter in your next message.",
                    "This is longer than {limit} characters: the resident would not read all of it. Please write "
                    "it shorter in your next message.", limit).format(limit=limit)


def parse(arg: str) -> tuple[bool, str, str]:
    """(resolved, reason, version) from a button's data; anything else is refused."""
    found = ARG.match(arg or "")
    if not found or found.group(2) not in FINISH_REASONS:
        raise RequestError("bad_reason")
    return found.group(1) == "r", found.group(2), found.group(3)


def still(request: Request, version: str) -> None:
    """The request is as it was when the button was made."""
    if not request.status.open:
        raise RequestError("closed")
    if request.version != version:
        raise RequestError("changed")


async def colleague(services: Services, request: Request, staff: StaffMember) -> Optional[str]:
    """Who has the request, when it is someone other than the one pressing: their first name, else the label."""
    if request.assignee_id is None or request.assignee_id == staff.user_id:
        return None
    return await services.groups.staff_first_name(staff.chat_id, request.assignee_id) or request.assignee_label


def question(resolved: bool, request: Request, other: Optional[str]) -> str:
    if other:
        text = (_("Mark as resolved the request that {who} is handling?") if resolved else
                _("Close the request that {who} is handling?")).format(who=h(other))
        return "⚠️ <b>" + text + "</b>\n"
    return ""


def cancel_row(request: Request) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=_("❌ Cancel"), callback_data=Staff(action="cancel", rid=request.id).pack())]


async def ask_reason(query: CallbackQuery, request: Request, services: Services, staff: StaffMember,
                     resolved: bool) -> None:
    """«✅ Resolved» or «☑️ Close» on a card: the reasons to choose from."""
    if not request.status.open:
        raise RequestError("closed")
    kind = "r" if resolved else "c"
    text = question(resolved, request, await colleague(services, request, staff))
    text += (_("Why is request No. {number} resolved?") if resolved else
             _("Why is request No. {number} closed?")).format(number=request.public_id)
    text += "\n" + _("The resident will be told in plain words.")
    buttons = [InlineKeyboardButton(text=reason_label(reason), callback_data=Staff(
        action="why", rid=request.id, arg=f"{kind}.{reason}.{request.version}").pack()) for reason in FINISH_REASONS]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)] + [cancel_row(request)]
    await query.answer()
    await query.message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


def confirmation(request: Request, resolved: bool, reason: str, version: str, other: Optional[str],
                 words: Optional[str]) -> tuple[str, InlineKeyboardMarkup]:
    text = question(resolved, request, other)
    text += (_("Mark request No. {number} as resolved? Reason: {reason}.") if resolved else
             _("Close request No. {number}? Reason: {reason}.")).format(number=request.public_id,
                                                                       reason=reason_label(reason))
    told = finish_sentence(reason, words)
    text += "\n" + _("The resident will read: {text}").format(text=f"<i>{told}</i>")
    kind = "r" if resolved else "c"
    yes = InlineKeyboardButton(text=_("✅ Yes, resolved") if resolved else _("✅ Yes, close"), callback_data=Staff(
        action="fin", rid=request.id, arg=f"{kind}.{reason}.{version}").pack())
    return text, InlineKeyboardMarkup(inline_keyboard=[[yes], cancel_row(request)])


async def chose_reason(query: CallbackQuery, request: Request, state: FSMContext, services: Services,
                       staff: StaffMember, arg: str) -> None:
    """A reason was chosen: the confirmation, or, for «Other», the request for the words first."""
    resolved, reason, version = parse(arg)
    still(request, version)
    await query.answer()
    if reason == "other":
        await state.set_state(Closing.other)
        await state.update_data(rid=request.id, arg=arg)
        await query.message.edit_text(_("Write the reason in one message. The resident will read it."),
                                      reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row(request)]))
        return
    text, markup = confirmation(request, resolved, reason, version, await colleague(services, request, staff), None)
    await query.message.edit_text(text, reply_markup=markup)


async def other_words(message: Message, state: FSMContext, services: Services, staff: StaffMember) -> None:
    """The words of «Other»: kept with the press they belong to, then the confirmation."""
    data = await state.get_data()
    words = " ".join((message.text or "").split())
    if not words:
        await message.reply(_("Please write the reason in words."))
        return
    if len(words) > OTHER_LIMIT:  # the resident reads them: never cut, asked again
        await message.reply(longer_than(OTHER_LIMIT))
        return
    await state.set_state(None)
    await state.update_data(other=words)
    request = await services.requests.for_group(message.chat.id, int(data.get("rid") or 0))
    resolved, reason, version = parse(str(data.get("arg") or ""))
    still(request, version)
    text, markup = confirmation(request, resolved, reason, version, await colleague(services, request, staff), words)
    await message.reply(text, reply_markup=markup)


async def confirm(query: CallbackQuery, request: Request, state: FSMContext, services: Services,
                  staff: StaffMember, arg: str) -> None:
    """«Yes»: finished with the reason, once."""
    resolved, reason, version = parse(arg)
    words = None
    if reason == "other":
        data = await state.get_data()
        words = data.get("other") if data.get("rid") == request.id and data.get("arg") == arg else None
        if not words:
            raise RequestError("changed")
    await services.requests.finish(query.message.chat.id, request.id, staff.user_id, await staff.who(),
                                   resolved=resolved, text=words, reason=reason, version=version)
    if words:
        await state.clear()
    await query.answer(_("Done. The resident is told."))
    done = (_("✅ Request No. {number} is resolved: {reason}.") if resolved else
            _("☑️ Request No. {number} is closed: {reason}.")).format(number=request.public_id,
                                                                      reason=reason_label(reason))
    await query.message.edit_text(done)
