"""Ready answers (reply templates) in a staff group: /templates lists the institution's, and staff add, change and
remove them there; «💬 Answer» on a card offers them (dialogs/staff/template_buttons.py), and a chosen one is shown
to copy and change, or sent as it is. Every button's template is looked up with the group's institution, so a
template of another institution (a forged button) is refused."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, Update
from aiogram.utils.i18n import gettext as _

from bot.errors import RequestError
from bot.groups.models import Group
from bot.groups.templates import MAX_TEMPLATE_TEXT, Template
from bot.services import Services
from dialogs.common import MESSAGE_LIMIT, N_, Entry, Routes, h, pack, shown_length, split_plain
from dialogs.staff import StaffForm, to_another_card
from dialogs.staff.common import StaffContext, StaffMember, reason_text, refusal
from dialogs.staff.template_buttons import Tpl, button

router = Routes("staff.templates", chats=("group", "supergroup"))

TEXTS = {
    "template_gone": N_("This ready answer is no longer there. The current ones: /templates"),
    "template_empty": N_("A ready answer is text only. Please write it in words."),
    "template_too_long": N_("This is longer than 4000 characters; please make it shorter."),
    "templates_full": N_("The group keeps at most 30 ready answers. Please remove one first: /templates"),
    "out_of_date": N_("This button is out of date."),
}
# the «Send as is» messages being sent right now (chat, message): two taps at once send once
SENDING: set[tuple[int, int]] = set()


class TemplateForm(StatesGroup):
    text = State()


def why(exc: RequestError) -> str:
    return refusal(exc, texts=TEXTS)


def cancel_row() -> list:
    return [button(_("❌ Cancel"), "cancel")]


async def bound_group(services: Services, chat_id: int) -> Group:
    return await services.groups.bound(chat_id)


async def show_text(message: Message, lead: str, text: str, tag: str, rest: str,
                    markup: InlineKeyboardMarkup) -> None:
    """`lead`, a template's text in `tag` (pre: tapped to copy; blockquote) and `rest` with the buttons: one message
    when it fits, else the text split over as many as it takes (a ready answer may hold 4000 characters), the
    buttons under the last one."""
    room = MESSAGE_LIMIT - shown_length(lead) - shown_length(rest) - 2
    pieces = [f"<{tag}>{h(piece)}</{tag}>" for piece in split_plain(text, room)]
    pieces[0] = f"{lead}\n{pieces[0]}"
    pieces[-1] = "\n".join(part for part in (pieces[-1], rest) if part)
    for piece in pieces[:-1]:
        await message.answer(piece)
    await message.answer(pieces[-1], reply_markup=markup)


# ----- /templates ---------------------------------------------------------------------------------------------

@router.message(Command("templates"))
async def templates_list(message: Message, services: Services, staff: StaffMember) -> None:
    if not await staff.member():
        return
    try:
        group = await bound_group(services, message.chat.id)
    except RequestError as exc:
        await message.answer(reason_text(exc.reason))
        return
    await show_list(message, services, group)


async def show_list(message: Message, services: Services, group: Group) -> None:
    templates = await services.templates.of(group.community, group.institution_id)
    head = "<b>" + _("Ready answers of the group: {n}").format(n=len(templates)) + "</b>\n" + _(
        "«💬 Answer» on a request's card offers them; the text can be changed before it is sent. "
        "✏️ changes one, 🗑 removes it, ➕ adds a new one.")
    entries = [Entry(f"<b>{i}.</b>", t.text) for i, t in enumerate(templates, 1)]
    rows = [[button(f"✏️ {i}", "edit", t.id), button(f"🗑 {i}", "remove", t.id)] for i, t in enumerate(templates, 1)]
    rows.append([button(_("➕ Add a ready answer"), "add")])
    texts = pack(entries, head=head, sep="\n\n") if entries else [head]
    for text in texts[:-1]:
        await message.answer(text)
    await message.answer(texts[-1], reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


@router.message(TemplateForm.text, ~F.text.startswith("/"))  # a command answers (or is refused: onboarding.py)
async def template_text(message: Message, state: FSMContext, services: Services, staff: StaffMember,
                        event_update: Update) -> None:
    """The text of a new ready answer, or the new text of one being changed (a reply to a card, in a group without
    topics, is for that card instead)."""
    if await to_another_card(message, services, staff, event_update, 0):
        return
    data = await state.get_data()
    await state.clear()
    if not await staff.member():
        return
    try:
        group = await bound_group(services, message.chat.id)
        if not message.text:
            raise RequestError("template_empty")
        tid = int(data.get("tid") or 0)
        if tid:
            await services.templates.edit(group.community, group.institution_id, tid, message.text)
        else:
            await services.templates.add(group.community, group.institution_id, message.text, message.from_user.id)
    except RequestError as exc:
        await message.reply(why(exc))
        return
    await message.reply("✅ " + _("The ready answer is saved. All of them: /templates"))


# ----- the buttons ----------------------------------------------------------------------------------------------

@router.callback_query(Tpl.filter())
async def template_button(query: CallbackQuery, callback_data: Tpl, state: FSMContext, services: Services,
                          staff: StaffMember) -> None:
    """A press under /templates or under «Answer» (by a member of the group: see StaffContext)."""
    try:
        group = await bound_group(services, query.message.chat.id)
        action = callback_data.action
        if action == "cancel":
            await cancel(query, state)
        elif action == "add":
            await state.set_state(TemplateForm.text)
            await state.update_data(tid=0)
            await query.answer()
            await query.message.answer(_("Write the text of the new ready answer in your next message. Mark with "
                                         "«…» what is filled in each time."),
                                       reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))
        elif action in ("edit", "remove", "drop"):
            template = await services.templates.get(group.community, group.institution_id, callback_data.tid)
            await manage(query, state, services, group, template, action)
        elif action in ("use", "send"):
            template = await services.templates.get(group.community, group.institution_id, callback_data.tid)
            await use(query, state, services, staff, template, callback_data)
        else:
            raise RequestError("out_of_date")
    except RequestError as exc:
        await query.answer(why(exc), show_alert=True)


async def cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()  # the ready answer being written, or the answer being sent
    await query.answer()
    try:
        await query.message.edit_text(_("Cancelled."))
    except TelegramBadRequest as exc:  # pressed twice: it says so already
        if "message is not modified" not in str(exc):
            raise


async def manage(query: CallbackQuery, state: FSMContext, services: Services, group: Group, template: Template,
                 action: str) -> None:
    if action == "edit":
        await state.set_state(TemplateForm.text)
        await state.update_data(tid=template.id)
        await query.answer()
        await show_text(query.message, _("The ready answer now (tap it to copy):"), template.text, "pre",
                        _("Write its new text in your next message."),
                        InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))
    elif action == "remove":
        await query.answer()
        await show_text(query.message, _("Remove this ready answer?"), template.text, "blockquote", "",
                        InlineKeyboardMarkup(inline_keyboard=[[button(_("🗑 Remove"), "drop", template.id)],
                                                              cancel_row()]))
    else:
        await services.templates.remove(group.community, group.institution_id, template.id)
        await query.answer(_("Removed."))
        await query.message.edit_text("🗑 " + _("The ready answer is removed. The rest: /templates"))


async def use(query: CallbackQuery, state: FSMContext, services: Services, staff: StaffMember, template: Template,
              callback_data: Tpl) -> None:
    """«📋 …» under «Answer»: the text is shown to copy and change, with «Send as is»; the next message the staff
    member writes is the answer (dialogs/staff/__init__.py). «Send as is» sends the text shown, once."""
    chat_id = query.message.chat.id
    request = await services.requests.for_group(chat_id, callback_data.rid)
    if request.resident_id is None:
        raise RequestError("no_resident")
    if callback_data.action == "use":
        await state.set_state(StaffForm.reply)
        await state.update_data(rid=request.id, tid=template.id)
        await query.answer()
        await show_text(
            query.message,
            _("Ready answer for request No. {number} (tap the text to copy it):").format(number=request.public_id),
            template.text, "pre",
            _("Send it as is, or write your changed version in your next message: the resident gets what you "
              "send."),
            InlineKeyboardMarkup(inline_keyboard=[[button(_("✅ Send as is"), "send", template.id, request.id)],
                                                  [button(_("❌ Cancel"), "cancel")]]))
        return
    offer_key = (chat_id, query.message.message_id)
    if offer_key in SENDING:  # a second tap while the first is being sent
        raise RequestError("out_of_date")
    SENDING.add(offer_key)
    try:
        data = await state.get_data()
        if await state.get_state() != StaffForm.reply.state or data.get("rid") != request.id \
                or data.get("tid") != template.id:
            raise RequestError("out_of_date")  # sent already, cancelled, or another answer was started since
        await state.clear()
        await services.requests.reply(chat_id, request.id, query.from_user.id, await staff.label(),
                                      template.text[:MAX_TEMPLATE_TEXT])
    finally:
        SENDING.discard(offer_key)
    services.wake_outbox()
    await query.answer("📨 " + _("Sent to the resident."))
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer("📨 " + _("Sent to the resident."))


def build() -> Router:
    built = router.build()
    built.message.middleware(StaffContext())
    built.callback_query.middleware(StaffContext())
    return built

