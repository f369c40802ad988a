"""The answers to the request form's steps (dialogs/resident/form.py says what each step asks and stores), the
summary's «change» and «send», and cancelling the form."""
from __future__ import annotations

from typing import Optional

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, Update
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.requests.clean import clean_text
from bot.requests.models import MAX_DESCRIPTION, MAX_FILE_BYTES, MAX_FILES, Attachment, Draft
from bot.requests.service import RequestError
from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import MenuButton, Routes, h, keyboard, main_menu, too_long
from dialogs.requests_view import due_day, institution_name
from dialogs.resident import render
from dialogs.resident.caps import cap_text
from dialogs.resident.form import (
    ABOUT,
    ABOUT_SITUATION,
    BTN_CANCEL,
    BTN_CHAT_ONLY,
    BTN_TYPE,
    STEP,
    WHOM,
    Ask,
    AskCb,
    ask_contact,
    ask_description,
    can_change,
    choice,
    lost,
    next_step,
    reopen,
    save,
    show_summary,
    with_draft,
)
from dialogs.resident.inputs import attachment_of, normalise_phone, too_big

router = Routes("resident.form")


@router.callback_query(StateFilter(Ask), AskCb.filter(F.step == "cancel"))
async def cancel_form(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.clear()
    await query.message.answer(_("Done, I stopped that. Nothing was saved.") + "\n" + _("You are in the main menu."),
                               reply_markup=main_menu())


@router.message(StateFilter(Ask), MenuButton(BTN_CANCEL))
async def cancel_from_keyboard(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Done, I stopped that. Nothing was saved.") + "\n" + _("You are in the main menu."),
                         reply_markup=main_menu())


@router.callback_query(*STEP["about"].answer_filters())
@with_draft
async def about(
    query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services, draft: Draft,
) -> None:
    await query.answer()
    if callback_data.value not in ABOUT:
        await lost(query.message, state)
        return
    draft.about_child = callback_data.value == "child"
    draft.situation_id = ABOUT_SITUATION.get(callback_data.value)
    draft.for_whom = "child" if draft.about_child else "other"
    await save(state, draft, about_done=True)
    await next_step(query.message, state, services, draft)


@router.callback_query(*STEP["topic"].answer_filters())
@with_draft
async def topic(
    query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services, draft: Draft,
) -> None:
    await query.answer()
    value = callback_data.value
    draft.situation_id = value if value in services.catalogue.situations else None
    await save(state, draft, topic_done=True)
    await next_step(query.message, state, services, draft)


@router.callback_query(*STEP["whom"].answer_filters())
@with_draft
async def whom(query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services, draft: Draft) -> None:
    await query.answer()
    if callback_data.value not in WHOM:
        await lost(query.message, state)
        return
    draft.for_whom = callback_data.value
    await save(state, draft)
    await next_step(query.message, state, services, draft)


@router.message(Ask.description)
@with_draft
async def description(
    message: Message, state: FSMContext, services: Services, resident: Optional[Resident], draft: Draft,
) -> None:
    attachment = attachment_of(message)
    if attachment is not None:
        if not await add_file(message, state, draft, attachment):
            return
        if message.caption:
            draft.description = (draft.description + "\n" + message.caption).strip()[:MAX_DESCRIPTION]
            await save(state, draft)
    elif message.text:
        if len(message.text) > MAX_DESCRIPTION:
            await message.answer(too_long(MAX_DESCRIPTION))
            return
        draft.description = message.text.strip()
        await save(state, draft)
    else:
        await message.answer(_("Please write in words, send a voice message, a photo or a document."))
        return
    assessment = services.triage.assess(draft.description) if draft.description else None
    if assessment:
        data = await state.get_data()
        if not data.get("danger_shown"):
            community = services.catalogue.communities[draft.community]
            await message.answer(render.emergency_text(services.catalogue, community, assessment.danger,
                                                       assessment.lines))
        await state.update_data(danger=list(assessment.danger), danger_shown=True)
    left = MAX_FILES - len(draft.files)
    text = _("Got it.") + " "
    if left > 0:
        text += ngettext("You can add {n} more photo or document, or go on.",
                         "You can add {n} more photos or documents, or go on.", left).format(n=left)
    await message.answer(text, reply_markup=keyboard([[choice(_("Next ➡️"), "described")],
                                                       [choice(_("❌ Cancel"), "cancel")]]))


async def add_file(message: Message, state: FSMContext, draft: Draft, attachment: Attachment) -> bool:
    if len(draft.files) >= MAX_FILES:
        await message.answer(ngettext("You have already attached {n} file, that is the limit. Press «Next ➡️».",
                                      "You have already attached {n} files, that is the limit. Press «Next ➡️».",
                                      MAX_FILES).format(n=MAX_FILES))
        return False
    if attachment.size and attachment.size > MAX_FILE_BYTES:
        await message.answer(too_big())
        return False
    draft.files.append(attachment)
    if attachment.kind == "voice" and not draft.description:
        draft.description = "🎤 " + _("voice message")
    await save(state, draft)
    return True


@router.callback_query(Ask.description, AskCb.filter(F.step == "described"))
@with_draft
async def described(query: CallbackQuery, state: FSMContext, services: Services, draft: Draft) -> None:
    await query.answer()
    if not draft.description and not draft.files:
        await ask_description(query.message, state, draft)
        return
    await next_step(query.message, state, services, draft)


@router.callback_query(*STEP["anonymous"].answer_filters())
@with_draft
async def anonymous(
    query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services, draft: Draft,
) -> None:
    await query.answer()
    draft.anonymous = callback_data.value == "yes"
    if draft.anonymous:
        draft.contact_method, draft.contact_phone, draft.contact_name = "chat", None, None
    await save(state, draft, anonymous_done=True)
    await next_step(query.message, state, services, draft)


@router.message(Ask.contact, F.contact)
@with_draft
async def shared_contact(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    contact = message.contact
    if contact.user_id is not None and contact.user_id != message.from_user.id:
        await message.answer(_("This is someone else's contact. Please share your own number with the button, "
                               "or type the number."))
        return
    typed = clean_text(contact.phone_number)
    if contact.user_id is None:  # a contact card, not the resident's own account: its number as if typed
        draft.contact_method, draft.contact_name = "phone", None
    else:
        draft.contact_method = "telegram"
        draft.contact_name = clean_text(" ".join(filter(None, [contact.first_name, contact.last_name])))[:100] or None
    draft.contact_phone = normalise_phone(typed) or typed[:20]
    await save(state, draft, contact_done=True)
    await show_summary(message, state, services, draft)


@router.message(Ask.contact, MenuButton(BTN_TYPE))
async def will_type(message: Message, state: FSMContext) -> None:
    await state.set_state(Ask.phone)
    await message.answer(_("Please type your phone number, for example 067 123 45 67."),
                         reply_markup=main_menu())


@router.message(Ask.contact, MenuButton(BTN_CHAT_ONLY))
@with_draft
async def chat_only(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    draft.contact_method, draft.contact_phone, draft.contact_name = "chat", None, None
    await save(state, draft, contact_done=True)
    await show_summary(message, state, services, draft)


@router.message(Ask.contact)
async def contact_other(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons below: share your number, type it, or stay in the "
                           "chat."))


@router.message(Ask.phone, F.text)
@with_draft
async def typed_phone(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    phone = normalise_phone(message.text)
    if phone is None:
        await message.answer(_("I could not read this as a Ukrainian phone number. Please type it like "
                               "067 123 45 67 or +380 67 123 45 67."))
        return
    draft.contact_method, draft.contact_phone, draft.contact_name = "phone", phone, None
    await save(state, draft, contact_done=True)
    await show_summary(message, state, services, draft)


@router.callback_query(Ask.confirm, AskCb.filter(F.step == "edit"))
@with_draft
async def edit(query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services,
               draft: Draft) -> None:
    await query.answer()
    if can_change(draft, callback_data.value):
        await save(state, draft, **reopen(draft, callback_data.value))
        await next_step(query.message, state, services, draft)  # that step, then the summary again
        return
    if callback_data.value == "contact" and not draft.anonymous:
        await state.update_data(contact_done=False)
        await ask_contact(query.message, state)
        return
    if callback_data.value != "description":  # a forged or out-of-date change: the summary as it is
        await show_summary(query.message, state, services, draft)
        return
    draft.description, draft.files = "", []
    await save(state, draft, danger_shown=False, danger=[])
    await ask_description(query.message, state, draft)


@router.callback_query(Ask.confirm, AskCb.filter(F.step == "send"))
@with_draft
async def send(query: CallbackQuery, state: FSMContext, services: Services, event_update: Update, draft: Draft) -> None:
    danger = (await state.get_data()).get("danger") or []
    try:
        request = await services.requests.create(draft, update_id=event_update.update_id, danger=danger)
    except RequestError as exc:  # the daily cap (a request with words of danger is never held back)
        await state.clear()
        await query.answer()
        if exc.reason == "cap":
            what = "reports" if draft.kind == "report" else "requests"
            await query.message.answer(cap_text(services, None, what), reply_markup=main_menu())
        return
    await state.clear()
    services.wake_outbox()
    await query.answer(_("Sent"))
    await query.message.edit_reply_markup(reply_markup=None)
    days = services.requests.response_days(request.community, request.institution_id)
    due = due_day(request, services.settings.tz)
    text = "✅ " + _("Your request No. <b>{number}</b> is accepted.").format(number=request.public_id)
    text += "\n" + _("It went to: {institution}.").format(
        institution=h(institution_name(services.catalogue, request, short=False)))
    if request.urgent:
        # no "within 3 working days" for someone who may be in danger: it goes to the top of the staff's list
        text += "\n\n🔴 " + _("We marked it as urgent: it is at the top of the specialists' list and they will "
                               "answer as soon as they can.")
        text += "\n" + urgent_advice(services, danger)
    else:
        text += "\n" + ngettext("Expect an answer within {n} working day, by {date}.",
                                "Expect an answer within {n} working days, by {date}.", days).format(n=days,
                                                                                                  date=due)
    text += "\n\n" + _("You will get a message here when something changes. Follow it in «📂 My requests».")
    sent = await query.message.answer(text, reply_markup=main_menu())
    # a quote-reply to the confirmation goes to the request (dialogs/resident/follow_ups.py)
    await services.requests.remember_messages(sent.chat.id, [sent.message_id], request.id)


def urgent_advice(services: Services, danger: list[str]) -> str:
    """What to do right now, by the most urgent kind of danger the description signals."""
    kinds = [kind for kind in services.triage.kinds if kind in danger]
    if "helpless" in danger:
        return _("If the person may be lying helpless, do not wait for us: call 103 (ambulance) or 112 now.")
    if "suicide" in danger:
        return _("If your life is in danger right now, call 112. Psychological support: 7333, day and night.")
    lines = ", ".join(services.triage.lines_for(kinds))
    return _("If you are in danger right now, call 112 or 102. Confidential help: {lines}.").format(lines=lines)
