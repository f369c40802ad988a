"""The online consultation line for residents: topic, question, live chat, end and rating; booking a time."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from aiogram import F
from aiogram.filters import BaseFilter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    Message,
    Update,
)
from aiogram.utils.i18n import gettext as _

from bot.catalogue.loader import CommunityView
from bot.consult import schedule
from bot.consult.call_back import why_nobody_now
from bot.requests.models import MAX_DESCRIPTION
from bot.requests.service import RequestError
from bot.services import CONSENT_VERSION, Services
from bot.storage.residents import Resident
from dialogs.common import BTN_CONSULT, MenuButton, Nav, Routes, h, keyboard, locale, main_menu, nav_row
from dialogs.consult_view import (
    BTN_END,
    Cons,
    booking_day,
    chat_keyboard,
    day_code,
    hours_text,
    rating_keyboard,
    topic_name,
)
from dialogs.consult_view import resident as resident_view
from dialogs.resident import render
from dialogs.resident.browse import ask_community, community_of, show
from dialogs.resident.caps import cap_text
from dialogs.resident.consent import After, ask_consent
from dialogs.resident.inputs import drop_buttons, read_input

router = Routes("resident.consult")


class Consult(StatesGroup):
    question = State()
    comment = State()


class InConsultation(BaseFilter):
    """The resident has an open consultation: what they write goes to the specialist. So does a message written
    before an end that was handled first (`ConsultService.written_before_end`)."""

    async def __call__(self, message: Message, services: Services, event_update: Update) -> bool | dict[str, Any]:
        consultation = await services.consult.for_message(message.from_user.id, event_update.update_id)
        return {"consultation": consultation} if consultation else False


def cons(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=Cons(action=action, value=value).pack())


# ----- choosing a topic -----------------------------------------------------------------------------------------

@router.message(MenuButton(BTN_CONSULT), StateFilter("*"))
async def consult_menu(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    await state.clear()
    await show_topics(message, services, resident)


@router.callback_query(Nav.filter(F.screen == "consult"))
async def consult_button(query: CallbackQuery, services: Services, resident: Optional[Resident]) -> None:
    await query.answer()
    await show_topics(query.message, services, resident)


async def show_topics(message: Message, services: Services, resident: Optional[Resident]) -> None:
    community = community_of(services, resident)
    if community is None:
        await ask_community(message)
        return
    current = await services.consult.open_for_resident(message.chat.id)
    if current is not None:
        await message.answer(_("You already have an open consultation. Write here and the specialist will "
                               "answer, or end it with the button below."), reply_markup=chat_keyboard())
        return
    rows = [[cons(t.name.get(locale()), "topic", t.id)] for t in services.catalogue.consultation_topics]
    rows.append(nav_row())
    await message.answer(_("💬 <b>Online consultation</b>\nA specialist answers your question here, in the chat. "
                           "Choose the topic:"), reply_markup=keyboard(rows))


@router.callback_query(Cons.filter(F.action == "topic"))
async def topic(query: CallbackQuery, callback_data: Cons, state: FSMContext, services: Services,
                resident: Optional[Resident]) -> None:
    community = community_of(services, resident)
    if not await open_topic(query.message, state, services, community, callback_data.value, query=query):
        await query.answer(_("This button is out of date."), show_alert=True)


async def open_topic(message: Message, state: FSMContext, services: Services, community: Optional[CommunityView],
                     topic_id: str, query: Optional[CallbackQuery] = None) -> bool:
    """The topic screen: who answers and when, consent if not given yet, then the question or a booking.
    `message` is in the resident's private chat; False when the community has no such line."""
    try:
        line = services.consult.line(community.slug, topic_id) if community else None
    except RequestError:
        line = None
    if line is None:
        return False
    if query is not None:
        await query.answer()
    institution = community.institutions[line.institution_id].name.get(locale())
    text = (f"<b>{h(topic_name(services.catalogue, line.topic))}</b>\n"
            + _("Answers: {institution}").format(institution=h(institution)) + "\n"
            + _("Hours: {hours} (Kyiv time)").format(hours=hours_text(line.hours)))
    if not await services.residents.has_consent(message.chat.id, CONSENT_VERSION):
        await ask_consent(message, state, services, After(topic=line.topic), header=text)
        return True
    await offer(message, state, services, line.topic, header=text)
    return True


async def offer(message: Message, state: FSMContext, services: Services, topic_id: str, header: str = "") -> None:
    """When someone can answer now (within hours, and the institution's group is bound and reachable): ask for the
    question. Otherwise say plainly why not and offer a time or a call back at once, with no queue promised."""
    community = services.catalogue.communities[(await services.residents.get(message.chat.id)).community]
    line = services.consult.line(community.slug, topic_id)
    why = await why_nobody_now(services.consult, community.slug, topic_id)
    top = header + "\n\n" if header else ""
    if why is None:
        await state.set_state(Consult.question)
        await state.update_data(topic=topic_id)
        await message.answer(top + _(
            "Write your question in one message. You can also send a photo, a document or a voice message."),
            reply_markup=keyboard([[cons(_("❌ Cancel"), "cancel")]]))
        return
    opening = services.consult.next_opening(line) if why == "closed" else None
    text = resident_view.nobody_now(opening, services.settings.tz)
    await message.answer(top + text, reply_markup=keyboard([[cons(_("📅 Book a time"), "book", topic_id)],
                                                            [cons(_("📞 Ask them to call me back"), "callback_new",
                                                                  topic_id)], nav_row()]))


@router.callback_query(Cons.filter(F.action == "cancel"))
async def cancel(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.clear()
    await query.message.answer(_("You are in the main menu."), reply_markup=main_menu())


@router.message(Consult.question)
async def question(message: Message, state: FSMContext, services: Services, resident: Optional[Resident],
                   event_update: Update) -> None:
    topic_id = (await state.get_data()).get("topic", "")
    text, files, problem = read_input(message, MAX_DESCRIPTION)
    if problem == "empty":
        await message.answer(_("Please write in words, send a voice message, a photo or a document."))
        return
    if problem:
        await message.answer(_("This is too long or too big. Please write it shorter or send a smaller file."))
        return
    community = community_of(services, resident)
    if community is None or await why_nobody_now(services.consult, community.slug, topic_id) is not None:
        await state.clear()  # the hours ended or the group went away while the resident wrote
        if community is not None and topic_id:
            await offer(message, state, services, topic_id)
        return
    try:
        consultation = await services.consult.start(message.from_user.id, community.slug, topic_id, text, files,
                                                    update_id=event_update.update_id)
    except RequestError as exc:
        await state.clear()
        opened = await services.consult.open_for_resident(message.from_user.id)
        if exc.reason == "already_open" and opened is not None:  # opened meanwhile (a booked time began):
            await relay(message, state, services, event_update, opened, resident)  # what was written goes to it
            await message.answer(_("You already have an open consultation: your message was added to it."),
                                 reply_markup=chat_keyboard())
        elif exc.reason == "already_open":
            await message.answer(_("You are in the main menu."), reply_markup=main_menu())
        elif exc.reason != "duplicate":
            await message.answer(_("This button is out of date."), reply_markup=main_menu())
        return
    await state.clear()
    services.wake_outbox()
    await warn_of_danger(message, state, services, community, consultation.id, text)
    place = await services.consult.position(consultation)
    line = services.consult.line(consultation.community, consultation.topic)
    wait = max(line.hours.wait_minutes // 3, 2) * place
    await message.answer(resident_view.queued(place, wait), reply_markup=chat_keyboard())


# ----- while the consultation is open ---------------------------------------------------------------------------

@router.message(MenuButton(BTN_END), StateFilter("*"))
async def end(message: Message, state: FSMContext, services: Services, event_update: Update) -> None:
    await state.clear()
    try:
        consultation = await services.consult.end_by_resident(message.from_user.id, update_id=event_update.update_id)
    except RequestError:
        await message.answer(_("You are in the main menu."), reply_markup=main_menu())
        return
    services.wake_outbox()
    await message.answer(_("The consultation is ended. Thank you!"), reply_markup=main_menu())
    if consultation.specialist_id:
        await message.answer(resident_view.rating_prompt(), reply_markup=rating_keyboard(consultation.id))


async def warn_of_danger(message: Message, state: FSMContext, services: Services, community, consultation_id: int,
                         text: str) -> None:
    """A message in a consultation that signals danger brings the emergency lines at once (once per kind):
    the specialist may not be there yet, or may be typing."""
    if not text:
        return
    assessment = services.triage.assess(text)
    if not assessment:
        return
    data = await state.get_data()
    shown = data.get("danger_shown_in") or {}
    seen = set(shown.get(str(consultation_id), []))
    new = [kind for kind in assessment.danger if kind not in seen]
    if not new:
        return
    await state.update_data(danger_shown_in={str(consultation_id): sorted(seen | set(new))})
    await message.answer(render.emergency_text(services.catalogue, community, assessment.danger, assessment.lines))


@router.message(StateFilter(None), InConsultation(), ~F.text.startswith("/"))
async def relay(message: Message, state: FSMContext, services: Services, event_update: Update, consultation,
                resident: Optional[Resident]) -> None:
    text, files, problem = read_input(message, 4000)
    if problem == "empty":
        await message.answer(_("Only text, photos, documents and voice messages reach the specialist."))
        return
    if problem:
        await message.answer(_("This is too long or too big. Please write it shorter or send a smaller file."))
        return
    try:
        await services.consult.resident_says(message.from_user.id, text, files, update_id=event_update.update_id)
    except RequestError:
        return
    services.wake_outbox()
    await warn_of_danger(message, state, services, community_of(services, resident), consultation.id, text)


# ----- rating, call back, booking -------------------------------------------------------------------------------

@router.callback_query(Cons.filter(F.action == "rate"))
async def rate(query: CallbackQuery, callback_data: Cons, state: FSMContext, services: Services) -> None:
    try:
        cid, rating = (int(x) for x in callback_data.value.split("."))
        await services.consult.rate(query.from_user.id, cid, rating)
    except (ValueError, RequestError):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer(_("Thank you!"))
    await drop_buttons(query.message)
    await state.set_state(Consult.comment)
    await state.update_data(cid=cid)
    await query.message.answer(resident_view.rated(rating),
                               reply_markup=keyboard([[cons(_("Skip"), "cancel")]]))


@router.message(Consult.comment, F.text)
async def comment(message: Message, state: FSMContext, services: Services) -> None:
    cid = int((await state.get_data()).get("cid") or 0)
    await state.clear()
    if await services.consult.rating_comment(message.from_user.id, cid, message.text[:1000]):
        await message.answer(_("Thank you, your comment is saved."), reply_markup=main_menu())
    else:
        await message.answer(_("You are in the main menu."), reply_markup=main_menu())


@router.callback_query(Cons.filter(F.action.in_({"book", "day"})))
async def book(query: CallbackQuery, callback_data: Cons, services: Services, resident: Optional[Resident]) -> None:
    """Every free time of the bookable days, one day per screen: «book» opens the first day in a new message,
    «day» (◀ ▶) shows another day in the same one; a day no longer bookable shows the next one that is."""
    community = community_of(services, resident)
    topic_id, _dot, wanted = callback_data.value.partition(".")
    try:
        slots = await services.consult.free_slots(community.slug, topic_id)
    except (RequestError, AttributeError):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    tz = services.settings.tz
    days = schedule.by_day(slots, tz)
    if callback_data.action == "day" and days:
        await show(query, *booking_day(days, day_index(days, wanted), topic_id, tz))
        return
    await query.answer()
    if not days:
        await query.message.answer(_("There are no free times in the next days. Please ask for a call back."),
                                   reply_markup=keyboard([[cons(_("📞 Ask them to call me back"), "callback_new",
                                                                topic_id)], nav_row()]))
        return
    text, markup = booking_day(days, 0, topic_id, tz)
    await query.message.answer(text, reply_markup=markup)


def day_index(days: list, wanted: str) -> int:
    """The screen of the day asked for (a date code from a ◀ ▶ button, treated as forged): that day, else the
    next one still bookable, else the last."""
    return next((i for i, (day, _times) in enumerate(days) if day_code(day) >= wanted), len(days) - 1)


@router.callback_query(Cons.filter(F.action == "slot"))
async def slot(query: CallbackQuery, callback_data: Cons, services: Services, resident: Optional[Resident]) -> None:
    community = community_of(services, resident)
    try:
        topic_id, code = callback_data.value.split(".")
        starts = datetime.strptime(code, "%Y%m%d%H%M").replace(tzinfo=timezone.utc)
        booking = await services.consult.book(query.from_user.id, community.slug, topic_id, starts)
    except RequestError as exc:
        if exc.reason == "too_many":
            await query.answer(_("You already have two booked times. Please cancel one in «📂 My requests» → "
                                 "«📅 My bookings and consultations» to book another."), show_alert=True)
        elif exc.reason == "cap":
            await query.answer()
            await query.message.answer(cap_text(services, community, "bookings"), reply_markup=main_menu())
        else:
            await query.answer(_("Sorry, this time is no longer free. Please choose another."), show_alert=True)
        return
    except (ValueError, AttributeError):
        await query.answer(_("Sorry, this time is no longer free. Please choose another."), show_alert=True)
        return
    services.wake_outbox()
    await query.answer()
    await drop_buttons(query.message)
    day_before = schedule.reminded_the_day_before(services.consult.clock(), datetime.fromisoformat(booking.starts_at))
    await query.message.answer(resident_view.booked(services.catalogue, booking, day_before, services.settings.tz),
                               reply_markup=main_menu())


@router.callback_query(Cons.filter(F.action == "bookings"))
async def my_bookings(query: CallbackQuery, services: Services) -> None:
    await query.answer()
    bookings = await services.consult.bookings_of(query.from_user.id)
    past = await services.consult.past_for_resident(query.from_user.id, limit=5)
    text, markup = resident_view.my_bookings(services.catalogue, bookings, past, services.settings.tz)
    await query.message.answer(text, reply_markup=markup)


@router.callback_query(Cons.filter(F.action == "unbook"))
async def unbook(query: CallbackQuery, callback_data: Cons, services: Services) -> None:
    try:
        booking = await services.consult.cancel_booking(query.from_user.id, int(callback_data.value or 0))
    except (ValueError, RequestError):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    services.wake_outbox()
    await query.answer(_("Cancelled."))
    await query.message.answer(resident_view.unbooked(booking, services.settings.tz), reply_markup=main_menu())
