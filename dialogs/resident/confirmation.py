"""«Чи отримали ви допомогу?»: the resident's answer to the question asked some days after a request was resolved
(bot/requests/confirmation.py), and their few words after «Частково» or «Ні». The button's data are checked by the
service: the resident's own question, not answered yet, about the request's latest resolution, while the request is
still resolved; a repeated or forged press changes nothing."""
from __future__ import annotations

from typing import Optional

from aiogram import F
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import RequestError
from bot.requests.confirmation import ANSWERS, YES, Confirmations
from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import BTN_SEARCH, MenuButton, Routes, keyboard, main_menu
from dialogs.resident.emergency import send_emergency
from dialogs.resident.form import AskCb, choice
from dialogs.resident.inputs import drop_buttons

router = Routes("resident.confirmation")


class HelpCame(CallbackData, prefix="hc"):
    cid: int  # the question (request_confirmations.id)
    answer: str  # yes | partly | no


class Words(StatesGroup):
    writing = State()


def question_markup(confirmation_id: int) -> InlineKeyboardMarkup:
    """Так / Частково / Ні under the question (the outbox sends it: dialogs/outbox/requests.py)."""
    labels = {"yes": _("✅ Yes"), "partly": _("🌓 Partly"), "no": _("❌ No")}
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=labels[a], callback_data=HelpCame(cid=confirmation_id, answer=a).pack())
        for a in ANSWERS]])


def desk(services: Services) -> Confirmations:
    return Confirmations(services.requests, services.settings.confirm_after_days)


@router.callback_query(HelpCame.filter())
async def answered(query: CallbackQuery, callback_data: HelpCame, state: FSMContext, services: Services) -> None:
    try:
        found = await desk(services).answer(query.from_user.id, callback_data.cid, callback_data.answer)
    except RequestError as exc:
        if exc.reason == "answered":
            text = _("Your answer is already saved. Thank you!")
        elif exc.reason == "not_waiting":
            text = _("This request is back in work already: the specialists will answer you here.")
        else:
            text = _("This button is out of date.")
        await query.answer(text, show_alert=True)
        return
    services.wake_outbox()
    await query.answer()
    await drop_buttons(query.message)
    if found.answer == YES:
        await query.message.answer(_("Thank you! We are glad the help came. If you need anything else, the menu is "
                                     "below."), reply_markup=main_menu())
        return
    await state.set_state(Words.writing)
    await state.update_data(cid=found.id)
    await query.message.answer(
        "🔄 " + _("Request No. {number} is back in work, and the specialists are told that the help did not come "
                  "(or not all of it). If you like, write in a few words what is still missing: they will see it. "
                  "Or press «Skip».").format(number=found.public_id),
        reply_markup=keyboard([[choice(_("Skip"), "cancel")]]))


@router.callback_query(Words.writing, AskCb.filter(F.step == "cancel"))
async def skipped(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.clear()
    await drop_buttons(query.message)
    await query.message.answer(_("The specialists will answer you here."), reply_markup=main_menu())


@router.message(Words.writing, F.text, ~MenuButton(BTN_SEARCH))  # the search button leaves
async def words(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    confirmation_id = int((await state.get_data()).get("cid") or 0)
    await state.clear()
    assessment = services.triage.assess(message.text)
    if assessment.danger:  # danger first, wherever the words go
        await send_emergency(message, services, resident, assessment.danger, assessment.lines)
    try:
        await desk(services).words(message.from_user.id, confirmation_id, message.text)
    except RequestError:
        await message.answer(_("You are in the main menu."), reply_markup=main_menu())
        return
    services.wake_outbox()
    await message.answer("📨 " + _("Sent to the specialists. You will get the answer here."), reply_markup=main_menu())


@router.message(Words.writing, ~MenuButton(BTN_SEARCH))
async def not_words(message: Message) -> None:
    await message.answer(_("Please write in words, or press «Skip»."))

