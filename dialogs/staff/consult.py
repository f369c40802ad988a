"""Specialists on the consultation line: take, chat through the topic, note, transfer, turn into a request, end."""
from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from aiogram.utils.i18n import gettext as _

from bot.consult.service import Consultation
from bot.errors import RequestError
from bot.labels import shorten
from bot.services import Services
from dialogs.common import N_, Routes
from dialogs.consult_view import Spec
from dialogs.consult_view import group as group_view
from dialogs.resident.inputs import read_input
from dialogs.staff.common import StaffContext, StaffMember, reason_text, refusal

router = Routes("staff.consult", chats=("group", "supergroup"))

REASONS = {
    "not_taken": N_("Press «Take» first: then your messages reach the resident."),
    "bad_topic": N_("This topic is not known."),
    "taken_by_you": N_("This consultation is already yours."),
    "closed": N_("This consultation is already ended."),
    "transferred": N_("This consultation has already been passed on."),
}
# a press that came too late, when the service knows who was first (as the card shows them)
REASONS_WHO = {
    "taken_by_other": N_("{who} has already taken it."),
    "closed": N_("{who} has already ended this consultation."),
}


class SpecForm(StatesGroup):
    note = State()


def why(reason: str) -> str:
    return _(REASONS[reason]) if reason in REASONS else reason_text(reason)


def specialist_label(role: str, first_name: str) -> str:
    """Residents see the role and the first name only."""
    return f"{role} {first_name}".strip()[:80]


@router.callback_query(Spec.filter())
async def card_action(query: CallbackQuery, callback_data: Spec, state: FSMContext, services: Services,
                      staff: StaffMember, event_update: Update) -> None:
    """A press on a consultation's card (by a member of the group: see StaffContext)."""
    chat_id, user = query.message.chat.id, query.from_user
    consult = services.consult
    try:
        consultation = await consult.for_group(chat_id, callback_data.cid)
        action, arg = callback_data.action, callback_data.arg
        if action == "take":
            role = await staff.label()
            await consult.take(chat_id, consultation.id, user.id, specialist_label(role, user.first_name))
            await query.answer(_("It is yours. Write in this topic: the resident gets your messages."))
        elif action == "note":
            await state.set_state(SpecForm.note)
            await state.update_data(cid=consultation.id)
            await query.answer()
            await query.message.answer(_("Write the internal note in your next message. The resident will not "
                                         "see it."))
        elif action == "transfer":
            await query.answer()
            await query.message.answer(_("Where should the consultation go?"),
                                       reply_markup=transfer_keyboard(services, consultation))
        elif action == "to_topic":
            await consult.transfer(chat_id, consultation.id, topic=arg)
            await query.answer(_("Transferred. The resident is told."))
        elif action == "to_inst":
            await consult.transfer(chat_id, consultation.id, institution_id=arg)
            await query.answer(_("Transferred. The resident is told."))
        elif action == "convert":
            role = await staff.label()
            request = await consult.convert(chat_id, consultation.id, user.id, role, update_id=event_update.update_id)
            await query.answer(_("Request No. {number} is created with the transcript.").format(
                number=request.public_id), show_alert=True)
        elif action == "end":
            await consult.end_by_specialist(chat_id, consultation.id, update_id=event_update.update_id)
            await query.answer(_("Ended. The resident is asked to rate it."))
        else:
            await query.answer(_("This button is out of date."), show_alert=True)
            return
    except RequestError as exc:  # too late or out of date: nothing changed, nothing was sent
        await query.answer(refusal(exc, who_texts=REASONS_WHO, texts=REASONS), show_alert=True)
        return
    services.wake_outbox()


def transfer_keyboard(services: Services, consultation: Consultation) -> InlineKeyboardMarkup:
    rows = []
    for topic in services.catalogue.consultation_topics:
        if topic.id != consultation.topic:
            rows.append([InlineKeyboardButton(text="💬 " + topic.name.get(services.settings.default_locale),
                                              callback_data=Spec(action="to_topic", cid=consultation.id,
                                                                 arg=topic.id).pack())])
    view = services.catalogue.communities[consultation.community]
    for inst in view.model.institutions:
        if inst.id != consultation.institution_id:
            name = inst.short_name.get(services.settings.default_locale)
            rows.append([InlineKeyboardButton(text="🏛 " + shorten(name, 50),
                                              callback_data=Spec(action="to_inst", cid=consultation.id,
                                                                 arg=inst.id).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@router.message(SpecForm.note, ~F.text.startswith("/"))  # a command answers (or is refused: onboarding.py)
async def note(message: Message, state: FSMContext, services: Services) -> None:
    cid = int((await state.get_data()).get("cid") or 0)
    await state.clear()
    if not message.text:
        await message.reply(_("A note is text only."))
        return
    try:
        await services.consult.note(message.chat.id, cid, message.from_user.id, message.text[:3000])
    except RequestError as exc:
        await message.reply(why(exc.reason))
        return
    await message.reply("🗒 " + _("Note saved. The resident does not see it."))


async def relay(message: Message, services: Services, consultation: Consultation, event_update: Update) -> None:
    """A specialist's message in the consultation's topic (or a reply to its card) goes to the resident (the
    caller has made sure they are a member of the group)."""
    text, files, problem = read_input(message, 4000, max_bytes=None)
    if problem == "empty":
        return
    if problem:
        await message.reply(_("The answer is longer than 4000 characters; please split it into two messages."))
        return
    try:
        await services.consult.specialist_says(message.chat.id, consultation.id, message.from_user.id, text, files,
                                               update_id=event_update.update_id)
    except RequestError as exc:
        if exc.reason != "duplicate":
            await message.reply(why(exc.reason))
        return
    services.wake_outbox()


@router.message(Command("queue"), StateFilter("*"))
async def queue(message: Message, services: Services) -> None:
    group = await services.groups.group(message.chat.id)
    if group is None or not group.active:
        await message.answer(reason_text("group_not_bound"))
        return
    tz = services.settings.tz
    waiting = await services.consult.queue_of(group.community, group.institution_id)
    today = await services.consult.bookings_of_day(group.community, group.institution_id, services.consult.clock())
    for text in group_view.queue_list(services.catalogue, waiting, today, tz):  # as many messages as it takes
        await message.answer(text)


def build():
    built = router.build()
    built.message.middleware(StaffContext())
    built.callback_query.middleware(StaffContext())
    return built

