"""Words meant for a request rather than for the search.

Any text a resident sends outside a dialog used to be a search. Now, before the search (dialogs/resident/search.py,
registered after this module) sees it, a message goes, by the first rule that applies:

1. to the dialog in progress: any conversation state keeps its messages, nothing here runs (but for the choice of
   rule 6, whose state is this module's own);
2. to the online consultation while one is open (queued or with a specialist): `relay` in
   dialogs/resident/consult.py runs before this module and takes everything, quote-replies to the specialist's
   messages included, whatever they quote; this module never takes a message while a consultation is open;
3. to the handlers of commands and of reply-keyboard buttons (menu, contact, consultation keys), never to a request;
4. to request N when it quote-replies (Telegram's reply) a bot message about N: an answer, a status notice, the
   confirmation of the request or of an earlier follow-up (`RequestService.remember_messages` keeps which message is
   about which request). When N is finished the resident is told so and nothing is sent;
5. to the one request that waits for the resident's answer (`RequestService.awaiting_reply`: open, and the last
   word of its conversation is a specialist's answer, or the resident's own answer of a few minutes ago);
6. when several wait, the resident picks the request with a button, or says it is a search;
7. otherwise to the search, as before (a photo, document or voice message: "only text" as before).

Text, a photo, a document and a voice message can go to a request (the same follow-up as «✍️ Add a message or a
file»: stored once per update, relayed to the request's topic by the outbox). Danger still comes first: the words
are read by the triage before anything else and the emergency screen is shown when they signal danger, wherever
they then go.

The resident sees where it went: «Added to request No. N». When the bot guessed (rules 4 and 5) and there are words,
a «🔎 Was it a search?» button takes the message back from the request (`RequestService.withdraw_guessed`: removed
from its history; in the staff group it never appears when it has not gone out yet, or else it is deleted where the
bot may and a short note says it was sent by mistake) and runs the search with the same words. The button's data
carries the history entry and a random token stored with it: only the resident it belongs to, only for that
message, only once; anything else changes nothing. A photo without words has no search to turn into, so it gets no
button; neither does a message the resident added to a request they picked themselves (rule 6).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import BaseFilter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message, Update
from aiogram.utils.i18n import gettext as _

from bot.labels import shorten
from bot.requests.models import MAX_DESCRIPTION, Attachment, Request
from bot.requests.service import RequestError
from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import (
    BTN_ASK,
    BTN_CONSULT,
    BTN_EMERGENCY,
    BTN_FIND,
    BTN_HELP,
    BTN_MY,
    BTN_REPORT,
    BTN_SEARCH,
    BTN_SETTINGS,
    MenuButton,
    Routes,
    button,
    h,
    keyboard,
    nav_row,
)
from dialogs.requests_view import topic_of
from dialogs.resident.browse import ask_community, community_of
from dialogs.resident.caps import cap_text
from dialogs.resident.consult import BTN_END, InConsultation, relay
from dialogs.resident.emergency import send_emergency
from dialogs.resident.form import BTN_CANCEL, BTN_CHAT_ONLY, BTN_SHARE, BTN_TYPE
from dialogs.resident.inputs import read_input, too_much
from dialogs.resident.search import answer_query, not_text, run_search

router = Routes("resident.follow_ups")
# Texts of reply-keyboard buttons: pressed (or sent again from an old keyboard) they are never words for a request.
KEYS = (BTN_FIND, BTN_SEARCH, BTN_EMERGENCY, BTN_SETTINGS, BTN_HELP, BTN_ASK, BTN_MY, BTN_REPORT, BTN_CONSULT,
        BTN_SHARE, BTN_TYPE, BTN_CHAT_ONLY, BTN_CANCEL, BTN_END)
CHOICES = 5  # requests offered when several wait for the resident's answer (the latest answered first)


class Fu(CallbackData, prefix="fu"):
    """«To this request» / «it is a search» when several requests wait (checked against the choosing state's
    token), and «🔎 Was it a search?» under a guessed follow-up (checked against the stored one)."""

    action: str  # to | search | undo
    rid: int = 0  # the request picked (to)
    eid: int = 0  # the history entry to take back (undo)
    tok: str = ""


class Routing(StatesGroup):
    choosing = State()  # several requests wait: the message waits in the state's data for the resident's pick


@dataclass(frozen=True)
class Route:
    how: str  # quote: a quote-reply to a message about the request | awaiting: requests that wait for an answer
    requests: list[Request]


class MeantForARequest(BaseFilter):
    """A resident's message that goes to a request (rules 4–6 above) as `route`; False leaves it to the search."""

    async def __call__(self, message: Message, services: Services) -> bool | dict[str, Any]:
        if not (message.text or message.caption or message.photo or message.document or message.voice):
            return False
        route = await route_of(message, services)
        return {"route": route} if route is not None else False


async def route_of(message: Message, services: Services) -> Optional[Route]:
    quoted = await quoted_request(message, services)
    if quoted is not None:
        return Route("quote", [quoted])
    waiting = await services.requests.awaiting_reply(message.from_user.id)
    return Route("awaiting", waiting) if waiting else None


async def quoted_request(message: Message, services: Services) -> Optional[Request]:
    """The resident's own request that the message quote-replies a bot message about, if any."""
    quoted = message.reply_to_message
    if quoted is None:
        return None
    request_id = await services.requests.request_of_message(message.chat.id, quoted.message_id)
    request = await services.requests.get(request_id) if request_id is not None else None
    if request is None or request.resident_id != message.from_user.id:
        return None
    return request


not_a_key = ~MenuButton(*KEYS)


@router.message(StateFilter(None), not_a_key, ~F.text.startswith("/"), MeantForARequest())
async def meant_for_a_request(message: Message, state: FSMContext, services: Services, resident: Optional[Resident],
                              event_update: Update, route: Route) -> None:
    await follow_route(message, state, services, resident, event_update.update_id, route)


@router.message(Routing.choosing, not_a_key, ~F.text.startswith("/"))
async def while_choosing(message: Message, state: FSMContext, services: Services, resident: Optional[Resident],
                         event_update: Update) -> None:
    """A new message instead of a pick: the earlier one is dropped (its buttons go out of date) and this one goes
    where it belongs, as if no choice had been asked."""
    await state.set_state(None)
    await state.update_data(pending=None)
    consultation = await InConsultation()(message, services, event_update)  # opened meanwhile (a booked time)
    if consultation:
        await relay(message, state, services, event_update, consultation["consultation"], resident)
        return
    if message.text or message.caption or message.photo or message.document or message.voice:
        route = await route_of(message, services)
        if route is not None:
            await follow_route(message, state, services, resident, event_update.update_id, route)
            return
    if message.text:
        await run_search(message, state, services, resident)
    else:
        await not_text(message)


async def follow_route(message: Message, state: FSMContext, services: Services, resident: Optional[Resident],
                       update_id: int, route: Route) -> None:
    text, files, problem = read_input(message, MAX_DESCRIPTION)
    danger: tuple[str, ...] = ()
    if text:  # danger first, wherever the words go
        assessment = services.triage.assess(text)
        danger = assessment.danger
        if danger:
            await send_emergency(message, services, resident, assessment.danger, assessment.lines)
    refusal = too_much(problem, MAX_DESCRIPTION)
    if refusal:
        await message.answer(refusal)
        return
    if route.how == "quote":
        request = route.requests[0]
        if not request.status.open:
            await message.answer(
                _("Request No. {number} is already finished, so this message did not go to the specialists. If "
                  "you still need help, please send a new request.").format(number=request.public_id),
                reply_markup=keyboard([[button(_("📝 Ask for help"), "ask")], nav_row()]))
            return
        await add_to(message, services, message.from_user.id, request, text, files, update_id, "quote",
                     urgent=bool(danger))
        return
    if len(route.requests) == 1:
        await add_to(message, services, message.from_user.id, route.requests[0], text, files, update_id, "awaiting",
                     urgent=bool(danger))
        return
    await ask_which(message, state, services, route.requests, text, files, update_id, danger)


async def add_to(message: Message, services: Services, resident_id: int, request: Request, text: str,
                 files: list[Attachment], update_id: int, how: str, *, urgent: bool = False) -> None:
    """Store the message as a follow-up of `request` and say so; `how` is quote, awaiting (guessed: the words can
    be taken back) or chosen (the resident picked the request). `urgent` (words of danger) passes the daily cap."""
    guessed = None
    try:
        if how in ("quote", "awaiting") and text:
            guessed = await services.requests.guessed_message(resident_id, request.id, text, files,
                                                              update_id=update_id, how=how, urgent=urgent)
        else:
            await services.requests.resident_message(resident_id, request.id, text, files, update_id=update_id,
                                                     urgent=urgent)
    except RequestError as exc:
        if exc.reason == "cap":
            await message.answer(cap_text(services, None, "follow_ups"))
        elif exc.reason != "duplicate":  # the same update handled again (a restart): it was answered the first time
            await message.answer(_("This request is finished or was not found. Please send a new request."))
        return
    services.wake_outbox()
    lines = ["📨 " + _("Added to request No. {number}: the specialist will see it.").format(number=request.public_id)]
    if how == "awaiting":
        lines.append("<i>" + _("The specialist is waiting for your answer on it.") + "</i>")
    markup = None
    if guessed is not None:
        markup = keyboard([[InlineKeyboardButton(
            text=_("🔎 Was it a search?"),
            callback_data=Fu(action="undo", eid=guessed.event_id, tok=guessed.token).pack())]])
    sent = await message.answer("\n".join(lines), reply_markup=markup)
    await services.requests.remember_messages(sent.chat.id, [sent.message_id], request.id)


async def ask_which(message: Message, state: FSMContext, services: Services, requests: list[Request], text: str,
                    files: list[Attachment], update_id: int, danger: Iterable[str]) -> None:
    """Several requests wait for the resident's answer: keep the message in the state and ask where it goes."""
    token = secrets.token_hex(4)
    offered = requests[:CHOICES]
    await state.set_state(Routing.choosing)
    await state.update_data(pending={
        "text": text, "files": [a.__dict__ for a in files], "update_id": update_id, "token": token,
        "ids": [r.id for r in offered], "danger": list(danger)})
    rows = [[InlineKeyboardButton(text=shorten(f"№ {r.public_id} · {topic_of(services.catalogue, r)}", 60),
                                  callback_data=Fu(action="to", rid=r.id, tok=token).pack())] for r in offered]
    if text:
        rows.append([InlineKeyboardButton(text=_("🔎 It is a search"),
                                          callback_data=Fu(action="search", tok=token).pack())])
    await message.answer(_("Several of your requests are waiting for your answer. Which one is this message for?"),
                         reply_markup=keyboard(rows))


@router.callback_query(Routing.choosing, Fu.filter(F.action.in_({"to", "search"})))
async def picked(query: CallbackQuery, callback_data: Fu, state: FSMContext, services: Services,
                 resident: Optional[Resident]) -> None:
    pending = (await state.get_data()).get("pending") or {}
    token = str(pending.get("token") or "")
    if (not token or not secrets.compare_digest(token, callback_data.tok)
            or (callback_data.action == "to" and callback_data.rid not in pending.get("ids", []))):
        await query.answer(_("This button is out of date. Please open the menu again: /menu"), show_alert=True)
        return
    await state.set_state(None)
    await state.update_data(pending=None)
    await query.answer()
    try:
        await query.message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest:
        pass  # the choice is made either way
    text = pending.get("text") or ""
    if callback_data.action == "search":
        community = community_of(services, resident)
        if community is None:
            await ask_community(query.message)
            return
        await answer_query(query.message, state, services, community, text, pending.get("danger") or ())
        return
    try:
        request = await services.requests.owned(query.from_user.id, callback_data.rid)
    except RequestError:
        await query.message.answer(_("This request is finished or was not found. Please send a new request."))
        return
    files = [Attachment(**a) for a in pending.get("files") or []]
    await add_to(query.message, services, query.from_user.id, request, text, files,
                 int(pending.get("update_id") or 0), "chosen", urgent=bool(pending.get("danger")))


@router.callback_query(Fu.filter(F.action == "undo"))
async def it_was_a_search(query: CallbackQuery, callback_data: Fu, state: FSMContext, services: Services,
                          resident: Optional[Resident]) -> None:
    """«🔎 Was it a search?»: take the message back from the request, then search for its words."""
    try:
        request, text = await services.requests.withdraw_guessed(query.from_user.id, callback_data.eid,
                                                                 callback_data.tok)
    except RequestError as exc:
        if exc.reason == "done":
            await query.answer(_("Already done: this message was taken back from the request."), show_alert=True)
        else:
            await query.answer(_("This button is out of date. Please open the menu again: /menu"), show_alert=True)
        return
    services.wake_outbox()
    await query.answer()
    try:
        await query.message.edit_text(
            "↩️ " + _("Taken back from request No. {number}. Searching for your words instead:").format(
                number=h(request.public_id)), reply_markup=None)
    except TelegramBadRequest:
        pass  # the search below says it anyway
    community = community_of(services, resident)
    if community is None:
        await ask_community(query.message)
        return
    # the emergency screen, if the words called for it, was shown when they came: it came first then
    await answer_query(query.message, state, services, community, text, services.triage.assess(text).danger)
