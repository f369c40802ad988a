"""Asking for help and reporting someone in need: where the request form starts (the menu, a service card), the
consent asked once before it, and where a resident goes once they agree (`hand_over`).

The form itself: dialogs/resident/form.py (its steps as data) and form_answers.py (the answers, the summary,
sending); «Мої звернення»: my_requests.py.
"""
from __future__ import annotations

from typing import Optional

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.requests.models import Draft
from bot.services import CONSENT_VERSION, Services
from bot.storage.residents import Resident
from dialogs.common import BTN_ASK, BTN_REPORT, MenuButton, Nav, Routes, main_menu
from dialogs.resident import consult
from dialogs.resident.browse import ask_community, community_of
from dialogs.resident.caps import cap_text
from dialogs.resident.consent import After, ask_consent
from dialogs.resident.form import Ask, AskCb, draft_of, lost, next_step, save
from dialogs.resident.inputs import read_input  # noqa: F401  (dialogs/staff reads the staff's answers with it)

router = Routes("resident.requests")


@router.message(MenuButton(BTN_ASK), StateFilter("*"))
async def ask_from_menu(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    await begin(message, message.from_user.id, state, services, resident, kind="help")


@router.message(MenuButton(BTN_REPORT), StateFilter("*"))
async def report_from_menu(message: Message, state: FSMContext, services: Services,
                           resident: Optional[Resident]) -> None:
    await begin(message, message.from_user.id, state, services, resident, kind="report")


@router.callback_query(Nav.filter(F.screen == "ask"))
async def ask_from_card(query: CallbackQuery, callback_data: Nav, state: FSMContext, services: Services,
                        resident: Optional[Resident]) -> None:
    await query.answer()
    await begin(query.message, query.from_user.id, state, services, resident, kind="help",
                service_id=callback_data.item or None)


async def begin(message: Message, user_id: int, state: FSMContext, services: Services, resident: Optional[Resident],
                *, kind: str, service_id: Optional[str] = None) -> None:
    community = community_of(services, resident)
    if community is None:
        await ask_community(message)
        return
    if service_id and service_id not in community.services:
        service_id = None
    await state.clear()
    what = "reports" if kind == "report" else "requests"
    if await services.requests.cap_reached(user_id, what):
        await message.answer(cap_text(services, community, what), reply_markup=main_menu())
        return
    draft = Draft(community=community.slug, resident_id=user_id, kind=kind, service_id=service_id)
    await save(state, draft)
    if not await services.residents.has_consent(user_id, CONSENT_VERSION):
        await ask_consent(message, state, services, After())
        return
    await next_step(message, state, services, draft)


@router.callback_query(Ask.consent, AskCb.filter(F.step == "consent"))
async def consent(query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services) -> None:
    await query.answer()
    if callback_data.value != "yes":
        await state.clear()
        await query.message.edit_text(_("All right, nothing was saved. You can still look for services and call "
                                        "the numbers in 🆘 Emergency help."))
        return
    await services.residents.give_consent(query.from_user.id, CONSENT_VERSION)
    await hand_over(query.message, state, services, After.of(await state.get_data()))


async def hand_over(message: Message, state: FSMContext, services: Services, after: After) -> None:
    """Once the resident agreed: to the consultation topic they chose, or on with the request form."""
    if after.topic is not None:
        await message.edit_text(_("Thank you."))
        await state.clear()
        await consult.offer(message, state, services, after.topic)
        return
    await message.edit_text(_("Thank you. Let us fill in the request, it takes a minute."))
    draft = await draft_of(state)
    if draft is None:
        await lost(message, state)
        return
    await next_step(message, state, services, draft)
