"""Staff groups: binding, the request card's buttons, answers to residents, notes, redirects, the open list."""
from __future__ import annotations

import logging
from typing import Optional

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.utils.i18n import gettext as _

from bot.consult.service import Consultation
from bot.errors import RequestError
from bot.labels import shorten
from bot.requests.models import MAX_DESCRIPTION, Request
from bot.services import Services
from dialogs.common import Routes, h, pack
from dialogs.requests_view import Staff, institution_name
from dialogs.requests_view import group as to_group
from dialogs.resident.inputs import read_input
from dialogs.staff import closing
from dialogs.staff.common import OnCard, StaffContext, StaffMember, reason_text, refusal
from dialogs.staff.consult import relay
from dialogs.staff.membership import bot_membership, member_changed
from dialogs.staff.template_buttons import offer as offer_templates

log = logging.getLogger("bot.staff")
router = Routes("staff", chats=("group", "supergroup"))
class StaffForm(StatesGroup):
    reply = State()
    note = State()
    reason = State()


REASON_LIMIT = 1000  # the most of a redirect's reason (the resident reads it)
OPEN_LISTED = 200  # the most requests /open lists (in as many messages as they take)


def prompt_markup(request_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("❌ Cancel"), callback_data=Staff(action="cancel", rid=request_id).pack())]])


# ----- binding --------------------------------------------------------------------------------------------------

@router.message(Command("bind"))
async def bind(message: Message, command: CommandObject, services: Services) -> None:
    code = (command.args or "").strip()
    if not code:
        await message.answer(_("Send the code from the administrator like this: /bind CODE"))
        return
    try:
        group = await services.groups.bind(message.chat.id, code, title=message.chat.title,
                                           is_forum=bool(message.chat.is_forum), user_id=message.from_user.id)
    except RequestError as exc:
        await message.answer(reason_text(exc.reason))
        return
    view = services.catalogue.communities[group.community]
    name = view.institutions[group.institution_id].name.get(services.settings.default_locale)
    text = "✅ " + _("This group now receives the requests of «{name}».").format(name=h(name))
    if group.is_forum:
        text += "\n" + _("Each request gets its own topic. Write in the topic to answer the resident.")
    else:
        text += "\n" + _("Answer a resident by replying to the request's card. Tip: turn on topics in the group "
                         "settings to keep every request apart.")
    text += "\n" + _("Set how you sign your answers: /role social worker. The open requests: /open.")
    await message.answer(text)
    services.wake_outbox()


@router.message(Command("role"))
async def role(message: Message, command: CommandObject, services: Services, staff: StaffMember) -> None:
    if not await staff.member():
        return
    group = await services.groups.group(message.chat.id)
    if group is None or not group.active:
        await message.answer(reason_text("group_not_bound"))
        return
    text = (command.args or "").strip()[:60]
    if not text:
        current = await staff.label()
        await message.answer(_("Your answers are signed: «{role}». Change it: /role psychologist").format(
            role=h(current)))
        return
    await services.groups.set_staff_role(message.chat.id, message.from_user.id, text, staff.first_name)
    await message.answer(_("Done. Your answers are signed: «{role}».").format(role=h(text)))


@router.message(Command("open"))
async def open_list(message: Message, services: Services) -> None:
    group = await services.groups.group(message.chat.id)
    if group is None or not group.active:
        await message.answer(reason_text("group_not_bound"))
        return
    requests = await services.requests.open_for_institution(group.community, group.institution_id,
                                                            limit=OPEN_LISTED)
    if not requests:
        await message.answer(_("No open requests. Thank you!"))
        return
    entries = to_group.open_entries(services.catalogue, requests, services.requests.clock(), services.settings.tz)
    # as many messages as it takes, split between requests, never inside one
    for text in pack(entries, head=to_group.open_head(len(requests), OPEN_LISTED), sep="\n\n"):
        await message.answer(text)


# ----- the card's buttons ---------------------------------------------------------------------------------------

@router.callback_query(Staff.filter())
async def card_action(query: CallbackQuery, callback_data: Staff, state: FSMContext, services: Services,
                      staff: StaffMember) -> None:
    """A press on a request's card (by a member of the group: see StaffContext)."""
    chat_id = query.message.chat.id
    action = callback_data.action
    if action == "cancel":
        await state.clear()
        await query.answer()
        if query.message.text != _("Cancelled."):  # pressed again: it already says so
            try:
                await query.message.edit_text(_("Cancelled."))
            except TelegramBadRequest as exc:  # two quick taps: the first one has changed it meanwhile
                if "message is not modified" not in str(exc):
                    raise
        return
    try:
        request = await services.requests.for_group(chat_id, callback_data.rid)
    except RequestError as exc:
        await query.answer(reason_text(exc.reason), show_alert=True)
        return
    try:
        await act(query, action, callback_data.arg, request, state, services, staff)
    except RequestError as exc:  # too late or out of date: nothing changed, nothing was sent
        await query.answer(refusal(exc), show_alert=True)
        return
    services.wake_outbox()


async def act(query: CallbackQuery, action: str, arg: str, request: Request, state: FSMContext, services: Services,
              staff: StaffMember) -> None:
    chat_id, user_id = query.message.chat.id, query.from_user.id
    requests = services.requests
    if action == "take":
        await requests.take(chat_id, request.id, user_id, await staff.who())
        await staff.remember_name()
        await query.answer(_("You took request No. {number}.").format(number=request.public_id))
    elif action in ("reply", "note"):
        await state.set_state(StaffForm.reply if action == "reply" else StaffForm.note)
        await state.update_data(rid=request.id)
        await query.answer()
        prompt = (_("Write the answer to the resident in your next message (text, photo, document or voice).")
                  if action == "reply" else
                  _("Write the internal note in your next message. The resident will not see it."))
        markup = prompt_markup(request.id)
        if action == "reply":  # the institution's ready answers under the prompt
            prompt, markup = await offer_templates(services, request, prompt)
        await query.message.answer(prompt, reply_markup=markup)
    elif action == "redirect":
        view = services.catalogue.communities[request.community]
        rows = [[InlineKeyboardButton(text=shorten(inst.short_name.get(services.settings.default_locale), 60),
                                      callback_data=Staff(action="to", rid=request.id, arg=inst.id).pack())]
                for inst in view.model.institutions if inst.id != request.institution_id]
        rows.append([InlineKeyboardButton(text=_("❌ Cancel"), callback_data=Staff(action="cancel",
                                                                                  rid=request.id).pack())])
        await query.answer()
        await query.message.answer(_("Where should request No. {number} go?").format(number=request.public_id),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
    elif action == "to":
        view = services.catalogue.communities[request.community]
        if arg not in view.institutions or arg == request.institution_id:
            raise RequestError("bad_institution")
        await state.set_state(StaffForm.reason)
        await state.update_data(rid=request.id, target=arg)
        await query.answer()
        await query.message.edit_text(
            _("Write in one message why it goes to «{name}». The resident will see this reason.").format(
                name=h(view.institutions[arg].short_name.get(services.settings.default_locale))),
            reply_markup=prompt_markup(request.id),
        )
    elif action in ("resolve", "close"):
        await closing.ask_reason(query, request, services, staff, resolved=action == "resolve")
    elif action == "why":
        await closing.chose_reason(query, request, state, services, staff, arg)
    elif action == "fin":
        await closing.confirm(query, request, state, services, staff, arg)
    elif action == "reopen":
        await requests.reopen(chat_id, request.id, user_id, await staff.who())
        await query.answer(_("The request is back in work."))
    else:
        await query.answer(_("This button is out of date."), show_alert=True)


# ----- messages in the group ------------------------------------------------------------------------------------

@router.message(StaffForm.reply)
@router.message(StaffForm.note)
@router.message(StaffForm.reason)
async def staff_input(message: Message, state: FSMContext, services: Services, staff: StaffMember,
                      event_update: Update) -> None:
    data = await state.get_data()
    if await to_another_card(message, services, staff, event_update, int(data.get("rid") or 0)):
        return  # what was awaited still waits
    current = await state.get_state()
    await state.clear()
    request_id = int(data.get("rid") or 0)
    label = await staff.label()
    text = message.text or message.caption or ""
    try:
        if current == StaffForm.note.state:
            if not text:
                await message.reply(_("A note is text only. Please press «Note» again and write it."))
                return
            await services.requests.note(message.chat.id, request_id, message.from_user.id, label,
                                         text[:MAX_DESCRIPTION])
            await message.reply("📝 " + _("Note saved. The resident does not see it."))
        elif current == StaffForm.reason.state:
            if not text:
                await message.reply(_("Please write the reason in words."))
                return
            if len(text) > REASON_LIMIT:  # the resident reads it: never cut, asked again
                await state.set_state(current)
                await state.set_data(data)
                await message.reply(closing.longer_than(REASON_LIMIT))
                return
            request = await services.requests.redirect(message.chat.id, request_id, message.from_user.id, label,
                                                       data.get("target", ""), text)
            await message.reply("↪️ " + _("Request No. {number} went to «{name}». The resident is told.").format(
                number=request.public_id, name=h(institution_name(services.catalogue, request))))
        else:
            await answer_resident(message, services, request_id, label, event_update, await staff.who())
    except RequestError as exc:
        await message.reply(refusal(exc, html=True))
        return
    services.wake_outbox()


async def answer_resident(message: Message, services: Services, request_id: int, label: str,
                          event_update: Update, who: Optional[str] = None) -> None:
    text, files, problem = read_input(message, 4000, max_bytes=None)
    if problem == "empty":
        await message.reply(_("Only text, photos, documents and voice messages reach the resident."))
        return
    if problem:
        await message.reply(_("The answer is longer than 4000 characters; please split it into two messages."))
        return
    try:
        await services.requests.reply(message.chat.id, request_id, message.from_user.id, label, text, files,
                                      update_id=event_update.update_id, who=who)
    except RequestError as exc:
        if exc.reason == "duplicate":
            return
        raise
    await message.reply("📨 " + _("Sent to the resident."))


@router.message(closing.Closing.other)
async def other_words(message: Message, state: FSMContext, services: Services, staff: StaffMember,
                      event_update: Update) -> None:
    """The words of «Other» when resolving or closing: then the confirmation."""
    if await to_another_card(message, services, staff, event_update, int((await state.get_data()).get("rid") or 0)):
        return
    try:
        await closing.other_words(message, state, services, staff)
    except RequestError as exc:
        await state.clear()
        await message.reply(refusal(exc, html=True))


@router.message(F.message_thread_id | F.reply_to_message, ~F.text.startswith("/"), StateFilter(None), OnCard())
async def on_card(message: Message, services: Services, staff: StaffMember, event_update: Update,
                  request: Optional[Request], consultation: Optional[Consultation]) -> None:
    """Writing in a request's (or a consultation's) topic, or replying to its card in a group without topics,
    answers the resident; only a member of the group does."""
    if (request is None and consultation is None) or not await staff.member():
        return
    await to_card(message, services, staff, event_update, request, consultation)


async def to_another_card(message: Message, services: Services, staff: StaffMember, event_update: Update,
                          awaited: int) -> bool:
    """In a group without topics a text is awaited for one request (an answer, a note, a reason, the words of
    «Other»), and the staff member replies to another request's or a consultation's card instead: the reply is for
    that card, as it would be without anything awaited (in a forum each topic awaits on its own: bot/app.py).
    Returns whether the message was taken so."""
    if message.message_thread_id or message.reply_to_message is None:
        return False
    found = await OnCard()(message, services)
    request, consultation = (found["request"], found["consultation"]) if found else (None, None)
    if (request is None or request.id == awaited) and consultation is None:
        return False
    await to_card(message, services, staff, event_update, request, consultation)
    return True


async def to_card(message: Message, services: Services, staff: StaffMember, event_update: Update,
                  request: Optional[Request], consultation: Optional[Consultation]) -> None:
    if consultation is not None:
        await relay(message, services, consultation, event_update)
        return
    try:
        await answer_resident(message, services, request.id, await staff.label(), event_update, await staff.who())
    except RequestError as exc:
        await message.reply(reason_text(exc.reason))
        return
    services.wake_outbox()


def build() -> Router:
    built = router.build()
    built.message.middleware(StaffContext())
    built.callback_query.middleware(StaffContext())
    built.chat_member.register(member_changed)
    built.my_chat_member.register(bot_membership, F.chat.type.in_({"group", "supergroup"}))
    return built


# ----- the administrator's binding codes ------------------------------------------------------------------------

admin = Routes("admin.bind", chats=None)
HERE = ("here", "тут")


@admin.message(Command("bind_code"))
async def bind_code(message: Message, command: CommandObject, services: Services) -> None:
    if not services.is_admin(message.from_user.id):
        await message.answer(_("This command is for the community's administrators."))
        return
    if message.chat.type != "private" and message.chat.id != services.settings.admin_chat_id:
        # a code binds any group to the institution: it is not shown where others read it
        await message.answer(_("Please use this command in a private chat with the bot."))
        return
    args = (command.args or "").split()
    here = bool(args) and args[-1].lower() in HERE
    if here:
        args = args[:-1]
    if message.chat.type != "private" and not here and len(args) >= 1:
        # the administrators' chat is shared: the code is a key, so it is shown there only when asked for there
        await message.answer(_("The code is a key: anyone who reads it can bind a group to the institution. Send "
                               "/bind_code in a private chat with the bot, or, to show it in this chat, add "
                               "«here»: <code>/bind_code COMMUNITY INSTITUTION here</code>"))
        return
    served = services.served
    if len(args) == 1 and len(served) == 1:
        args = [served[0], args[0]]
    if len(args) != 2 or args[0] not in services.catalogue.communities:
        lines = []
        loc = services.settings.default_locale
        for slug in served:
            for inst in services.catalogue.communities[slug].model.institutions:
                lines.append(f"<code>{h(slug)} {h(inst.id)}</code> — {h(inst.short_name.get(loc))}")
        for text in pack(lines, head=_("Usage: /bind_code COMMUNITY INSTITUTION. Institutions:")):
            await message.answer(text)
        return
    try:
        code = await services.groups.create_bind_code(args[0], args[1], message.from_user.id)
    except RequestError as exc:
        await message.answer(reason_text(exc.reason))
        return
    await message.answer(
        _("The code for «{name}»: <code>{code}</code>\nAdd the bot to the institution's group (as an administrator "
          "if the group has topics) and send there: <code>/bind {code}</code>\nThe code works once, for 48 hours.")
        .format(name=h(services.catalogue.communities[args[0]].institutions[args[1]].name.get(
            services.settings.default_locale)), code=code)
    )
