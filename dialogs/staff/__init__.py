"""Staff groups: binding, the request card's buttons, answers to residents, notes, redirects, the open list."""
from __future__ import annotations

import logging
import time
from typing import Optional

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.utils.i18n import gettext as _

from bot.requests.models import MAX_DESCRIPTION, Request
from bot.requests.service import RequestError
from bot.services import Services
from dialogs.common import N_, Entry, Routes, h, pack
from dialogs.requests_view import Staff, institution_name, status_label, topic_of
from dialogs.resident.requests import read_input
from dialogs.staff.membership import bot_membership

log = logging.getLogger("bot.staff")
router = Routes("staff", chats=("group", "supergroup"))
MEMBER_STATUSES = {"creator", "administrator", "member", "restricted"}

REASONS = {
    "group_not_bound": N_("This group is not bound to an institution. An administrator gives a code: /bind CODE."),
    "other_institution": N_("This request belongs to another institution; this group cannot act on it."),
    "taken_by_other": N_("A colleague has already taken this request."),
    "closed": N_("This request is already finished."),
    "not_finished": N_("This request is still open."),
    "no_resident": N_("The resident deleted their data or reported anonymously: there is nobody to answer."),
    "bad_institution": N_("This institution cannot receive the request."),
    "not_found": N_("Request not found."),
    "not_staff": N_("Only members of this group act for the institution."),
    "bad_code": N_("This code is not known. Ask the administrator for a new one."),
    "used_code": N_("This code was already used. Ask the administrator for a new one."),
    "expired_code": N_("This code has expired. Ask the administrator for a new one."),
    "bind_locked": N_("Too many wrong codes were sent here. Please wait an hour and ask the administrator for a "
                      "new code."),
    "taken_by_you": N_("This request is already yours."),
    "withdrawn": N_("The resident has withdrawn this request."),
    "redirected": N_("This request has already been passed to another institution."),
    "reopened": N_("This request is already back in work."),
}
# the same refusals when the service knows which colleague was first (as the card shows them)
REASONS_WHO = {
    "taken_by_other": N_("{who} has already taken this request."),
    "closed": N_("{who} has already finished this request."),
    "redirected": N_("{who} has already passed this request to another institution."),
    "reopened": N_("{who} has already taken this request back into work."),
}
ANSWER_LIMIT = 200  # Telegram's limit for the text of an answer to a button press


class StaffForm(StatesGroup):
    reply = State()
    note = State()
    reason = State()


def reason_text(reason: str) -> str:
    return _(REASONS.get(reason, N_("This action is not possible now.")))


def refusal(exc: RequestError, *, html: bool = False, who_texts: Optional[dict[str, str]] = None,
            texts: Optional[dict[str, str]] = None) -> str:
    """Why a press or a message changed nothing, naming the colleague who was first when the service knows
    them. `html`: for a message (the name escaped); else for the answer to a button press (plain, short)."""
    who_texts = REASONS_WHO if who_texts is None else who_texts
    if exc.who and exc.reason in who_texts:
        text = _(who_texts[exc.reason]).format(who=h(exc.who) if html else exc.who)
    elif texts and exc.reason in texts:
        text = _(texts[exc.reason])
    else:
        text = reason_text(exc.reason)
    return text if html or len(text) <= ANSWER_LIMIT else text[:ANSWER_LIMIT - 1] + "…"


OPEN_LISTED = 200  # the most requests /open lists (in as many messages as they take)
MEMBER_TTL = 60.0  # seconds a "yes, a member" answer is trusted; a removed member loses access within a minute


async def is_member(bot: Bot, chat_id: int, user_id: int, services: Services) -> bool:
    """Whether Telegram says the user belongs to the staff group (a positive answer is kept for a minute, so
    a busy consultation does not ask Telegram before every message)."""
    cache = services.members_until
    if cache.get((chat_id, user_id), 0.0) > time.monotonic():
        return True
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError:
        return False
    # a "restricted" person may have left the group already: only one who is still in it is staff
    ok = member.status in MEMBER_STATUSES and (member.status != "restricted" or bool(getattr(member, "is_member",
                                                                                              False)))
    if ok:
        cache[(chat_id, user_id)] = time.monotonic() + MEMBER_TTL
    else:
        cache.pop((chat_id, user_id), None)
    return ok


async def label_of(services: Services, chat_id: int, user_id: int) -> str:
    role = await services.requests.staff_role(chat_id, user_id)
    return role or _("specialist")


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
        group = await services.requests.bind(message.chat.id, code, title=message.chat.title,
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
async def role(message: Message, command: CommandObject, services: Services, bot: Bot) -> None:
    if not await is_member(bot, message.chat.id, message.from_user.id, services):
        return
    group = await services.requests.group(message.chat.id)
    if group is None or not group.active:
        await message.answer(reason_text("group_not_bound"))
        return
    text = (command.args or "").strip()[:60]
    if not text:
        current = await label_of(services, message.chat.id, message.from_user.id)
        await message.answer(_("Your answers are signed: «{role}». Change it: /role psychologist").format(
            role=h(current)))
        return
    await services.requests.set_staff_role(message.chat.id, message.from_user.id, text)
    await message.answer(_("Done. Your answers are signed: «{role}».").format(role=h(text)))


@router.message(Command("open"))
async def open_list(message: Message, services: Services) -> None:
    group = await services.requests.group(message.chat.id)
    if group is None or not group.active:
        await message.answer(reason_text("group_not_bound"))
        return
    requests = await services.requests.open_for_institution(group.community, group.institution_id,
                                                            limit=OPEN_LISTED)
    if not requests:
        await message.answer(_("No open requests. Thank you!"))
        return
    head = "<b>" + _("Open requests: {n}").format(n=len(requests)) + "</b>"
    if len(requests) == OPEN_LISTED:
        head += "\n" + _("The first {n} are listed, the urgent and the oldest first.").format(n=OPEN_LISTED)
    # as many messages as it takes, split between requests, never inside one
    for text in pack(open_entries(services, requests), head=head, sep="\n\n"):
        await message.answer(text)


def open_entries(services: Services, requests: list[Request]) -> list[Entry]:
    """One entry of /open per request: number, status, who has it, and what it is about."""
    entries = []
    for r in requests:
        mark = "🔴 " if r.urgent else ""
        who = f" · {h(r.assignee_label)}" if r.assignee_label else ""
        entries.append(Entry(f"{mark}№ {r.public_id} · {status_label(r.status)}{who}", topic_of(services.catalogue, r)))
    return entries


# ----- the card's buttons ---------------------------------------------------------------------------------------

@router.callback_query(Staff.filter())
async def card_action(query: CallbackQuery, callback_data: Staff, state: FSMContext, services: Services,
                      bot: Bot) -> None:
    chat_id = query.message.chat.id
    user_id = query.from_user.id
    if not await is_member(bot, chat_id, user_id, services):
        await query.answer(reason_text("not_staff"), show_alert=True)
        return
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
    label = await label_of(services, chat_id, user_id)
    try:
        await act(query, action, callback_data.arg, request, state, services, label)
    except RequestError as exc:  # too late or out of date: nothing changed, nothing was sent
        await query.answer(refusal(exc), show_alert=True)
        return
    services.wake_outbox()


async def act(query: CallbackQuery, action: str, arg: str, request: Request, state: FSMContext, services: Services,
              label: str) -> None:
    chat_id, user_id = query.message.chat.id, query.from_user.id
    requests = services.requests
    if action == "take":
        await requests.take(chat_id, request.id, user_id, label)
        await query.answer(_("You took request No. {number}.").format(number=request.public_id))
    elif action in ("reply", "note"):
        await state.set_state(StaffForm.reply if action == "reply" else StaffForm.note)
        await state.update_data(rid=request.id)
        await query.answer()
        prompt = (_("Write the answer to the resident in your next message (text, photo, document or voice).")
                  if action == "reply" else
                  _("Write the internal note in your next message. The resident will not see it."))
        await query.message.answer(prompt, reply_markup=prompt_markup(request.id))
    elif action == "redirect":
        view = services.catalogue.communities[request.community]
        rows = [[InlineKeyboardButton(text=inst.short_name.get(services.settings.default_locale)[:60],
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
        await requests.finish(chat_id, request.id, user_id, label, resolved=action == "resolve")
        await query.answer(_("Done. The resident is told and asked to rate the help."))
    elif action == "reopen":
        await requests.reopen(chat_id, request.id, user_id, label)
        await query.answer(_("The request is back in work."))
    else:
        await query.answer(_("This button is out of date."), show_alert=True)


# ----- messages in the group ------------------------------------------------------------------------------------

@router.message(StaffForm.reply)
@router.message(StaffForm.note)
@router.message(StaffForm.reason)
async def staff_input(message: Message, state: FSMContext, services: Services, bot: Bot,
                      event_update: Update) -> None:
    data = await state.get_data()
    current = await state.get_state()
    await state.clear()
    request_id = int(data.get("rid") or 0)
    label = await label_of(services, message.chat.id, message.from_user.id)
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
            request = await services.requests.redirect(message.chat.id, request_id, message.from_user.id, label,
                                                       data.get("target", ""), text[:1000])
            await message.reply("↪️ " + _("Request No. {number} went to «{name}». The resident is told.").format(
                number=request.public_id, name=h(institution_name(services.catalogue, request))))
        else:
            await answer_resident(message, services, request_id, label, event_update)
    except RequestError as exc:
        await message.reply(refusal(exc, html=True))
        return
    services.wake_outbox()


async def answer_resident(message: Message, services: Services, request_id: int, label: str,
                          event_update: Update) -> None:
    text, files, problem = read_input(message, 4000, max_bytes=None)
    if problem == "empty":
        await message.reply(_("Only text, photos, documents and voice messages reach the resident."))
        return
    if problem:
        await message.reply(_("The answer is longer than 4000 characters; please split it into two messages."))
        return
    try:
        await services.requests.reply(message.chat.id, request_id, message.from_user.id, label, text, files,
                                      update_id=event_update.update_id)
    except RequestError as exc:
        if exc.reason == "duplicate":
            return
        raise
    await message.reply("📨 " + _("Sent to the resident."))


@router.message(F.message_thread_id, ~F.text.startswith("/"), StateFilter(None))
async def topic_message(message: Message, services: Services, bot: Bot, event_update: Update) -> None:
    """Writing in a request's topic answers the resident."""
    if not (message.text or message.photo or message.document or message.voice) or message.from_user.is_bot:
        return
    request = await services.requests.by_thread(message.chat.id, message.message_thread_id)
    if request is not None:
        await relay_from_group(message, services, bot, request, event_update)
        return
    consultation = await services.consult.by_thread(message.chat.id, message.message_thread_id)
    if consultation is not None:
        from dialogs.staff.consult import relay

        await relay(message, services, bot, consultation, event_update)


@router.message(F.reply_to_message, ~F.text.startswith("/"), StateFilter(None))
async def reply_to_card(message: Message, services: Services, bot: Bot, event_update: Update) -> None:
    """Replying to a request's card (in a group without topics) answers the resident."""
    request = await services.requests.by_card(message.chat.id, message.reply_to_message.message_id)
    if request is not None:
        await relay_from_group(message, services, bot, request, event_update)
        return
    consultation = await services.consult.by_card(message.chat.id, message.reply_to_message.message_id)
    if consultation is not None:
        from dialogs.staff.consult import relay

        await relay(message, services, bot, consultation, event_update)


async def relay_from_group(message: Message, services: Services, bot: Bot, request: Request,
                           event_update: Update) -> None:
    if not await is_member(bot, message.chat.id, message.from_user.id, services):
        return
    label = await label_of(services, message.chat.id, message.from_user.id)
    try:
        await answer_resident(message, services, request.id, label, event_update)
    except RequestError as exc:
        await message.reply(reason_text(exc.reason))
        return
    services.wake_outbox()


async def member_changed(event: ChatMemberUpdated, services: Services) -> None:
    """Someone left the group or was removed from it: the trusted "member" answer is dropped at once. (Telegram
    tells a bot about others' membership only where the bot is an administrator; elsewhere the answer runs out
    within MEMBER_TTL.)"""
    if event.new_chat_member.status not in MEMBER_STATUSES or (
            event.new_chat_member.status == "restricted" and not getattr(event.new_chat_member, "is_member", True)):
        services.members_until.pop((event.chat.id, event.new_chat_member.user.id), None)


def build() -> Router:
    built = router.build()
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
        code = await services.requests.create_bind_code(args[0], args[1], message.from_user.id)
    except RequestError as exc:
        await message.answer(reason_text(exc.reason))
        return
    await message.answer(
        _("The code for «{name}»: <code>{code}</code>\nAdd the bot to the institution's group (as an administrator "
          "if the group has topics) and send there: <code>/bind {code}</code>\nThe code works once, for 48 hours.")
        .format(name=h(services.catalogue.communities[args[0]].institutions[args[1]].name.get(
            services.settings.default_locale)), code=code)
    )
