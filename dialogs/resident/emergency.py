"""Emergency help: always one tap away."""
from __future__ import annotations

from typing import Optional

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import BTN_EMERGENCY, MenuButton, Nav, Routes, button, keyboard, nav_row
from dialogs.resident import render
from dialogs.resident.browse import community_of

router = Routes("resident.emergency")


def emergency_keyboard(community):
    rows = [[button("➡️ " + render.service_title(s), "svc", s.id)] for s in render.emergency_services(community)[:6]]
    rows.append(nav_row())
    return keyboard(rows)


async def send_emergency(message: Message, services: Services, resident: Optional[Resident], kinds=(),
                         lines=()) -> None:
    community = community_of(services, resident)
    text = render.emergency_text(services.catalogue, community, kinds, lines)
    markup = emergency_keyboard(community) if community else None
    await message.answer(text, reply_markup=markup)


@router.message(Command("sos", "emergency"), StateFilter("*"))
@router.message(MenuButton(BTN_EMERGENCY), StateFilter("*"))
async def emergency(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    await state.clear()
    await send_emergency(message, services, resident)


@router.callback_query(Nav.filter(F.screen == "emg"))
async def emergency_button(query: CallbackQuery, services: Services, resident: Optional[Resident]) -> None:
    await query.answer()
    await send_emergency(query.message, services, resident)
