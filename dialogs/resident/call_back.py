"""«📞 Ask them to call me back» on the consultation line: the phone (shared with the button or typed), then one
line about the question, then the request (bot.consult.call_back checks the state at the tap and again when
it files)."""
from __future__ import annotations

from typing import Optional

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, KeyboardButton, Message, ReplyKeyboardMarkup, Update
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.consult import call_back as calls
from bot.consult.call_back import MAX_QUESTION, Caller
from bot.errors import RequestError
from bot.requests.clean import clean_text
from bot.services import CONSENT_VERSION, Services
from bot.storage.residents import Resident
from dialogs.common import MenuButton, Routes, keyboard, main_menu
from dialogs.consult_view import Cons
from dialogs.consult_view import resident as resident_view
from dialogs.resident.browse import community_of
from dialogs.resident.caps import cap_text
from dialogs.resident.form import BTN_CANCEL, BTN_SHARE
from dialogs.resident.inputs import drop_buttons, normalise_phone

router = Routes("resident.call_back")


class CallBack(StatesGroup):
    phone = State()
    question = State()


def phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_(BTN_SHARE), request_contact=True)],
                                         [KeyboardButton(text=_(BTN_CANCEL))]],
                               resize_keyboard=True, input_field_placeholder="067 123 45 67")


def cancel_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_(BTN_CANCEL))]], resize_keyboard=True)


async def refuse(query: CallbackQuery, services: Services, resident: Optional[Resident], exc: RequestError) -> None:
    if exc.reason == "done":
        await query.answer(_("Done already."), show_alert=True)
    elif exc.reason == "cap":
        await query.answer()
        await query.message.answer(cap_text(services, community_of(services, resident), "requests"),
                                   reply_markup=main_menu())
    elif exc.reason == "line_open":
        await query.answer(_("Specialists are answering in the chat now: choose the topic again and write your "
                             "question."), show_alert=True)
    else:
        await query.answer(_("This button is out of date."), show_alert=True)


@router.callback_query(Cons.filter(F.action.in_({"callback", "callback_new"})))
async def call_back(query: CallbackQuery, callback_data: Cons, state: FSMContext, services: Services,
                    resident: Optional[Resident]) -> None:
    """After a consultation nobody took in time («callback», its id), or with a topic when nobody can answer in
    the chat now («callback_new»): checked now, so that nobody types a number for a button that cannot work."""
    consult, uid = services.consult, query.from_user.id
    try:
        if callback_data.action == "callback":
            cid = int(callback_data.value) if callback_data.value.isdigit() else 0
            topic = (await calls.timed_out_of(consult, uid, cid)).topic
        else:
            community = community_of(services, resident)
            if community is None:
                raise RequestError("not_found")
            topic = callback_data.value
            cid = await calls.which_call_back(consult, uid, community.slug, topic, CONSENT_VERSION)
        if await services.requests.cap_reached(uid, "requests"):
            raise RequestError("cap")
    except RequestError as exc:
        await refuse(query, services, resident, exc)
        return
    await query.answer()
    await drop_buttons(query.message)
    await state.set_state(CallBack.phone)
    await state.set_data({"cb_cid": cid, "cb_topic": topic})
    await query.message.answer(
        "📞 " + _("Which number should the specialist call? Press «{share}» or type the number, for example "
                 "067 123 45 67.").format(share=_(BTN_SHARE)), reply_markup=phone_keyboard())


@router.message(StateFilter(CallBack), MenuButton(BTN_CANCEL))
async def cancel(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("All right, nothing was sent. You are in the main menu."), reply_markup=main_menu())


@router.message(CallBack.phone, F.contact)
async def shared(message: Message, state: FSMContext) -> None:
    contact = message.contact
    if contact.user_id is not None and contact.user_id != message.from_user.id:
        await message.answer(_("This is someone else's contact. Please share your own number with the button, "
                               "or type the number."))
        return
    typed = clean_text(contact.phone_number)
    own = contact.user_id is not None
    name = clean_text(" ".join(filter(None, [contact.first_name, contact.last_name])))[:100] if own else ""
    await got_phone(message, state, Caller(normalise_phone(typed) or typed[:20], "telegram" if own else "phone",
                                           name or None))


@router.message(CallBack.phone, F.text)
async def typed(message: Message, state: FSMContext) -> None:
    phone = normalise_phone(message.text)
    if phone is None:
        await message.answer(_("I could not read this as a Ukrainian phone number. Please type it like "
                               "067 123 45 67 or +380 67 123 45 67."))
        return
    await got_phone(message, state, Caller(phone, "phone"))


@router.message(CallBack.phone)
async def phone_other(message: Message) -> None:
    await message.answer(_("Please share your number with the button below or type it."))


async def got_phone(message: Message, state: FSMContext, caller: Caller) -> None:
    await state.update_data(cb_phone=caller.phone, cb_method=caller.method, cb_name=caller.name)
    await state.set_state(CallBack.question)
    await message.answer("✍️ " + _("In one line: what should the specialist call you about?"),
                         reply_markup=cancel_keyboard())
    if (await state.get_data()).get("cb_cid"):
        await message.answer(_("Or, if what you wrote in the chat says it all:"), reply_markup=keyboard(
            [[InlineKeyboardButton(text=_("➡️ Send what I wrote"), callback_data=Cons(action="cb_same").pack())]]))


@router.message(CallBack.question, F.text)
async def question(message: Message, state: FSMContext, services: Services, resident: Optional[Resident],
                   event_update: Update) -> None:
    line = clean_text(message.text)
    if not line:
        await message.answer(_("Please write a few words about your question."))
        return
    if len(line) > MAX_QUESTION:
        await message.answer(ngettext("Please make it shorter: one line, up to {n} character. The specialist will "
                                      "ask the rest on the phone.",
                                      "Please make it shorter: one line, up to {n} characters. The specialist will "
                                      "ask the rest on the phone.", MAX_QUESTION).format(n=MAX_QUESTION))
        return
    await file(message, state, services, resident, message.from_user.id, line, event_update.update_id)


@router.message(CallBack.question)
async def question_other(message: Message) -> None:
    await message.answer(_("Please write your question in words, in one line."))


@router.callback_query(CallBack.question, Cons.filter(F.action == "cb_same"))
async def same(query: CallbackQuery, state: FSMContext, services: Services, resident: Optional[Resident],
               event_update: Update) -> None:
    """After a consultation nobody took: what the resident wrote in it is the question."""
    if not (await state.get_data()).get("cb_cid"):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    await drop_buttons(query.message)
    await file(query.message, state, services, resident, query.from_user.id, "", event_update.update_id)


async def file(message: Message, state: FSMContext, services: Services, resident: Optional[Resident], uid: int,
               line: str, update_id: int) -> None:
    """The request, from what the state holds (checked again by the service: the tap may be old by now)."""
    data = await state.get_data()
    await state.clear()
    topic, cid = str(data.get("cb_topic") or ""), data.get("cb_cid")
    caller = Caller(str(data.get("cb_phone") or ""), str(data.get("cb_method") or "phone"), data.get("cb_name"))
    question = resident_view.call_back_question(services.catalogue, topic, line)
    community = community_of(services, resident)
    try:
        if not caller.phone or community is None:
            raise RequestError("not_found")
        if cid:
            request = await calls.call_back_after(services.consult, uid, int(cid), caller, question,
                                                  update_id=update_id)
        else:
            request = await calls.call_back_new(services.consult, uid, community.slug, topic, caller, question,
                                                CONSENT_VERSION, update_id=update_id)
    except RequestError as exc:
        if exc.reason == "cap":
            text = cap_text(services, community, "requests")
        elif exc.reason == "done":
            text = _("Done already.")
        elif exc.reason == "line_open":
            text = _("Specialists are answering in the chat now: choose the topic again and write your question.")
        else:
            text = _("Sorry, this can no longer be sent. Please start again from the menu.")
        await message.answer(text, reply_markup=main_menu())
        return
    services.wake_outbox()
    await message.answer(resident_view.call_back_filed(request.public_id, caller.phone), reply_markup=main_menu())
