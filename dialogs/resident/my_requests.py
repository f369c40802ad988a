"""«Мої звернення»: the resident's requests page by page, one request's history, a message or a file added to it,
withdrawing it, rating a finished one with a comment."""
from __future__ import annotations

from typing import Optional

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from aiogram.utils.i18n import gettext as _

from bot.labels import shorten
from bot.requests.models import MAX_DESCRIPTION, Status
from bot.requests.service import RequestError
from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import BTN_MY, MenuButton, Routes, keyboard, main_menu, nav_row
from dialogs.consult_view import Cons
from dialogs.requests_view import Req, resident_history, resident_list, topic_of
from dialogs.resident import render
from dialogs.resident.browse import community_of
from dialogs.resident.caps import cap_text
from dialogs.resident.form import AskCb, choice
from dialogs.resident.inputs import drop_buttons, read_input, too_much

router = Routes("resident.my_requests")
LIST_SIZE = 8


class Follow(StatesGroup):
    writing = State()
    comment = State()


# ----- «Мої звернення» ------------------------------------------------------------------------------------------

@router.message(MenuButton(BTN_MY), StateFilter("*"))
async def my_requests(message: Message, state: FSMContext, services: Services) -> None:
    await state.clear()
    text, markup = await list_screen(services, message.from_user.id, 0)
    await message.answer(text, reply_markup=markup)


async def list_screen(services: Services, user_id: int, page: int) -> tuple[str, InlineKeyboardMarkup]:
    total = await services.requests.count_for_resident(user_id)
    page = max(0, min(page, max(0, (total - 1) // LIST_SIZE)))
    items = await services.requests.for_resident(user_id, limit=LIST_SIZE, offset=page * LIST_SIZE)
    rows = [[InlineKeyboardButton(text=shorten(f"№ {r.public_id} · {topic_of(services.catalogue, r)}", 60),
                                  callback_data=Req(action="open", rid=r.id).pack())] for r in items]
    paging = []
    if page > 0:
        paging.append(InlineKeyboardButton(text=_("⬅️ Previous"),
                                           callback_data=Req(action="list", rid=0, arg=str(page - 1)).pack()))
    if (page + 1) * LIST_SIZE < total:
        paging.append(InlineKeyboardButton(text=_("Next ➡️"),
                                           callback_data=Req(action="list", rid=0, arg=str(page + 1)).pack()))
    rows.append(paging)
    rows.append([InlineKeyboardButton(text=_("📅 My bookings and consultations"),
                                      callback_data=Cons(action="bookings").pack())])
    rows.append(nav_row())
    return resident_list(services.catalogue, items, services.settings.tz), keyboard(rows)


@router.callback_query(Req.filter(F.action == "list"))
async def list_page(query: CallbackQuery, callback_data: Req, services: Services) -> None:
    page = int(callback_data.arg) if callback_data.arg.isdigit() else 0
    text, markup = await list_screen(services, query.from_user.id, page)
    await query.answer()
    await query.message.edit_text(text, reply_markup=markup)


async def owned(query: CallbackQuery, services: Services, request_id: int):
    try:
        return await services.requests.owned(query.from_user.id, request_id)
    except RequestError:
        await query.answer(_("I could not find this request."), show_alert=True)
        return None


@router.callback_query(Req.filter(F.action == "open"))
async def open_request(query: CallbackQuery, callback_data: Req, services: Services) -> None:
    request = await owned(query, services, callback_data.rid)
    if request is None:
        return
    await query.answer()
    texts, markup = await request_screen(services, request)
    for index, text in enumerate(texts):  # a long history comes in several messages, the buttons under the last
        await query.message.answer(text, reply_markup=markup if index == len(texts) - 1 else None)


async def request_screen(services: Services, request) -> tuple[list[str], InlineKeyboardMarkup]:
    events = await services.requests.history(request.id, public_only=True)
    rows = []
    if request.status.open:
        rows.append([InlineKeyboardButton(text=_("✍️ Add a message or a file"),
                                          callback_data=Req(action="write", rid=request.id).pack())])
        rows.append([InlineKeyboardButton(text=_("↩️ Withdraw the request"),
                                          callback_data=Req(action="withdraw", rid=request.id).pack())])
    elif request.status in (Status.resolved, Status.closed) and not request.rating:
        rows.append([InlineKeyboardButton(text=str(n), callback_data=Req(action="rate", rid=request.id,
                                                                         arg=str(n)).pack()) for n in range(1, 6)])
    rows.append([InlineKeyboardButton(text=_("◀️ Back"), callback_data=Req(action="list", rid=0).pack())])
    return resident_history(services.catalogue, request, events, services.settings.tz), keyboard(rows)


@router.callback_query(Req.filter(F.action == "write"))
async def write(query: CallbackQuery, callback_data: Req, state: FSMContext, services: Services) -> None:
    request = await owned(query, services, callback_data.rid)
    if request is None:
        return
    await query.answer()
    if not request.status.open:
        await query.message.answer(_("This request is finished. If you need more help, please send a new request."))
        return
    await state.set_state(Follow.writing)
    await state.update_data(rid=request.id)
    await query.message.answer(
        _("Write your message to request No. {number}, or send a photo, a document or a voice message.").format(
            number=request.public_id),
        reply_markup=keyboard([[choice(_("❌ Cancel"), "cancel")]]),
    )


@router.callback_query(Follow.writing, AskCb.filter(F.step == "cancel"))
@router.callback_query(Follow.comment, AskCb.filter(F.step == "cancel"))
async def cancel_follow(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.clear()
    await query.message.answer(_("You are in the main menu."), reply_markup=main_menu())


@router.message(Follow.writing)
async def follow_message(message: Message, state: FSMContext, services: Services, event_update: Update,
                         resident: Optional[Resident]) -> None:
    request_id = (await state.get_data()).get("rid")
    text, files, problem = read_input(message, MAX_DESCRIPTION)
    if problem == "empty":
        await message.answer(_("Please write in words, send a voice message, a photo or a document."))
        return
    refusal = too_much(problem, MAX_DESCRIPTION)
    if refusal:
        await message.answer(refusal)
        return
    assessment = services.triage.assess(text) if text else None
    try:
        await services.requests.resident_message(message.from_user.id, int(request_id or 0), text, files,
                                                 update_id=event_update.update_id, urgent=bool(assessment))
    except RequestError as exc:
        await state.clear()
        if exc.reason == "cap":
            await message.answer(cap_text(services, None, "follow_ups"), reply_markup=main_menu())
        elif exc.reason != "duplicate":
            await message.answer(_("This request is finished or was not found. Please send a new request."),
                                 reply_markup=main_menu())
        return
    await state.clear()
    services.wake_outbox()
    if assessment and await services.requests.cap_reached(message.from_user.id, "follow_ups"):
        # past the daily cap only words of danger get through: the lines that help now come with them
        await message.answer(render.emergency_text(services.catalogue, community_of(services, resident),
                                                   assessment.danger, assessment.lines))
    sent = await message.answer("📨 " + _("Sent to the specialist. You will get the answer here."),
                                reply_markup=main_menu())
    await services.requests.remember_messages(sent.chat.id, [sent.message_id], int(request_id))


@router.callback_query(Req.filter(F.action == "withdraw"))
async def withdraw_ask(query: CallbackQuery, callback_data: Req, services: Services) -> None:
    request = await owned(query, services, callback_data.rid)
    if request is None:
        return
    await query.answer()
    await query.message.answer(
        _("Withdraw request No. {number}? The institution will stop working on it.").format(number=request.public_id),
        reply_markup=keyboard([[InlineKeyboardButton(text=_("Yes, withdraw"), callback_data=Req(
            action="withdraw_yes", rid=request.id).pack())], [InlineKeyboardButton(
                text=_("No, keep it"), callback_data=Req(action="open", rid=request.id).pack())]]),
    )


@router.callback_query(Req.filter(F.action == "withdraw_yes"))
async def withdraw(query: CallbackQuery, callback_data: Req, services: Services) -> None:
    if await owned(query, services, callback_data.rid) is None:
        return
    try:
        request = await services.requests.withdraw(query.from_user.id, callback_data.rid)
    except RequestError:
        await query.answer(_("This request is already finished."), show_alert=True)
        return
    services.wake_outbox()
    await query.answer()
    await query.message.edit_text("↩️ " + _("Request No. {number} is withdrawn.").format(number=request.public_id))


@router.callback_query(Req.filter(F.action == "rate"))
async def rate(query: CallbackQuery, callback_data: Req, state: FSMContext, services: Services) -> None:
    if await owned(query, services, callback_data.rid) is None:
        return
    try:
        rating = int(callback_data.arg)
        request = await services.requests.rate(query.from_user.id, callback_data.rid, rating)
    except (ValueError, RequestError):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    services.wake_outbox()
    await query.answer(_("Thank you!"))
    await drop_buttons(query.message)
    await state.set_state(Follow.comment)
    await state.update_data(rid=request.id)
    await query.message.answer(
        _("Thank you for the rating {stars}. Would you like to add a comment? Write it, or press «Skip».").format(
            stars="⭐" * rating),
        reply_markup=keyboard([[choice(_("Skip"), "cancel")]]),
    )


@router.message(Follow.comment, F.text)
async def rating_comment(message: Message, state: FSMContext, services: Services) -> None:
    request_id = (await state.get_data()).get("rid")
    await state.clear()
    if not await services.requests.rating_comment(message.from_user.id, int(request_id or 0), message.text[:1000]):
        await message.answer(_("You are in the main menu."), reply_markup=main_menu())
        return
    await message.answer(_("Thank you, your comment is saved."), reply_markup=main_menu())

